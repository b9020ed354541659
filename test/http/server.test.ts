import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Liveness } from '../../src/http/liveness.js';
import { HttpListenError, type StaticAsset, startHttpServer } from '../../src/http/server.js';
import { ManualClock } from '../fakes/clock.js';
import { call, sampleState, startTestServer, type TestServer } from './harness.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const SECURITY = {
  'content-security-policy': "default-src 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

describe('GET /healthz', () => {
  it('healthz/loops alive, WAN down/200 ok (the WAN is not the agent)', async () => {
    t = await startTestServer();
    const res = await t.get('/healthz');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect((await t.get('/state')).json()).toMatchObject({ health: 'wan_down' });
  });

  it('healthz/a loop stuck past 3× its interval plus slack/503 naming the loop and what to do', async () => {
    const clock = new ManualClock();
    const liveness = new Liveness(clock, { slackMs: 30_000 });
    liveness.register('DNS', { intervalMs: 60_000 });
    liveness.register('probe', { intervalMs: 15_000 });
    t = await startTestServer({ clock, probes: liveness });

    await clock.advance(200_000);
    liveness.beat('DNS'); // the DNS loop keeps turning; the probe loop (limit 75 s) does not
    let res = await t.get('/healthz');
    expect(res.status).toBe(503);
    const body = res.json() as { status: string; reason: string };
    expect(body.status).toBe('stuck');
    expect(body.reason).toContain(
      'the probe loop has not run for 200 s (it runs every 15 s; stuck after 75 s)',
    );
    expect(body.reason).not.toContain('DNS loop');
    expect(body.reason).toMatch(/Restart the agent/);

    liveness.beat('probe');
    res = await t.get('/healthz');
    expect(res.status).toBe(200);
  });

  it('healthz/the liveness check throws/503 and a log line, never a crash', async () => {
    t = await startTestServer({
      probes: {
        health: () => {
          throw new Error('boom');
        },
      },
    });
    const res = await t.get('/healthz');
    expect(res.status).toBe(503);
    expect(t.sink.text()).toContain('The liveness check failed');
  });

  it('healthz/HEAD/answers the status without a body (container health checks)', async () => {
    t = await startTestServer();
    const res = await call(t.url, '/healthz', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
  });
});

describe('GET /state', () => {
  it('state/answers the §6 document as JSON, never cached', async () => {
    t = await startTestServer();
    const res = await t.get('/state');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toEqual(sampleState());
  });

  it('state/the state cannot be read/500 with a pointer to the log, and the server keeps serving', async () => {
    t = await startTestServer({
      state: () => {
        throw new Error('not ready');
      },
    });
    const res = await t.get('/state');
    expect(res.status).toBe(500);
    expect(res.json()).toEqual({ error: 'internal', message: expect.stringContaining("agent's log") });
    expect((await t.get('/healthz')).status).toBe(200);
  });
});

describe('every response', () => {
  it('headers/carry the security headers, errors included', async () => {
    t = await startTestServer({ token: 'a-long-test-token-0123456789' });
    const answers = [
      await t.get('/healthz'),
      await t.get('/state'), // 401
      await t.get('/state', { authorization: 'Bearer a-long-test-token-0123456789' }),
      await t.get('/nope', { authorization: 'Bearer a-long-test-token-0123456789' }),
      await t.post('/healthz', '{}'),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 401, 200, 404, 405]);
    for (const a of answers) expect(a.headers).toMatchObject(SECURITY);
  });

  it('routes/unknown path/404 JSON that says where to look', async () => {
    t = await startTestServer();
    const res = await t.get('/wp-admin');
    expect(res.status).toBe(404);
    expect(res.json()).toEqual({
      error: 'not_found',
      message: expect.stringContaining('try state, metrics'),
    });
  });

  it('routes/wrong method/405 with Allow', async () => {
    t = await startTestServer();
    const res = await call(t.url, '/state', { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  it('routes/query strings/are ignored for routing', async () => {
    t = await startTestServer();
    expect((await t.get('/state?x=1')).status).toBe(200);
  });
});

describe('status page hooks', () => {
  it('assets/plugged in/are served with their type; "/" falls back to a small index of relative links', async () => {
    t = await startTestServer();
    const index = await t.get('/', { accept: 'text/html' });
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.text).toContain('<a href="state">');
    expect(index.text).not.toMatch(/href="\//); // relative, so it works under Ingress
    await t.close();

    const assets = new Map<string, StaticAsset>([
      ['/', { type: 'text/html; charset=utf-8', body: '<!doctype html><title>page</title>' }],
      ['/app.js', { type: 'text/javascript; charset=utf-8', body: 'console.log(1)' }],
    ]);
    t = await startTestServer({ assets });
    const page = await t.get('/');
    expect(page.text).toBe('<!doctype html><title>page</title>');
    const js = await t.get('/app.js');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers).toMatchObject(SECURITY);
  });
});

describe('limits', () => {
  it('slow-loris/headers that never finish/the connection is closed after headersTimeout', async () => {
    t = await startTestServer({ limits: { headersTimeoutMs: 200, requestTimeoutMs: 400 } });
    const port = t.server.port;
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (d) => {
      received += String(d);
    });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /state HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  });

  it('connections/more than maxConnections/refused and said in a warning, not silently', async () => {
    const server = await startTestServer({ limits: { maxConnections: 2 } });
    t = server;
    const port = server.server.port;
    const sockets = [0, 1, 2, 3].map(() => connect(port, '127.0.0.1'));
    try {
      await Promise.all(
        sockets.map((s) => new Promise<void>((resolve) => s.once('connect', () => resolve()))),
      );
      await expect
        .poll(
          () => server.sink.lines().filter((l) => /Refused an HTTP connection/.test(String(l.msg))).length,
        )
        .toBe(1);
      const line = server.sink.lines().find((l) => /Refused an HTTP connection/.test(String(l.msg)));
      expect(line?.msg).toMatch(/more than 2 are open at once/);
      // Each refused connection is counted where a dashboard sees it.
      await expect
        .poll(async () =>
          /^ddns_watchdog_http_connections_refused_total 2$/m.test(await server.metrics.render()),
        )
        .toBe(true);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('listen/port already in use/a clear error naming http_port', async () => {
    t = await startTestServer();
    const err = await startHttpServer({
      host: '127.0.0.1',
      port: t.server.port,
      addon: false,
      logger: t.sink.logger,
      clock: t.clock,
      probes: { health: () => ({ ok: true }) },
      state: sampleState,
      metrics: t.metrics,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpListenError);
    expect((err as Error).message).toBe(
      `The HTTP server could not start: 127.0.0.1:${t.server.port} is already in use. Choose another http_port, or stop the program that holds it.`,
    );
  });
});
