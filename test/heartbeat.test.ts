import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../src/events.js';
import { Heartbeat, heartbeatUrl } from '../src/notify/heartbeat.js';
import { Webhook } from '../src/notify/webhook.js';
import { logSink } from './helpers/log-sink.js';

describe('heartbeatUrl', () => {
  const hc = 'http://127.0.0.1:9/ping/0b5e7a3c';
  const kuma = 'http://127.0.0.1:9/api/push/AbCd?status=up&msg=OK&ping=';
  it.each([
    ['healthchecks/success', hc, 'success', 0, 'http://127.0.0.1:9/ping/0b5e7a3c'],
    ['healthchecks/fail', hc, 'fail', 0, 'http://127.0.0.1:9/ping/0b5e7a3c/fail'],
    ['healthchecks/start', hc, 'start', 0, 'http://127.0.0.1:9/ping/0b5e7a3c/start'],
    ['healthchecks/exit-0', hc, 'exit', 0, 'http://127.0.0.1:9/ping/0b5e7a3c/0'],
    ['healthchecks/exit-2', hc, 'exit', 2, 'http://127.0.0.1:9/ping/0b5e7a3c/2'],
    ['kuma/success', kuma, 'success', 0, 'http://127.0.0.1:9/api/push/AbCd?status=up&msg=OK&ping='],
    ['kuma/fail', kuma, 'fail', 0, 'http://127.0.0.1:9/api/push/AbCd?status=down&msg=failed&ping='],
    ['kuma/start-unsupported', kuma, 'start', 0, null],
    ['kuma/clean-exit-is-not-an-outage', kuma, 'exit', 0, null],
  ] as const)('%s', (_n, base, kind, code, expected) => {
    expect(heartbeatUrl(base, kind, code)).toBe(expected);
  });
});

interface Hit {
  method: string;
  url: string;
  body: string;
}

async function server(status = 200) {
  const hits: Hit[] = [];
  let current = status;
  const srv = createServer(async (req: IncomingMessage, res) => {
    let body = '';
    for await (const c of req) body += c;
    hits.push({ method: req.method ?? '', url: req.url ?? '', body });
    res.statusCode = current;
    res.end('ok');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    hits,
    /** The status of the answers from now on. */
    answer: (code: number) => {
      current = code;
    },
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe('Heartbeat against a loopback server', () => {
  it('pings success and fail paths; a dead endpoint is logged once and never throws', async () => {
    const s = await server();
    closers.push(s.close);
    const sink = logSink();
    const hb = new Heartbeat({ url: `${s.url}/ping/abc`, timeoutMs: 1000, logger: sink.logger });
    expect(await hb.ping('success')).toBe(true);
    expect(await hb.ping('fail', { message: 'x' })).toBe(true);
    expect(s.hits.map((h) => h.url)).toEqual(['/ping/abc', '/ping/abc/fail']);

    const dead = new Heartbeat({ url: 'http://127.0.0.1:1/ping/abc', timeoutMs: 500, logger: sink.logger });
    expect(await dead.ping('success')).toBe(false);
    expect(await dead.ping('success')).toBe(false);
    expect(sink.lines().filter((l) => l.level === 'warn')).toHaveLength(1);
  });
});

/** The warn and info lines of `sink`, in order, as `level: message`. */
function outageLines(sink: ReturnType<typeof logSink>): string[] {
  return sink
    .lines()
    .filter((l) => l.level === 'warn' || l.level === 'info')
    .map((l) => `${String(l.level)}: ${String(l.msg).replace(/\(.*\)/, '(…)')}`);
}

describe('Heartbeat outages', () => {
  it('outage/warned once, its end said once, and the next outage warned again', async () => {
    const s = await server();
    closers.push(s.close);
    const sink = logSink();
    const hb = new Heartbeat({ url: `${s.url}/ping/abc`, timeoutMs: 1000, logger: sink.logger });
    expect(await hb.ping('success')).toBe(true);
    s.answer(503);
    expect(await hb.ping('success')).toBe(false);
    expect(await hb.ping('fail')).toBe(false);
    s.answer(200);
    expect(await hb.ping('success')).toBe(true);
    expect(await hb.ping('success')).toBe(true);
    s.answer(500);
    expect(await hb.ping('success')).toBe(false);
    expect(outageLines(sink)).toEqual([
      'warn: The heartbeat ping failed (…); the agent keeps working. Check heartbeat_url.',
      'info: Heartbeat pings are getting through again.',
      'warn: The heartbeat ping failed (…); the agent keeps working. Check heartbeat_url.',
    ]);
    expect(s.hits).toHaveLength(6);
  });
});

describe('Webhook', () => {
  it('POSTs every event as JSON, in order', async () => {
    const s = await server();
    closers.push(s.close);
    const sink = logSink();
    const bus = new EventBus({ now: () => Date.parse('2026-01-01T00:00:00Z') });
    const hook = new Webhook({ url: `${s.url}/hook`, timeoutMs: 1000, logger: sink.logger });
    bus.on('webhook', (e) => hook.send(e));
    bus.emit('ip_changed', { family: 'ipv4', old: null, new: '81.2.69.1', sources: ['a', 'b'] });
    bus.emit('dns_updated', {
      record: 'a.example.com',
      record_type: 'A',
      old: null,
      new: '81.2.69.1',
      action: 'create',
    });
    await hook.flush();
    expect(s.hits.map((h) => JSON.parse(h.body).type)).toEqual(['ip_changed', 'dns_updated']);
    expect(JSON.parse(s.hits[0]!.body)).toEqual({
      type: 'ip_changed',
      at: '2026-01-01T00:00:00.000Z',
      family: 'ipv4',
      old: null,
      new: '81.2.69.1',
      sources: ['a', 'b'],
    });
  });

  it('a failing receiver is logged once, not thrown', async () => {
    const s = await server(500);
    closers.push(s.close);
    const sink = logSink();
    const hook = new Webhook({ url: `${s.url}/hook`, timeoutMs: 1000, logger: sink.logger });
    const bus = new EventBus({ now: () => 0 });
    bus.on('webhook', (e) => hook.send(e));
    bus.emit('power_cycle_skipped', { reason: 'x' });
    bus.emit('power_cycle_skipped', { reason: 'y' });
    await hook.flush();
    expect(s.hits).toHaveLength(2);
    expect(sink.lines().filter((l) => l.level === 'warn')).toHaveLength(1);
  });
});

describe('Webhook outages', () => {
  it('outage/warned once, its end said once, and the next outage warned again', async () => {
    const s = await server(500);
    closers.push(s.close);
    const sink = logSink();
    const hook = new Webhook({ url: `${s.url}/hook`, timeoutMs: 1000, logger: sink.logger });
    const bus = new EventBus({ now: () => 0 });
    bus.on('webhook', (e) => hook.send(e));
    bus.emit('power_cycle_skipped', { reason: 'a' });
    bus.emit('power_cycle_skipped', { reason: 'b' });
    await hook.flush();
    s.answer(204);
    bus.emit('power_cycle_skipped', { reason: 'c' });
    bus.emit('power_cycle_skipped', { reason: 'd' });
    await hook.flush();
    s.answer(502);
    bus.emit('power_cycle_skipped', { reason: 'e' });
    await hook.flush();
    expect(s.hits.map((h) => JSON.parse(h.body).reason)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(outageLines(sink)).toEqual([
      'warn: Could not deliver the power_cycle_skipped event to webhook_url (…); events are not retried. Check the URL and the receiving service.',
      'info: Webhook deliveries are getting through again.',
      'warn: Could not deliver the power_cycle_skipped event to webhook_url (…); events are not retried. Check the URL and the receiving service.',
    ]);
  });
});

describe('EventBus', () => {
  it('a throwing listener is logged and the others still get the event', () => {
    const sink = logSink();
    const bus = new EventBus({ logger: sink.logger, now: () => 0 });
    const got: string[] = [];
    bus.on('bad', () => {
      throw new Error('listener broke');
    });
    bus.on('good', (e) => {
      got.push(e.type);
    });
    bus.emit('wan_down', { since: 'x' });
    expect(got).toEqual(['wan_down']);
    expect(sink.lines().some((l) => l.level === 'error' && l.owner === 'bad')).toBe(true);
    bus.off('good');
    bus.emit('wan_down', { since: 'y' });
    expect(got).toHaveLength(1);
  });
});
