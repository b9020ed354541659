/**
 * A tiny reverse proxy on 127.0.0.1 that plays Home Assistant's Ingress: the browser asks for
 * `/api/hassio_ingress/<token>/…`, the proxy strips that prefix and forwards the rest to the
 * agent, streaming both ways (so SSE passes through), with the headers the Supervisor sets
 * (`X-Ingress-Path`, `X-Forwarded-Host`, `X-Forwarded-For`) and the upstream's own `Host`.
 * Anything outside the prefix is a 404 from the proxy, so a URL that escapes the prefix shows up
 * as a failed request.
 */
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface IngressProxy {
  /** The page's URL through the proxy, ending in `/`. */
  url: string;
  prefix: string;
  /** Paths the browser asked for, as it sent them. */
  readonly seen: readonly string[];
  /** Requests that did not start with the prefix. */
  readonly outside: readonly string[];
  /** Cuts every open live stream, as a restarting agent or a dropped Wi-Fi would. */
  cutStreams(): void;
  close(): Promise<void>;
}

export async function startIngressProxy(
  upstream: string,
  options: { token?: string; preserveHost?: boolean } = {},
): Promise<IngressProxy> {
  const token = options.token ?? 'abc';
  const prefix = `/api/hassio_ingress/${token}`;
  const target = new URL(upstream);
  const seen: string[] = [];
  const outside: string[] = [];
  const streams = new Set<IncomingMessage>();
  const server: Server = createServer((req: IncomingMessage, res) => {
    const path = req.url ?? '/';
    seen.push(path);
    if (path !== prefix && !path.startsWith(`${prefix}/`)) {
      outside.push(path);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not under the ingress prefix');
      return;
    }
    const headers = { ...req.headers };
    // Ingress sends the upstream's Host; a reverse proxy in front of a token-protected agent keeps the browser's.
    if (!options.preserveHost) headers.host = target.host;
    headers['x-ingress-path'] = prefix;
    headers['x-forwarded-host'] = req.headers.host ?? '';
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
    const out = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: path.slice(prefix.length) || '/',
        headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        res.on('close', () => up.destroy());
      },
    );
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    if (path.endsWith('/events')) {
      // (A request's own 'close' fires once its body is read; the response's when the stream ends.)
      streams.add(req);
      res.on('close', () => streams.delete(req));
    }
    req.pipe(out);
    res.on('close', () => out.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${prefix}/`,
    prefix,
    seen,
    outside,
    cutStreams: () => {
      for (const r of streams) r.socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
