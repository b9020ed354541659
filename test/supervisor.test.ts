import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppError, HttpTimeoutError } from '../src/errors.js';
import {
  DEFAULT_SUPERVISOR_URL,
  fetchSupervisorMqtt,
  resolveMqttTarget,
  supervisorBaseUrl,
} from '../src/supervisor.js';
import { freePort } from './fakes/mosquitto.js';
import { type FakeSupervisor, NO_SERVICE, okData, startFakeSupervisor } from './fakes/supervisor.js';
import { logSink } from './helpers/log-sink.js';

const TOKEN = 'sv-token-7f3a9c1e5b2d4680aa11';
const BROKER_PASSWORD = 'Sup3r-S3cret-Broker-Pw';

const dispatcher = new Agent({ connect: { timeout: 2_000 } });
let sv: FakeSupervisor;

beforeAll(async () => {
  sv = await startFakeSupervisor();
});
afterEach(() => {
  sv.answer({ kind: 'ok', data: okData() });
  sv.requests.length = 0;
});
afterAll(async () => {
  await sv.close();
  await dispatcher.close();
});

function fetchIt(timeoutMs = 2000) {
  return fetchSupervisorMqtt({ baseUrl: sv.url, token: TOKEN, dispatcher, timeoutMs });
}

/** Runs `fn`, expects it to throw an AppError, and checks no secret leaks through it. */
async function expectAppError(fn: () => Promise<unknown>, code: string): Promise<AppError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AppError);
  const err = caught as AppError;
  expect(err.code).toBe(code);
  const everything = `${err.message} ${String(err.stack)} ${JSON.stringify(err)} ${String(err.cause ?? '')}`;
  expect(everything).not.toContain(TOKEN);
  expect(everything).not.toContain(BROKER_PASSWORD);
  return err;
}

describe('supervisorBaseUrl', () => {
  it.each([
    ['unset/default', {}, DEFAULT_SUPERVISOR_URL],
    ['empty/default', { SUPERVISOR_URL: '  ' }, DEFAULT_SUPERVISOR_URL],
    ['set/override', { SUPERVISOR_URL: 'http://127.0.0.1:8123' }, 'http://127.0.0.1:8123'],
    ['set/trailing-slash-removed', { SUPERVISOR_URL: 'http://127.0.0.1:8123/' }, 'http://127.0.0.1:8123'],
  ])('%s', (_name, env, expected) => {
    expect(supervisorBaseUrl(env)).toBe(expected);
  });
});

describe('fetchSupervisorMqtt', () => {
  it('ok/port-number: builds mqtt:// with the credentials, sends the bearer token', async () => {
    const answer = await fetchIt();
    expect(answer).toEqual({
      kind: 'broker',
      url: 'mqtt://core-mosquitto:1883',
      username: 'addons',
      password: BROKER_PASSWORD,
    });
    expect(sv.requests).toEqual([{ method: 'GET', path: '/services/mqtt', auth: `Bearer ${TOKEN}` }]);
  });

  it('ok/port-string-and-ssl: builds mqtts:// with the numeric port', async () => {
    sv.answer({ kind: 'ok', data: okData({ port: '8883', ssl: true }) });
    expect(await fetchIt()).toMatchObject({ kind: 'broker', url: 'mqtts://core-mosquitto:8883' });
  });

  it('ok/ipv6-host: brackets the address', async () => {
    sv.answer({ kind: 'ok', data: okData({ host: 'fd00::10' }) });
    expect(await fetchIt()).toMatchObject({ url: 'mqtt://[fd00::10]:1883' });
  });

  it('ok/no-credentials: empty or missing user name and password are left out', async () => {
    sv.answer({
      kind: 'ok',
      data: { host: '172.30.32.1', port: 1883, ssl: false, username: '', password: null },
    });
    expect(await fetchIt()).toEqual({ kind: 'broker', url: 'mqtt://172.30.32.1:1883' });
  });

  it('ok/env-base-url: SUPERVISOR_URL is used when no baseUrl is given', async () => {
    const answer = await fetchSupervisorMqtt({
      token: TOKEN,
      dispatcher,
      timeoutMs: 2000,
      env: { SUPERVISOR_URL: sv.url },
    });
    expect(answer.kind).toBe('broker');
    expect(sv.requests).toHaveLength(1);
  });

  it('400/no-service: kind none with what to do', async () => {
    sv.answer(NO_SERVICE);
    const answer = await fetchIt();
    expect(answer.kind).toBe('none');
    expect(answer.kind === 'none' && answer.reason).toMatch(/Mosquitto broker add-on.*mqtt_url/);
  });

  it.each([
    ['401/auth', 401, 'SUPERVISOR_AUTH', /mqtt:want/],
    ['403/auth', 403, 'SUPERVISOR_AUTH', /mqtt:want/],
    ['500/http', 500, 'SUPERVISOR_HTTP', /HTTP 500/],
  ])('%s: throws %s without secrets', async (_name, status, code, message) => {
    sv.answer({ kind: 'raw', status, body: { result: 'error', message: `token ${TOKEN} bad` } });
    const err = await expectAppError(() => fetchIt(), code);
    expect(err.message).toMatch(message);
  });

  it.each([
    [
      'garbage/not-json',
      { kind: 'raw', status: 200, body: '<html>oops</html>', contentType: 'text/html' },
      /not JSON/,
    ],
    [
      'envelope/result-error',
      { kind: 'raw', status: 200, body: { result: 'error', data: okData() } },
      /result/,
    ],
    ['envelope/port-not-numeric', { kind: 'ok', data: okData({ port: 'eighty' }) }, /data\.port/],
    ['envelope/port-out-of-range', { kind: 'ok', data: okData({ port: 70000 }) }, /data\.port/],
    ['envelope/ssl-missing', { kind: 'ok', data: okData({ ssl: undefined }) }, /data\.ssl/],
    ['envelope/host-missing', { kind: 'ok', data: okData({ host: '' }) }, /data\.host/],
    [
      'envelope/bad-password-type',
      { kind: 'ok', data: okData({ password: { secret: BROKER_PASSWORD }, port: 'x' }) },
      /data\.password/,
    ],
  ] as const)('%s: SUPERVISOR_MALFORMED naming the field, no values', async (_name, answer, message) => {
    sv.answer(answer);
    const err = await expectAppError(() => fetchIt(), 'SUPERVISOR_MALFORMED');
    expect(err.message).toMatch(message);
  });

  it('hang: times out with HttpTimeoutError', async () => {
    sv.answer({ kind: 'hang' });
    const started = Date.now();
    const err = await expectAppError(() => fetchIt(200), 'HTTP_TIMEOUT');
    expect(err).toBeInstanceOf(HttpTimeoutError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('unreachable: SUPERVISOR_UNREACHABLE naming the base URL', async () => {
    const port = await freePort();
    const err = await expectAppError(
      () =>
        fetchSupervisorMqtt({
          baseUrl: `http://127.0.0.1:${port}`,
          token: TOKEN,
          dispatcher,
          timeoutMs: 2000,
        }),
      'SUPERVISOR_UNREACHABLE',
    );
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('empty token: refused before any request', async () => {
    await expectAppError(
      () => fetchSupervisorMqtt({ baseUrl: sv.url, token: '', dispatcher, timeoutMs: 2000 }),
      'SUPERVISOR_AUTH',
    );
    expect(sv.requests).toHaveLength(0);
  });
});

describe('resolveMqttTarget', () => {
  const config = {
    mqtt_url: '',
    mqtt_username: undefined as string | undefined,
    mqtt_password: undefined as string | undefined,
    embedded_broker_host: '127.0.0.1',
    embedded_broker_port: 1883,
  };
  const addonEnv = () => ({ SUPERVISOR_TOKEN: TOKEN, SUPERVISOR_URL: sv.url });

  function resolve(over: Partial<typeof config>, env: Record<string, string | undefined>) {
    const sink = logSink({ secrets: [TOKEN, BROKER_PASSWORD] });
    const run = resolveMqttTarget({
      config: { ...config, ...over },
      env,
      logger: sink.logger,
      dispatcher,
      timeoutMs: 2000,
      retryDelayMs: 10,
    });
    return { run, sink };
  }

  it('mqtt_url/wins-over-supervisor: no Supervisor request', async () => {
    const { run } = resolve(
      { mqtt_url: 'mqtts://broker.lan:8883', mqtt_username: 'me', mqtt_password: 'pw-1234' },
      addonEnv(),
    );
    expect(await run).toEqual({
      kind: 'url',
      url: 'mqtts://broker.lan:8883',
      username: 'me',
      password: 'pw-1234',
      source: 'config',
    });
    expect(sv.requests).toHaveLength(0);
  });

  it('standalone/embedded: no token, no mqtt_url', async () => {
    const { run } = resolve({ embedded_broker_port: 1999 }, { SUPERVISOR_URL: sv.url });
    expect(await run).toEqual({ kind: 'embedded', host: '127.0.0.1', port: 1999 });
    expect(sv.requests).toHaveLength(0);
  });

  it('addon/supervisor-broker: the Supervisor URL and credentials', async () => {
    const { run, sink } = resolve({}, addonEnv());
    expect(await run).toEqual({
      kind: 'url',
      url: 'mqtt://core-mosquitto:1883',
      username: 'addons',
      password: BROKER_PASSWORD,
      source: 'supervisor',
    });
    expect(sink.text()).toContain('Using the Home Assistant MQTT broker at mqtt://core-mosquitto:1883');
    expect(sink.text()).not.toContain(BROKER_PASSWORD);
    expect(sink.text()).not.toContain(TOKEN);
  });

  it('addon/own-login: mqtt_username replaces the Supervisor credentials', async () => {
    const { run } = resolve({ mqtt_username: 'ddns', mqtt_password: 'mine-5678' }, addonEnv());
    expect(await run).toMatchObject({
      url: 'mqtt://core-mosquitto:1883',
      username: 'ddns',
      password: 'mine-5678',
    });
  });

  it('addon/no-service: embedded broker with a warning', async () => {
    sv.answer(NO_SERVICE);
    const { run, sink } = resolve({}, addonEnv());
    expect(await run).toEqual({ kind: 'embedded', host: '127.0.0.1', port: 1883 });
    const warn = sink.lines().find((l) => l.level === 'warn');
    expect(String(warn?.msg)).toMatch(/Mosquitto broker add-on.*embedded broker on 127\.0\.0\.1:1883/);
  });

  it('addon/transient-then-ok: retried', async () => {
    sv.answerNext({ kind: 'raw', status: 502, body: 'bad gateway' });
    const { run, sink } = resolve({}, addonEnv());
    expect(await run).toMatchObject({ kind: 'url', source: 'supervisor' });
    expect(sv.requests).toHaveLength(2);
    expect(sink.text()).toContain('trying again (2/3)');
  });

  it('addon/auth-failure: thrown at once, not retried, no token anywhere', async () => {
    sv.answer({ kind: 'raw', status: 401, body: { result: 'error', message: 'Unauthorized' } });
    const { run, sink } = resolve({}, addonEnv());
    await expectAppError(() => run, 'SUPERVISOR_AUTH');
    expect(sv.requests).toHaveLength(1);
    expect(sink.text()).not.toContain(TOKEN);
  });

  it('addon/persistent-failure: thrown after the attempts', async () => {
    sv.answer({ kind: 'raw', status: 500, body: 'down' });
    const { run } = resolve({}, addonEnv());
    await expectAppError(() => run, 'SUPERVISOR_HTTP');
    expect(sv.requests).toHaveLength(3);
  });
});
