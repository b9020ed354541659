/**
 * An HTTP proxy on 127.0.0.1 in front of the fake Cloudflare API that holds DNS writes in flight,
 * so a test can kill the agent while one is on the wire. A write (POST/PATCH/PUT/DELETE under
 * `/dns_records`, the batch endpoint included) is either held before it is forwarded (it reaches
 * Cloudflare late, possibly after the agent died: the packets had left) or forwarded at once with
 * its answer held back (Cloudflare applied it; the agent never learns). A forwarded write always
 * completes at Cloudflare, whatever happened to the agent. Reads pass straight through.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type WriteHold =
  | { kind: 'none' }
  /** Hold the request this long, then forward it. */
  | { kind: 'before'; ms: number }
  /** Forward it at once, then hold the answer this long. */
  | { kind: 'after'; ms: number };

export interface WriteDelayProxy {
  /** The proxy's base for `cloudflare_api_url`, e.g. http://127.0.0.1:PORT/client/v4. */
  readonly apiUrl: string;
  /** What each write gets; called once per write. */
  hold: () => WriteHold;
  /** Writes received and not yet answered (or, for a dead client, not yet completed at Cloudflare). */
  readonly inFlight: number;
  /** Writes received so far. */
  readonly writes: number;
  /** Called when a write arrives (before it is held), with its request. */
  onWrite: ((w: ProxiedWrite) => void) | null;
  /** Resolves once no write is in flight. */
  idle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface ProxiedWrite {
  method: string;
  /** Path and query. */
  url: string;
  /** The request body as text. */
  body: string;
  hold: WriteHold;
}

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

export async function startWriteDelayProxy(upstreamApiUrl: string): Promise<WriteDelayProxy> {
  const upstream = new URL(upstreamApiUrl);
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let inFlight = 0;
  let writes = 0;
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const proxy: WriteDelayProxy = {
    apiUrl: '',
    hold: () => ({ kind: 'none' }),
    get inFlight() {
      return inFlight;
    },
    get writes() {
      return writes;
    },
    onWrite: null,
    async idle(timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      while (inFlight > 0) {
        if (Date.now() > end) throw new Error(`write proxy: ${inFlight} write(s) still in flight`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    close: async () => {},
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => {});
    res.on('error', () => {});
    req.on('end', () => {
      const method = (req.method ?? 'GET').toUpperCase();
      const isWrite = WRITE_METHODS.has(method) && (req.url ?? '').includes('/dns_records');
      const hold: WriteHold = isWrite ? proxy.hold() : { kind: 'none' };
      const body = Buffer.concat(chunks);
      if (isWrite) {
        writes++;
        inFlight++;
        proxy.onWrite?.({ method, url: req.url ?? '', body: body.toString('utf8'), hold });
      }
      const forward = async (): Promise<void> => {
        if (hold.kind === 'before') await wait(hold.ms);
        const answer = await new Promise<{ status: number; headers: Record<string, string>; body: Buffer }>(
          (resolve) => {
            const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
            const up = request(
              { host: upstream.hostname, port: upstream.port, method, path: req.url, headers },
              (r) => {
                const parts: Buffer[] = [];
                r.on('data', (c: Buffer) => parts.push(c));
                r.on('end', () => {
                  const h: Record<string, string> = {};
                  for (const [k, v] of Object.entries(r.headers)) if (typeof v === 'string') h[k] = v;
                  resolve({ status: r.statusCode ?? 502, headers: h, body: Buffer.concat(parts) });
                });
                r.on('error', () => resolve({ status: 502, headers: {}, body: Buffer.alloc(0) }));
              },
            );
            up.on('error', () => resolve({ status: 502, headers: {}, body: Buffer.alloc(0) }));
            up.end(body);
          },
        );
        if (hold.kind === 'after') await wait(hold.ms);
        if (!res.destroyed) {
          delete answer.headers['transfer-encoding'];
          delete answer.headers.connection;
          res.writeHead(answer.status, { ...answer.headers, 'content-length': String(answer.body.length) });
          res.end(answer.body);
        }
      };
      void forward().finally(() => {
        if (isWrite) inFlight--;
      });
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  Object.assign(proxy, {
    apiUrl: `http://127.0.0.1:${port}${upstream.pathname}`,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
  return proxy;
}
