import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SseMessage } from '../../src/http/server.js';
import { sampleState, startTestServer, type TestServer } from './harness.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** A tiny event bus standing in for the agent's: what the server subscribes to. */
function bus() {
  const listeners = new Set<(m: SseMessage) => void>();
  return {
    subscribe: (listener: (m: SseMessage) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    push: (m: SseMessage) => {
      for (const l of listeners) l(m);
    },
    get listeners() {
      return listeners.size;
    },
  };
}

/** Opens `GET /events` with a real client and collects the stream's text as it arrives. */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const ac = new AbortController();
  const res = await request(`${url}/events`, { headers, signal: ac.signal });
  let text = '';
  let ended = false;
  res.body.on('data', (chunk: Buffer) => {
    text += String(chunk);
  });
  res.body.on('end', () => {
    ended = true;
  });
  res.body.on('error', () => {
    ended = true;
  });
  /** The `event:`/`data:` frames so far. */
  const frames = () =>
    text
      .split('\n\n')
      .filter((f) => f.includes('data: '))
      .map((f) => {
        const event = /^event: (.*)$/m.exec(f)?.[1];
        const data = JSON.parse(/^data: (.*)$/m.exec(f)?.[1] ?? 'null') as unknown;
        return { event, data };
      });
  return {
    res,
    text: () => text,
    frames,
    ended: () => ended,
    close: () => ac.abort(),
  };
}

describe('GET /events', () => {
  it('events/a page connects/gets the state first, then every pushed state and event', async () => {
    const b = bus();
    t = await startTestServer({ events: b.subscribe });
    const s = await openStream(t.url);
    expect(s.res.statusCode).toBe(200);
    expect(s.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(s.res.headers['cache-control']).toBe('no-store');
    expect(s.res.headers['content-security-policy']).toBe("default-src 'self'");
    await vi.waitFor(() => expect(s.frames()).toHaveLength(1));
    expect(s.text().startsWith('retry: 5000\n\n')).toBe(true);
    expect(s.frames()[0]).toEqual({ event: 'state', data: sampleState() });

    const next = { ...sampleState(), health: 'ready' as const };
    b.push({ event: 'state', data: next });
    b.push({
      event: 'event',
      data: {
        type: 'ip_changed',
        at: '2026-03-01T12:00:00.000Z',
        family: 'ipv4',
        old: '203.0.113.7',
        new: '203.0.113.8',
        sources: ['a', 'b'],
      },
    });
    await vi.waitFor(() => expect(s.frames()).toHaveLength(3));
    expect(s.frames()[1]).toEqual({ event: 'state', data: next });
    expect(s.frames()[2]).toMatchObject({ event: 'event', data: { type: 'ip_changed', new: '203.0.113.8' } });
    s.close();
  });

  it('events/quiet stream/a heartbeat comment every 15 s (injected clock)', async () => {
    t = await startTestServer({ events: bus().subscribe });
    const s = await openStream(t.url);
    await vi.waitFor(() => expect(s.frames()).toHaveLength(1));
    expect(s.text()).not.toContain(': heartbeat');
    await t.clock.advance(15_000);
    await vi.waitFor(() => expect(s.text().match(/: heartbeat\n\n/g)).toHaveLength(1));
    await t.clock.advance(15_000);
    await vi.waitFor(() => expect(s.text().match(/: heartbeat\n\n/g)).toHaveLength(2));
    s.close();
  });

  it('events/the page goes away/its subscription and heartbeat are cleaned up', async () => {
    const b = bus();
    t = await startTestServer({ events: b.subscribe });
    const one = await openStream(t.url);
    const two = await openStream(t.url);
    await vi.waitFor(() => expect(two.frames()).toHaveLength(1));
    expect(b.listeners).toBe(1); // one subscription shared by all pages
    one.close();
    two.close();
    await vi.waitFor(() => expect(b.listeners).toBe(0));
    await vi.waitFor(() => expect(t!.clock.pending).toBe(0)); // no heartbeat sleeper left behind
  });

  it('events/server closes/open streams end', async () => {
    t = await startTestServer({ events: bus().subscribe });
    const s = await openStream(t.url);
    await vi.waitFor(() => expect(s.frames()).toHaveLength(1));
    await t.close();
    t = undefined;
    await vi.waitFor(() => expect(s.ended()).toBe(true));
  });

  it('events/a page that stops reading/is disconnected instead of buffering without bound', async () => {
    const b = bus();
    t = await startTestServer({ events: b.subscribe });
    const s = await openStream(t.url);
    await vi.waitFor(() => expect(s.frames()).toHaveLength(1));
    s.res.body.pause();
    const big = { ...sampleState(), version: 'x'.repeat(256 * 1024) };
    for (let i = 0; i < 400 && !t.sink.text().includes('stopped reading'); i++) {
      b.push({ event: 'state', data: big });
      await new Promise<void>((r) => setImmediate(r));
    }
    expect(t.sink.text()).toContain('A status-page client stopped reading its live updates');
    await vi.waitFor(() => expect(b.listeners).toBe(0));
    s.close();
  });

  it('events/too many pages/503 with Retry-After past the cap', async () => {
    t = await startTestServer({ events: bus().subscribe, limits: { maxSseClients: 1 } });
    const s = await openStream(t.url);
    await vi.waitFor(() => expect(s.frames()).toHaveLength(1));
    const res = await t.get('/events');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('30');
    s.close();
  });

  it('events/with http_token/no stream without the token', async () => {
    t = await startTestServer({ token: 'sse-test-token-0123456789', events: bus().subscribe });
    expect((await t.get('/events')).status).toBe(401);
    const s = await openStream(t.url, { authorization: 'Bearer sse-test-token-0123456789' });
    expect(s.res.statusCode).toBe(200);
    s.close();
  });
});
