/**
 * The demo world's WAN targets: TLS servers on 127.0.0.1 (certificate from the demo CA, src/demo/
 * certs.ts) standing in for 1.1.1.1:443 and friends. While the WAN is up each completes the TCP +
 * TLS handshake the agent's probe does; while it is down each accepts and never answers, so the
 * probe ends at its deadline — what a lost line looks like from behind a router.
 */
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { DEMO_SERVER_CERT, DEMO_SERVER_KEY } from './certs.js';
import { LOOPBACK } from './http-service.js';

export interface DemoWan {
  /** `127.0.0.1:<port>` each, as `wan_targets` writes them. */
  readonly targets: string[];
  /** false: every target is silent. */
  up: boolean;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

export async function startDemoWan(count: number): Promise<DemoWan> {
  const state = { up: true };
  const sockets = new Set<Socket>();
  const tls = createTlsServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY });
  tls.on('tlsClientError', () => {});
  tls.on('secureConnection', (s) => s.on('error', () => {}));
  const servers = Array.from({ length: count }, () =>
    createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      if (state.up) tls.emit('connection', socket);
      else socket.resume(); // read and drop: no answer, ever
    }),
  );
  const ports = await Promise.all(servers.map(listen));
  return {
    targets: ports.map((p) => `${LOOPBACK}:${p}`),
    get up() {
      return state.up;
    },
    set up(value: boolean) {
      state.up = value;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
