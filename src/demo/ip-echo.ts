/**
 * The demo world's IP echo services: three servers on 127.0.0.1 that tell the agent the home's
 * public address, one in each format the agent reads — Cloudflare's trace (`ip=` line, `h=` the
 * URL's host), JSON (`{"ip": …}`, as api.ipify.org in JSON) and the bare address (as
 * icanhazip.com). All three say what the world's ISP has handed out now.
 */
import { type HttpService, json, LOOPBACK, startHttpService, text } from './http-service.js';

export interface IpEcho {
  /** The source URLs (ip_sources). */
  readonly urls: string[];
  readonly services: HttpService[];
  close(): Promise<void>;
}

/** A Cloudflare trace body for `ip`, answered as host `h`. */
export function traceBody(ip: string, h: string): string {
  const fields = {
    fl: '1f1',
    h,
    ip,
    ts: '1767225600.000',
    visit_scheme: 'http',
    uag: 'ddns-watchdog',
    colo: 'AMS',
    http: 'http/1.1',
    loc: 'NL',
    tls: 'off',
    sni: 'off',
    warp: 'off',
    gateway: 'off',
  };
  return `${Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

/** Starts the three services; `currentIp` is asked at each request. */
export async function startIpEcho(currentIp: () => string): Promise<IpEcho> {
  const trace = await startHttpService(({ url }) =>
    url.pathname === '/cdn-cgi/trace' ? text(traceBody(currentIp(), LOOPBACK)) : text('not found', 404),
  );
  const jsonEcho = await startHttpService(({ url }) =>
    url.pathname === '/' ? json(200, { ip: currentIp() }) : text('not found', 404),
  );
  const plain = await startHttpService(({ url }) =>
    url.pathname === '/' ? text(`${currentIp()}\n`) : text('not found', 404),
  );
  const services = [trace, jsonEcho, plain];
  return {
    urls: [`${trace.origin}/cdn-cgi/trace`, `${jsonEcho.origin}/`, `${plain.origin}/`],
    services,
    close: async () => {
      await Promise.all(services.map((s) => s.close()));
    },
  };
}
