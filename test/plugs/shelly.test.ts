import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { PlugError } from '../../src/plugs/plug-driver.js';
import { ShellyPlug } from '../../src/plugs/shelly.js';
import { ShellyRpcPlug } from '../../src/plugs/shelly-rpc.js';
import { ManualClock } from '../fakes/clock.js';
import { until } from '../fakes/plugs/agent-side.js';
import { startHttpFake } from '../fakes/plugs/http-server.js';
import { startFakeShellyGen1, startFakeShellyGen2 } from '../fakes/plugs/shelly.js';
import { freePort } from '../helpers/net.js';

const never = new AbortController().signal;
const TIMEOUT_MS = 300;
const http = { timeoutMs: TIMEOUT_MS };
const GEN1_PASSWORD = 'Gen1-S3cret!pw';
const GEN2_PASSWORD = 'Gen2-Pl@g:pass';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function failure(p: Promise<unknown>): Promise<PlugError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof PlugError)) throw new Error(`expected a PlugError, got ${String(err)}`);
  return err;
}

describe('shelly (Gen1)', () => {
  async function gen1(o: { username?: string; password?: string } = { password: GEN1_PASSWORD }) {
    const clock = new ManualClock();
    const fake = await startFakeShellyGen1({ clock, ...o });
    cleanups.push(() => fake.close());
    return { clock, fake };
  }

  it('cycle/Basic login/relay/0?turn=off&timer=30, off for exactly 30 s, ends on by its own timer', async () => {
    const { clock, fake } = await gen1();
    const plug = new ShellyPlug({ url: fake.url, password: GEN1_PASSWORD, http });
    expect(plug.timing).toBe('self_timed');

    const outcome = await plug.cycle(30, never);
    expect(outcome).toMatchObject({ confirmed: true });
    expect(fake.relay.on).toBe(false);
    expect(fake.requests.map((r) => r.target)).toEqual(['/relay/0?turn=off&timer=30']);
    const auth = fake.requests[0]?.headers.authorization;
    expect(auth).toBe(`Basic ${Buffer.from(`admin:${GEN1_PASSWORD}`).toString('base64')}`);

    await clock.advance(30_000);
    expect(fake.relay.on).toBe(true);
    expect(fake.relay.offSpansMs()).toEqual([30_000]);
  });

  it('on and off/turn=on, turn=off/confirmed by ison', async () => {
    const { fake } = await gen1();
    const plug = new ShellyPlug({ url: fake.url, password: GEN1_PASSWORD, http });
    expect((await plug.off(never)).confirmed).toBe(true);
    expect(fake.relay.on).toBe(false);
    expect((await plug.on(never)).confirmed).toBe(true);
    expect(fake.relay.on).toBe(true);
    expect(fake.requests.map((r) => r.target)).toEqual(['/relay/0?turn=off', '/relay/0?turn=on']);
  });

  it('login in plug_url/used as the credentials; the label shows only scheme, host and port', async () => {
    const { fake } = await gen1();
    const port = new URL(fake.url).port;
    const plug = new ShellyPlug({
      url: `http://admin:${encodeURIComponent(GEN1_PASSWORD)}@127.0.0.1:${port}/`,
      http,
    });
    expect(plug.label).toBe(`shelly http://127.0.0.1:${port}`);
    expect((await plug.cycle(30, never)).confirmed).toBe(true);
  });

  it('wrong password/PLUG_REFUSED naming plug_password, no secret, relay untouched', async () => {
    const { fake } = await gen1();
    const plug = new ShellyPlug({ url: fake.url, password: 'wrong-Pa55', http });
    const err = await failure(plug.cycle(30, never));
    expect(err.code).toBe('PLUG_REFUSED');
    expect(err.message).toContain('plug_password');
    expect(err.message).not.toContain('wrong-Pa55');
    expect(fake.relay.changes).toEqual([]);
  });

  it('login required but none set/PLUG_REFUSED saying to set plug_password', async () => {
    const { fake } = await gen1();
    const err = await failure(new ShellyPlug({ url: fake.url, http }).cycle(30, never));
    expect(err.code).toBe('PLUG_REFUSED');
    expect(err.message).toMatch(/none is configured; set plug_password/);
  });

  it('firmware ignores the timer/PLUG_BAD_ANSWER: it will not switch itself back on', async () => {
    const { fake } = await gen1();
    fake.settings.honoursTimer = false;
    const err = await failure(
      new ShellyPlug({ url: fake.url, password: GEN1_PASSWORD, http }).cycle(30, never),
    );
    expect(err.code).toBe('PLUG_BAD_ANSWER');
    expect(err.message).toContain('did not start its 30 s timer');
  });

  it('a Gen2 address/404 says to use shelly_rpc', async () => {
    const clock = new ManualClock();
    const gen2 = await startFakeShellyGen2({ clock });
    cleanups.push(() => gen2.close());
    const err = await failure(new ShellyPlug({ url: gen2.url, http }).cycle(30, never));
    expect(err.code).toBe('PLUG_BAD_ANSWER');
    expect(err.message).toContain('plug_type shelly_rpc');
  });
});

describe('shelly_rpc (Gen2+)', () => {
  /** A Gen2 fake; `null` = no password set on the device. */
  async function gen2(password: string | null = GEN2_PASSWORD) {
    const clock = new ManualClock();
    const fake = await startFakeShellyGen2({ clock, ...(password !== null ? { password } : {}) });
    cleanups.push(() => fake.close());
    return { clock, fake };
  }

  it('cycle/SHA-256 digest challenge answered/Switch.Set on=false toggle_after=30, off for 30 s, ends on', async () => {
    const { clock, fake } = await gen2();
    const plug = new ShellyRpcPlug({ url: fake.url, password: GEN2_PASSWORD, http });
    expect(plug.timing).toBe('self_timed');

    const outcome = await plug.cycle(30, never);
    expect(outcome).toMatchObject({ confirmed: true });
    expect(fake.stats.authenticated).toBe(1);
    const [challenged, answered] = fake.requests;
    expect(challenged?.headers.authorization).toBeUndefined();
    expect(answered?.target).toBe('/rpc/Switch.Set?id=0&on=false&toggle_after=30');
    expect(String(answered?.headers.authorization)).toMatch(
      new RegExp(`^Digest username="admin", realm="${fake.deviceId}", .*algorithm=SHA-256`),
    );
    expect(String(answered?.headers.authorization)).not.toContain(GEN2_PASSWORD);
    expect(fake.relay.on).toBe(false);

    await clock.advance(30_000);
    expect(fake.relay.on).toBe(true);
    expect(fake.relay.offSpansMs()).toEqual([30_000]);
  });

  it('on/on=true through the digest login', async () => {
    const { fake } = await gen2();
    fake.relay.set(false);
    const plug = new ShellyRpcPlug({ url: fake.url, password: GEN2_PASSWORD, http });
    expect((await plug.on(never)).confirmed).toBe(true);
    expect(fake.relay.on).toBe(true);
    expect(fake.requests.at(-1)?.target).toBe('/rpc/Switch.Set?id=0&on=true');
  });

  it('wrong password/the digest answer is refused: PLUG_REFUSED naming plug_password, no secret', async () => {
    const { fake } = await gen2();
    const plug = new ShellyRpcPlug({ url: fake.url, password: 'not-the-Passw0rd', http });
    const err = await failure(plug.cycle(30, never));
    expect(err.code).toBe('PLUG_REFUSED');
    expect(err.message).toContain('plug_password');
    expect(err.message).not.toContain('not-the-Passw0rd');
    expect(fake.stats.authenticated).toBe(0);
    expect(fake.requests).toHaveLength(2);
    expect(fake.relay.changes).toEqual([]);
  });

  it('protected device, no password set/PLUG_REFUSED saying to set plug_password', async () => {
    const { fake } = await gen2();
    const err = await failure(new ShellyRpcPlug({ url: fake.url, http }).cycle(30, never));
    expect(err.code).toBe('PLUG_REFUSED');
    expect(err.message).toMatch(/set plug_password/);
    expect(fake.relay.changes).toEqual([]);
  });

  it('unprotected device/one request, no Authorization header', async () => {
    const { fake } = await gen2(null);
    const plug = new ShellyRpcPlug({ url: fake.url, password: GEN2_PASSWORD, http });
    expect((await plug.cycle(45, never)).confirmed).toBe(true);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.headers.authorization).toBeUndefined();
    expect(fake.requests[0]?.target).toBe('/rpc/Switch.Set?id=0&on=false&toggle_after=45');
  });
});

describe('shelly plugs that cannot answer', () => {
  const drivers = [
    ['shelly', (url: string) => new ShellyPlug({ url, password: GEN1_PASSWORD, http })],
    ['shelly_rpc', (url: string) => new ShellyRpcPlug({ url, password: GEN2_PASSWORD, http })],
  ] as const;

  it.each(drivers)('%s/offline (closed port)/PLUG_UNREACHABLE naming plug_url', async (_name, make) => {
    const port = await freePort();
    const err = await failure(make(`http://127.0.0.1:${port}`).cycle(30, never));
    expect(err.code).toBe('PLUG_UNREACHABLE');
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.message).toContain('plug_url');
  });

  it.each(drivers)('%s/hung (never answers)/PLUG_TIMEOUT within the deadline', async (_name, make) => {
    const hung = await startHttpFake(() => {});
    hung.hang = true;
    cleanups.push(() => hung.close());
    const started = performance.now();
    const err = await failure(make(hung.url).cycle(30, never));
    const elapsed = performance.now() - started;
    expect(err.code).toBe('PLUG_TIMEOUT');
    expect(err.message).toContain(`did not answer within ${TIMEOUT_MS} ms`);
    expect(err.message).toContain('http_timeout_ms');
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1500);
    await until(() => hung.requests.length === 1, 'the request at the hung plug');
  });
});
