/**
 * Small HTTP servers on loopback (port 0) that play IP echo / trace services: a fixed body, or a
 * function of the request with a status, a delay, or no answer at all. They count requests and
 * sockets, so tests can see that a cancelled request really closed its connection.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface EchoReply {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  /** Answer after this many milliseconds. */
  delayMs?: number;
  /** Never answer (the socket stays open until the client gives up or the server closes). */
  hang?: boolean;
}

export type EchoHandler = string | ((req: IncomingMessage) => EchoReply | string);

export interface EchoServer {
  /** Base URL with a trailing slash, e.g. `http://127.0.0.1:41234/`. */
  url: string;
  host: string;
  port: number;
  /** Requests received so far. */
  readonly hits: number;
  /** Forgets the logged requests (hits keeps counting). */
  clearLog(): void;
  /** Request paths and headers, in order. */
  readonly requests: ReadonlyArray<{ url: string; headers: IncomingMessage['headers']; body: string }>;
  /** Sockets accepted so far / currently open. */
  readonly connections: number;
  readonly openSockets: number;
  /** Resolves once no socket is open (or after `timeoutMs`, with false). */
  waitForSocketsClosed(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

/** A Cloudflare-style trace body (`key=value` lines) for `ip`, answered as host `h`. */
export function traceBody(ip: string, h: string, extra: Record<string, string> = {}): string {
  const fields: Record<string, string> = {
    fl: '1f1',
    h,
    ip,
    ts: '1767225600.000',
    visit_scheme: 'https',
    uag: 'ddns-watchdog',
    colo: 'AMS',
    http: 'http/1.1',
    loc: 'NL',
    tls: 'TLSv1.3',
    sni: 'plaintext',
    warp: 'off',
    gateway: 'off',
    kex: 'X25519',
    ...extra,
  };
  return `${Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

/** Whether this machine can listen on [::1]. */
export async function ipv6LoopbackAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

export async function startEchoServer(
  handler: EchoHandler,
  options: { host?: '127.0.0.1' | '::1' } = {},
): Promise<EchoServer> {
  const host = options.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let requests: Array<{ url: string; headers: IncomingMessage['headers']; body: string }> = [];
  let cleared = 0;
  let connections = 0;

  const respond = (res: ServerResponse, reply: EchoReply) => {
    if (res.destroyed) return;
    res.writeHead(reply.status ?? 200, { 'content-type': 'text/plain', ...reply.headers });
    res.end(reply.body ?? '');
  };

  const server = createServer((req, res) => {
    const entry = { url: req.url ?? '/', headers: req.headers, body: '' };
    requests.push(entry);
    req.on('data', (chunk: Buffer) => {
      entry.body += chunk.toString();
    });
    const raw = typeof handler === 'string' ? handler : handler(req);
    const reply: EchoReply = typeof raw === 'string' ? { body: raw } : raw;
    if (reply.hang) return;
    if (reply.delayMs && reply.delayMs > 0) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        respond(res, reply);
      }, reply.delayMs);
      timers.add(timer);
      return;
    }
    respond(res, reply);
  });
  server.on('connection', (socket) => {
    connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = host.includes(':') ? `http://[${host}]:${port}/` : `http://${host}:${port}/`;

  return {
    url,
    host,
    port,
    get hits() {
      return cleared + requests.length;
    },
    clearLog() {
      cleared += requests.length;
      requests = [];
    },
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    get openSockets() {
      return sockets.size;
    },
    async waitForSocketsClosed(timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      while (sockets.size > 0) {
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 5));
      }
      return true;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
