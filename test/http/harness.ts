/**
 * A real HTTP server on 127.0.0.1 port 0 with everything injected (no agent behind it), and a
 * real HTTP client (undici) to talk to it.
 */
import { request } from 'undici';
import { createMetrics } from '../../src/http/metrics.js';
import { type HttpServerHandle, type HttpServerOptions, startHttpServer } from '../../src/http/server.js';
import { freshState } from '../../src/state/schema.js';
import { buildStatus, type StatusDocument } from '../../src/status.js';
import { ManualClock } from '../fakes/clock.js';
import { logSink } from '../helpers/log-sink.js';

export const START = Date.parse('2026-03-01T12:00:00Z');

/** A §6 document with one record, a verified IP and the WAN down (health has nothing to do with /healthz). */
export function sampleState(): StatusDocument {
  const state = freshState();
  state.public_ip = {
    ipv4: '203.0.113.7',
    ipv6: null,
    verified: true,
    sources_agreeing: ['http://127.0.0.1:1/trace', 'http://127.0.0.1:2/ip'],
    checked_at: START,
    error: null,
  };
  return buildStatus({
    state,
    mode: 'enforce',
    version: '9.9.9-test',
    startedAt: START - 3_600_000,
    ipVersion: 'ipv4',
    runtime: {
      health: 'wan_down',
      uptime: { availability_24h: 99.5, availability_7d: 98, availability_30d: null },
    },
  });
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => unknown;
}

export async function call(
  url: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const res = await request(`${url}${path}`, {
    method: (init.method ?? 'GET') as 'GET',
    headers: init.headers ?? {},
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers as Answer['headers'],
    text,
    json: () => JSON.parse(text),
  };
}

export type TestServer = Awaited<ReturnType<typeof startTestServer>>;

export async function startTestServer(overrides: Partial<HttpServerOptions> = {}) {
  const clock = new ManualClock(START);
  const sink = logSink();
  const metrics = createMetrics({ processMetrics: false, version: '9.9.9-test' });
  let doc = sampleState();
  const server: HttpServerHandle = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    addon: false,
    logger: sink.logger,
    clock,
    probes: { health: () => ({ ok: true }) },
    state: () => doc,
    metrics,
    ...overrides,
  });
  return {
    server,
    url: server.url,
    clock,
    sink,
    metrics,
    setState: (next: StatusDocument) => {
      doc = next;
    },
    get: (path: string, headers: Record<string, string> = {}) => call(server.url, path, { headers }),
    post: (path: string, body: string, headers: Record<string, string> = {}) =>
      call(server.url, path, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...headers },
      }),
    close: () => server.close(),
  };
}
