/**
 * A WAN target on 127.0.0.1 whose behaviour a test switches while its address stays the same:
 * `up` completes a TLS handshake with a certificate from the test CA, `down` resets each
 * connection (the internet is gone), `hang` accepts and never answers (the probe's deadline
 * ends it), `intercept` answers with a self-signed certificate (a captive portal or an ISP page).
 */
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { KeyPair, TestPki } from './tls-server.js';

export type WanMode = 'up' | 'down' | 'hang' | 'intercept';

export interface WanTarget {
  /** `127.0.0.1:<port>`, as `wan_targets` writes it. */
  readonly target: string;
  mode: WanMode;
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

function tlsServer(pair: KeyPair): TlsServer {
  const server = createTlsServer({ cert: pair.cert, key: pair.key });
  server.on('tlsClientError', () => {});
  server.on('secureConnection', (s) => s.on('error', () => {}));
  return server;
}

export async function startWanTarget(pki: TestPki, mode: WanMode = 'up'): Promise<WanTarget> {
  const good = tlsServer(pki.good);
  const portal = tlsServer(pki.selfSigned);
  const sockets = new Set<Socket>();
  let accepted = 0;
  const state = { mode };
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    switch (state.mode) {
      case 'up':
        good.emit('connection', socket);
        break;
      case 'intercept':
        portal.emit('connection', socket);
        break;
      case 'down':
        socket.resetAndDestroy();
        break;
      case 'hang':
        socket.resume();
        break;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    target: `127.0.0.1:${port}`,
    get mode() {
      return state.mode;
    },
    set mode(m: WanMode) {
      state.mode = m;
    },
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
