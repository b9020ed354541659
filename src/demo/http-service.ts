/**
 * The demo world's HTTP services (the IP echo services, Cloudflare): a small server on 127.0.0.1
 * that answers through a handler, and that "the internet" can take away — while `reachable` is
 * false every connection is reset at once, as when the WAN is gone. Also `freePort`, for the
 * agent's listeners (the embedded broker, the status page). Never: any packet beyond loopback.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';

export const LOOPBACK = '127.0.0.1';

export interface Reply {
  status: number;
  body: string;
  contentType: string;
}

export type Handler = (req: {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: string;
}) => Reply;

export interface HttpService {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly origin: string;
  /** false: the WAN is down, every connection is reset. */
  reachable: boolean;
  /** Called for each connection reset because the service was not reachable. */
  onRefused: (() => void) | null;
  close(): Promise<void>;
}

/** The largest request body a demo service reads (the agent's batches are a few hundred bytes). */
const MAX_BODY_BYTES = 64 * 1024;

export function json(status: number, value: unknown): Reply {
  return { status, body: JSON.stringify(value), contentType: 'application/json' };
}

export function text(body: string, status = 200): Reply {
  return { status, body, contentType: 'text/plain' };
}

export async function startHttpService(handler: Handler): Promise<HttpService> {
  const sockets = new Set<Socket>();
  const state = { reachable: true, onRefused: null as (() => void) | null };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      let reply: Reply;
      try {
        const url = new URL(req.url ?? '/', `http://${LOOPBACK}`);
        const body = Buffer.concat(chunks).toString('utf8');
        reply = handler({ method: req.method ?? 'GET', url, headers: req.headers, body });
      } catch (err) {
        reply = text(`demo service error: ${err instanceof Error ? err.message : String(err)}`, 500);
      }
      if (res.destroyed) return;
      res.writeHead(reply.status, {
        'content-type': reply.contentType,
        'content-length': String(Buffer.byteLength(reply.body)),
      });
      res.end(reply.body);
    });
  });
  server.on('connection', (socket: Socket) => {
    socket.on('error', () => {});
    if (!state.reachable) {
      socket.resetAndDestroy();
      state.onRefused?.();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${LOOPBACK}:${port}`,
    get reachable() {
      return state.reachable;
    },
    set reachable(value: boolean) {
      state.reachable = value;
      // Kept-alive connections from before die too: nothing gets through a WAN that is down.
      if (!value) for (const s of sockets) s.resetAndDestroy();
    },
    get onRefused() {
      return state.onRefused;
    },
    set onRefused(listener: (() => void) | null) {
      state.onRefused = listener;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now: `preferred` when it is free, else
 * one the system picks. (Someone may take it before the agent binds it; the agent then says so.)
 */
export async function freePort(preferred?: number): Promise<number> {
  const tryPort = (port: number): Promise<number | null> =>
    new Promise((resolve) => {
      const probe = createTcpServer();
      probe.once('error', () => resolve(null));
      probe.listen(port, LOOPBACK, () => {
        const got = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(got));
      });
    });
  if (preferred !== undefined) {
    const got = await tryPort(preferred);
    if (got !== null) return got;
  }
  const got = await tryPort(0);
  if (got === null) throw new Error('no free TCP port on 127.0.0.1');
  return got;
}
