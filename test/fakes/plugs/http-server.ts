/**
 * The HTTP side shared by the fake plugs: a server on 127.0.0.1 (port 0) that records each request
 * and hands it to the fake's handler — or, with `hang` set, holds it open and never answers (a plug
 * that hung, for the driver's deadline).
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  /** Path and query exactly as requested (the digest `uri`). */
  target: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HttpFake {
  /** http://127.0.0.1:PORT */
  url: string;
  requests: FakeRequest[];
  /** When true, new requests are held open and never answered. */
  hang: boolean;
  close(): Promise<void>;
}

export type Handler = (req: FakeRequest, res: ServerResponse) => void | Promise<void>;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export async function startHttpFake(handle: Handler): Promise<HttpFake> {
  const sockets = new Set<Socket>();
  const fake: HttpFake = { url: '', requests: [], hang: false, close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = req.url ?? '/';
      const parsed = new URL(target, 'http://fake');
      const r: FakeRequest = {
        method: req.method ?? 'GET',
        path: parsed.pathname,
        query: parsed.searchParams,
        target,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      fake.requests.push(r);
      if (fake.hang) return;
      Promise.resolve(handle(r, res)).catch((err: unknown) => sendJson(res, 500, { error: String(err) }));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return fake;
}

/** The user and password of a Basic Authorization header, or undefined. */
export function basicCredentials(
  header: string | string[] | undefined,
): { user: string; password: string } | undefined {
  if (typeof header !== 'string' || !header.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const cut = decoded.indexOf(':');
  if (cut < 0) return undefined;
  return { user: decoded.slice(0, cut), password: decoded.slice(cut + 1) };
}
