/**
 * An HTTP stand-in in front of a test plug (test/fakes/http-plug.ts) that answers late or never:
 * each request is held `delayMs` (real time) and then passed on, or held until close() in `hang`
 * mode — a plug on a weak Wi-Fi link, or one that accepts the connection and then says nothing.
 */
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SlowPlug {
  url: string;
  mode: 'slow' | 'hang' | 'pass';
  delayMs: number;
  /** Requests that reached the stand-in (path and query). */
  seen: string[];
  /** Requests held right now (hung or delayed), not yet answered or given up by the client. */
  readonly inFlight: number;
  close(): Promise<void>;
}

export async function startSlowPlug(target: string, delayMs: number): Promise<SlowPlug> {
  const sockets = new Set<Socket>();
  const held = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  const open = new Set<ServerResponse>();
  const slow: SlowPlug = {
    url: '',
    mode: 'slow',
    delayMs,
    seen: [],
    get inFlight() {
      return open.size;
    },
    close: async () => undefined,
  };
  const forward = (path: string, res: ServerResponse) => {
    const up = request(`${target}${path}`, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    up.end();
  };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    slow.seen.push(path);
    open.add(res);
    res.on('close', () => open.delete(res));
    if (slow.mode === 'hang') {
      held.add(res);
      return;
    }
    if (slow.mode === 'pass') return forward(path, res);
    const timer = setTimeout(() => {
      timers.delete(timer);
      forward(path, res);
    }, slow.delayMs);
    timers.add(timer);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  slow.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  slow.close = () => {
    for (const t of timers) clearTimeout(t);
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return slow;
}
