import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SESSION_COOKIE, SESSION_MAX_AGE_SECONDS } from '../../src/http/auth.js';
import { ManualClock } from '../fakes/clock.js';
import { call, START, startTestServer, type TestServer } from './harness.js';

const TOKEN = 'Sup3r-long-http-token-for-tests';
const BEARER = { authorization: `Bearer ${TOKEN}` };

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Nothing a server says may hold the token or a telling piece of it. */
function expectNoSecret(text: string): void {
  expect(text).not.toContain(TOKEN);
  expect(text).not.toContain(TOKEN.slice(0, 6));
  expect(text).not.toContain(TOKEN.slice(-6));
}

function cookieOf(setCookie: string | string[] | undefined): string {
  const line = Array.isArray(setCookie) ? setCookie[0]! : String(setCookie);
  return line.split(';')[0]!;
}

describe('with http_token', () => {
  it('token/no credentials/401 on every path but /healthz, with no data', async () => {
    t = await startTestServer({ token: TOKEN });
    for (const path of ['/state', '/metrics', '/events', '/', '/anything']) {
      const res = await t.get(path);
      expect(res.status, path).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="ddns-watchdog"');
      expect(res.text).not.toContain('203.0.113.7');
      expect(res.json()).toEqual({ error: 'unauthorized', message: expect.stringContaining('http_token') });
    }
    const command = await t.post('/api/command/sync', '{}');
    expect(command.status).toBe(401);
    expect((await t.get('/healthz')).status).toBe(200);
  });

  it('token/bearer/gives the data', async () => {
    t = await startTestServer({ token: TOKEN });
    const res = await t.get('/state', BEARER);
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ public_ip: { ipv4: '203.0.113.7' } });
    expect((await t.get('/metrics', BEARER)).status).toBe(200);
  });

  it('token/wrong bearer/401 with no hint of the token, in the answer or the log', async () => {
    t = await startTestServer({ token: TOKEN });
    const near = `${TOKEN.slice(0, -1)}x`;
    const res = await t.get('/state', { authorization: `Bearer ${near}` });
    expect(res.status).toBe(401);
    expect(res.json()).toEqual({
      error: 'unauthorized',
      message: expect.stringContaining('does not match http_token'),
    });
    expectNoSecret(res.text);
    expectNoSecret(JSON.stringify(res.headers));
    expectNoSecret(t.sink.text());
    expect(t.sink.text()).not.toContain(near.slice(0, 10));
  });

  it('token/browser without login/gets the login form (relative action), not the data', async () => {
    t = await startTestServer({ token: TOKEN });
    const res = await t.get('/', { accept: 'text/html' });
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.text).toContain('<form method="post" action="login">');
    expect(res.text).not.toMatch(/<script|style=/); // the CSP allows neither inline
  });

  it('token/login form post/sets an HttpOnly SameSite=Strict cookie without Path that opens the data', async () => {
    t = await startTestServer({ token: TOKEN });
    const login = await call(t.url, '/login', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'text/html',
        origin: t.url,
      },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('./');
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=v1\\.`));
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain(`Max-Age=${SESSION_MAX_AGE_SECONDS}`);
    expect(setCookie).not.toMatch(/Path=/i); // scoped to the login URL's folder: right under any prefix
    expect(setCookie).not.toContain('Secure'); // plain http here
    expectNoSecret(setCookie);

    const cookie = cookieOf(login.headers['set-cookie']);
    const res = await t.get('/state', { cookie });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ public_ip: { ipv4: '203.0.113.7' } });
  });

  it('token/login as JSON behind TLS proxy/answers JSON and marks the cookie Secure', async () => {
    t = await startTestServer({ token: TOKEN });
    const res = await t.post('/login', JSON.stringify({ token: TOKEN }), { 'x-forwarded-proto': 'https' });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ ok: true, message: 'Logged in.' });
    expect(String(res.headers['set-cookie'])).toContain('; Secure');
  });

  it('token/wrong login/401 with the form again and no hint of the token', async () => {
    t = await startTestServer({ token: TOKEN });
    const res = await call(t.url, '/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: 'token=not-it',
    });
    expect(res.status).toBe(401);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.text).toContain('That is not the http_token set in the options.');
    expectNoSecret(res.text);
    expectNoSecret(t.sink.text());
  });

  it('token/session cookie/expires after its lifetime and cannot be forged', async () => {
    t = await startTestServer({ token: TOKEN });
    const login = await t.post('/login', JSON.stringify({ token: TOKEN }));
    const cookie = cookieOf(login.headers['set-cookie']);
    const [name, value] = cookie.split('=') as [string, string];
    const parts = value.split('.');
    const later = `${name}=${parts[0]}.${(Number.parseInt(parts[1]!, 36) * 2).toString(36)}.${parts[2]}`;
    expect((await t.get('/state', { cookie: later })).status).toBe(401);
    expect((await t.get('/state', { cookie: `${name}=v1.zzzzzz.${'A'.repeat(43)}` })).status).toBe(401);

    await t.clock.advance(SESSION_MAX_AGE_SECONDS * 1000 - 1000);
    expect((await t.get('/state', { cookie })).status).toBe(200);
    await t.clock.advance(2000);
    expect((await t.get('/state', { cookie })).status).toBe(401);
  });

  it('token/logout/clears the cookie', async () => {
    t = await startTestServer({ token: TOKEN });
    const res = await call(t.url, '/logout', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(String(res.headers['set-cookie'])).toBe(
      `${SESSION_COOKIE}=; Max-Age=0; HttpOnly; SameSite=Strict`,
    );
  });

  it('token/logout posted by another site/403, the session cookie is not cleared', async () => {
    t = await startTestServer({ token: TOKEN });
    const res = await t.post('/logout', '', {
      'content-type': 'application/x-www-form-urlencoded',
      origin: 'http://evil.example',
    });
    expect(res.status).toBe(403);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.json()).toMatchObject({
      message: expect.stringMatching(/another site.*Log out from the status page/),
    });
    // The page's own origin still logs out.
    const own = await t.post('/logout', '', { origin: t.url });
    expect(own.status).toBe(200);
  });

  it('token/30 wrong logins sent in parallel/at most 10 tokens are tried, the rest get 429', async () => {
    // Counts the server's clock reads: each login reads it before its body (access, limiter).
    const clock = new ManualClock(START);
    let reads = 0;
    const counting = Object.assign(Object.create(clock), {
      now: () => {
        reads += 1;
        return clock.now();
      },
      sleep: clock.sleep.bind(clock),
    });
    t = await startTestServer({ token: TOKEN, clock: counting });
    const port = Number(new URL(t.url).port);
    const N = 30;
    const sockets = await Promise.all(
      Array.from(
        { length: N },
        () =>
          new Promise<Socket>((resolve) => {
            const s = connect(port, '127.0.0.1', () => resolve(s));
          }),
      ),
    );
    const answers = sockets.map(
      (s) =>
        new Promise<string>((resolve) => {
          let text = '';
          s.on('data', (d) => {
            text += String(d);
          });
          s.on('close', () => resolve(text));
          s.on('error', () => resolve(text));
        }),
    );
    const body = 'token=wrong-guess';
    // Every login's headers first: each passes the first limiter check before any body arrives.
    const before = reads;
    for (const s of sockets) {
      s.write(
        `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      );
    }
    await expect.poll(() => reads - before >= 2 * N, { timeout: 5000 }).toBe(true);
    for (const s of sockets) s.write(body);
    const texts = await Promise.all(answers);
    const tried = texts.filter((x) => x.startsWith('HTTP/1.1 401')).length;
    const limited = texts.filter((x) => x.startsWith('HTTP/1.1 429')).length;
    expect(tried + limited).toBe(N);
    expect(tried).toBe(10);
  });

  it('token/many wrong tokens from one address/429 with Retry-After, then allowed again after the window', async () => {
    t = await startTestServer({ token: TOKEN });
    for (let i = 0; i < 10; i++) {
      expect((await t.get('/state', { authorization: 'Bearer wrong' })).status).toBe(401);
    }
    const blocked = await t.get('/state', BEARER);
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toBe('300');
    const login = await t.post('/login', JSON.stringify({ token: TOKEN }));
    expect(login.status).toBe(429);
    expect(t.sink.text()).toContain('Too many wrong tokens from this address');

    await t.clock.advance(300_001);
    expect((await t.get('/state', BEARER)).status).toBe(200);
  });
});

describe('without http_token', () => {
  it('open/LAN client/may read but not act; the 403 names http_token', async () => {
    let commands = 0;
    t = await startTestServer({
      clientAddress: () => '192.168.1.20',
      commands: async () => {
        commands++;
        return { ok: true, message: 'done' };
      },
    });
    expect((await t.get('/state')).status).toBe(200);
    expect((await t.get('/metrics')).status).toBe(200);
    const res = await t.post('/api/command/sync', '{}', { origin: t.url });
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({ error: 'forbidden', message: expect.stringContaining('need http_token') });
    expect(commands).toBe(0);
  });

  it('open/this machine/may act when addressed by a loopback name', async () => {
    t = await startTestServer({ commands: async (name) => ({ ok: true, message: `${name} done` }) });
    const res = await t.post('/api/command/probe', '{}');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ command: 'probe', ok: true, message: 'probe done' });
  });

  it('open/a page that rebinds its DNS name to 127.0.0.1/may not act (its own name is in Host)', async () => {
    t = await startTestServer({ commands: async () => ({ ok: true, message: 'done' }) });
    const res = await t.post('/api/command/reboot', '{}', {
      host: 'attacker.example:8080',
      origin: 'http://attacker.example:8080',
    });
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({ error: 'forbidden', message: expect.stringContaining('set http_token') });
  });

  it('open/login/is not offered (nothing to log in to)', async () => {
    t = await startTestServer();
    expect((await t.get('/login')).status).toBe(404);
  });
});

describe('in the add-on', () => {
  it('addon/any client but the Ingress proxy/403 on every path, healthz included', async () => {
    t = await startTestServer({ addon: true, clientAddress: () => '172.30.32.1' });
    for (const path of ['/state', '/metrics', '/healthz', '/']) {
      const res = await t.get(path);
      expect(res.status, path).toBe(403);
      expect(res.json()).toEqual({ error: 'forbidden', message: expect.stringContaining('172.30.32.2') });
    }
  });

  it('addon/the Ingress proxy/is served and may act, token or not', async () => {
    t = await startTestServer({
      addon: true,
      token: TOKEN,
      clientAddress: () => '::ffff:172.30.32.2',
      commands: async () => ({ ok: true, message: 'synced' }),
    });
    expect((await t.get('/state')).status).toBe(200);
    const res = await t.post('/api/command/sync', '{}', {
      host: '172.30.33.4:8099',
      origin: 'http://homeassistant.local:8123',
      'x-forwarded-host': 'homeassistant.local:8123',
    });
    expect(res.status).toBe(200);
  });

  it("addon/the container's own health check/may read /healthz from loopback, nothing else", async () => {
    t = await startTestServer({ addon: true });
    expect((await t.get('/healthz')).status).toBe(200);
    expect((await t.get('/state')).status).toBe(403);
  });
});
