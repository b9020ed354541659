import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandName } from '../../src/commands.js';
import type { CommandAnswer } from '../../src/http/server.js';
import { call, startTestServer, type TestServer } from './harness.js';

const TOKEN = 'another-long-http-token-4-tests';
const BEARER = { authorization: `Bearer ${TOKEN}` };

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** A server whose commands are recorded and answered by `answer`. */
async function withCommands(
  answer: (name: CommandName, payload: string) => CommandAnswer = (name) => ({
    ok: true,
    message: `${name} done`,
  }),
  extra: Parameters<typeof startTestServer>[0] = {},
) {
  const seen: Array<{ name: CommandName; payload: string }> = [];
  t = await startTestServer({
    token: TOKEN,
    commands: async (name, payload) => {
      seen.push({ name, payload });
      return answer(name, payload);
    },
    ...extra,
  });
  return { t, seen };
}

describe('POST /api/command/<name>', () => {
  it('command/same-origin JSON/passes the payload to the shared command code and answers its result', async () => {
    const { t, seen } = await withCommands((name) => ({
      command: name,
      ok: true,
      message: 'DNS is in sync',
      transaction: 'abc',
    }));
    const body = JSON.stringify({ records: ['vpn.example.com'], transaction: 'abc' });
    const res = await t.post('/api/command/sync', body, { ...BEARER, origin: t.url });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.json()).toEqual({ command: 'sync', ok: true, message: 'DNS is in sync', transaction: 'abc' });
    expect(seen).toEqual([{ name: 'sync', payload: body }]);
  });

  it.each([
    ['command/answer invalid/400', 'invalid', 400],
    ['command/answer refused/409', 'refused', 409],
    ['command/answer failed/502', 'failed', 502],
    ['command/answer not ok, no kind/409', undefined, 409],
  ] as const)('%s', async (_name, failure, status) => {
    const { t } = await withCommands(() => ({
      ok: false,
      message: 'reboot refused: the last power cycle was 2 min ago',
      ...(failure ? { failure } : {}),
    }));
    const res = await t.post('/api/command/reboot', '{}', BEARER);
    expect(res.status).toBe(status);
    expect(res.json()).toEqual({
      command: 'reboot',
      ok: false,
      message: 'reboot refused: the last power cycle was 2 min ago',
    });
  });

  it('command/Origin of another site/403 and the command never runs', async () => {
    const { t, seen } = await withCommands();
    const res = await t.post('/api/command/reboot', '{}', { ...BEARER, origin: 'http://evil.example' });
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({ error: 'forbidden', message: expect.stringContaining('another site') });
    expect(seen).toEqual([]);
    expect(t.sink.text()).toContain('Refused an HTTP command');
  });

  it('command/Origin "null" (sandboxed page)/403', async () => {
    const { t, seen } = await withCommands();
    const res = await t.post('/api/command/sync', '{}', { ...BEARER, origin: 'null' });
    expect(res.status).toBe(403);
    expect(seen).toEqual([]);
  });

  it('command/no Origin with a bearer token/taken (scripts such as curl send none)', async () => {
    const { t, seen } = await withCommands();
    expect((await t.post('/api/command/probe', '{}', BEARER)).status).toBe(200);
    expect(seen).toHaveLength(1);
  });

  it('command/no Origin with a session cookie/403 (a browser always sends one)', async () => {
    const { t, seen } = await withCommands();
    const login = await t.post('/login', JSON.stringify({ token: TOKEN }));
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const res = await t.post('/api/command/sync', '{}', { cookie });
    expect(res.status).toBe(403);
    expect(seen).toEqual([]);
    const ok = await t.post('/api/command/sync', '{}', { cookie, origin: t.url });
    expect(ok.status).toBe(200);
  });

  it('command/body over 4 KiB/413 and the command never runs', async () => {
    const { t, seen } = await withCommands();
    const big = JSON.stringify({ records: ['x'.repeat(5000)] });
    const res = await t.post('/api/command/sync', big, BEARER);
    expect(res.status).toBe(413);
    expect(res.json()).toEqual({
      command: 'sync',
      ok: false,
      message: 'Commands are limited to 4096 bytes.',
    });
    expect(seen).toEqual([]);
  });

  it('command/body over 4 KiB sent chunked (no Content-Length)/413', async () => {
    const { t, seen } = await withCommands();
    async function* chunks() {
      for (let i = 0; i < 10; i++) yield Buffer.from(' '.repeat(1000));
    }
    const { request } = await import('undici');
    const res = await request(`${t.url}/api/command/sync`, {
      method: 'POST',
      headers: { ...BEARER, 'content-type': 'application/json' },
      body: Readable.from(chunks()),
    });
    expect(res.statusCode).toBe(413);
    await res.body.text();
    expect(seen).toEqual([]);
  });

  it.each([
    ['command/form body/415', 'application/x-www-form-urlencoded', 'a=1', 415],
    ['command/text body/415', 'text/plain', '{}', 415],
    ['command/not JSON/400', 'application/json', 'PRESS', 400],
    ['command/JSON array/400', 'application/json', '[]', 400],
    ['command/empty body/400', 'application/json', '', 400],
  ])('%s', async (_name, type, body, status) => {
    const { t, seen } = await withCommands();
    const res = await t.post('/api/command/sync', body, { ...BEARER, 'content-type': type });
    expect(res.status).toBe(status);
    expect(seen).toEqual([]);
  });

  it('command/unknown name/404 listing the commands', async () => {
    const { t } = await withCommands();
    const res = await t.post('/api/command/format-disk', '{}', BEARER);
    expect(res.status).toBe(404);
    expect(res.json()).toEqual({
      error: 'unknown_command',
      message: 'There is no command "format-disk": use one of sync, reboot, probe, recovery.',
    });
  });

  it('command/GET/405 (commands are POSTs)', async () => {
    const { t } = await withCommands();
    const res = await call(t.url, '/api/command/sync', { headers: BEARER });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });

  it('command/no command function wired/503 that points to MQTT', async () => {
    t = await startTestServer({ token: TOKEN });
    const res = await t.post('/api/command/sync', '{}', BEARER);
    expect(res.status).toBe(503);
    expect(res.json()).toMatchObject({ ok: false, message: expect.stringContaining('MQTT') });
  });

  it('command/the command code throws/500, logged, and the server keeps serving', async () => {
    const { t } = await withCommands(() => {
      throw new Error('bug');
    });
    const res = await t.post('/api/command/sync', '{}', BEARER);
    expect(res.status).toBe(500);
    expect(t.sink.text()).toContain('This is a bug');
    expect((await t.get('/healthz')).status).toBe(200);
  });
});
