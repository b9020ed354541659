import { type AddressInfo, createServer, type Server } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runWithDeadline } from '../../src/probes/round.js';
import { ROUTER_FALLBACK_PORT, RouterProbe } from '../../src/probes/router.js';
import { type PingStandIns, pingStandIns, processAlive } from '../fakes/ping/stand-ins.js';
import { freePort } from '../helpers/net.js';

const TIMEOUT_MS = 200;

let ping: PingStandIns;
let listener: Server;
let listenerPort: number;

beforeAll(async () => {
  listener = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', () => resolve()));
  listenerPort = (listener.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => listener.close(() => resolve()));
});
beforeEach(async () => {
  ping = await pingStandIns();
});
afterEach(async () => {
  await ping.remove();
});

function router(host = '127.0.0.1', extra: { fallbackPort?: number; env?: Record<string, string> } = {}) {
  return new RouterProbe({
    host,
    mode: 'icmp',
    timeoutMs: TIMEOUT_MS,
    env: extra.env ?? ping.env,
    ...(extra.fallbackPort ? { fallbackPort: extra.fallbackPort } : {}),
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, limitMs = 5000): Promise<void> {
  const until = performance.now() + limitMs;
  while (!(await check())) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('router probe by ping', () => {
  it('iputils/reply: ok with the latency from time=, one echo, its own wait, LC_ALL=C, no shell', async () => {
    await ping.write('iputils-reply');
    const probe = router('127.0.0.1', { env: { ...ping.env, LC_ALL: 'de_DE.UTF-8' } });
    const result = await runWithDeadline(probe, TIMEOUT_MS);
    expect(result).toEqual({
      target: '127.0.0.1',
      kind: 'icmp',
      ok: true,
      latencyMs: 0.512,
      failure: null,
      code: null,
    });
    expect(await ping.calls()).toEqual([
      { name: 'ping', lcAll: 'C', args: ['-c', '1', '-W', '1', '127.0.0.1'] },
    ]);
    expect(probe.takeNotices()).toEqual([]);
  });

  it('busybox/reply: ok with the latency from its reply line', async () => {
    await ping.write('busybox-reply');
    const result = await runWithDeadline(router(), TIMEOUT_MS);
    expect(result).toMatchObject({ ok: true, kind: 'icmp', latencyMs: 1.234, failure: null });
  });

  it('-W: the deadline in whole seconds, rounded up', async () => {
    await ping.write('iputils-reply');
    const probe = new RouterProbe({ host: '127.0.0.1', mode: 'icmp', timeoutMs: 2500, env: ping.env });
    await runWithDeadline(probe, 2500);
    expect((await ping.calls())[0]?.args).toEqual(['-c', '1', '-W', '3', '127.0.0.1']);
  });

  it('exit 1/no reply: a timeout that keeps the exit code', async () => {
    await ping.write('no-reply');
    const result = await runWithDeadline(router(), TIMEOUT_MS);
    expect(result).toEqual({
      target: '127.0.0.1',
      kind: 'icmp',
      ok: false,
      latencyMs: null,
      failure: 'timeout',
      code: 'EXIT_1',
    });
  });

  it.each(['net-unreachable', 'net-unreachable-slow'] as const)(
    'exit 2/%s: this host has no route, unreachable (so self_down), however long ping took',
    async (behaviour) => {
      await ping.write(behaviour);
      const result = await runWithDeadline(router(), 1000);
      // ping's "Network is unreachable" is the local routing table: the 50 ms timing rule for
      // socket errors does not apply (a Pi under load takes longer than that to start ping).
      expect(result).toMatchObject({ ok: false, code: 'ENETUNREACH', failure: 'unreachable' });
    },
  );

  it('hang: killed at the deadline with everything it started; a timeout', async () => {
    await ping.write('hang');
    const started = performance.now();
    const result = await runWithDeadline(router(), TIMEOUT_MS);
    const took = performance.now() - started;
    expect(result).toMatchObject({ ok: false, failure: 'timeout', latencyMs: null, kind: 'icmp' });
    expect(took).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(took).toBeLessThan(TIMEOUT_MS + 800);
    const child = await ping.hangChildPid();
    expect(child).not.toBeNull();
    await waitFor(
      'the stand-in\u2019s own child to be killed',
      async () => !(await processAlive(child as number)),
    );
  });
});

describe('router probe: ping cannot run here → TCP, said once', () => {
  it.each([
    ['iputils/operation not permitted', 'eperm' as const, 'EPERM'],
    ['busybox/are you root', 'busybox-eperm' as const, 'EPERM'],
  ])('%s', async (_name, behaviour, code) => {
    await ping.write(behaviour);
    const probe = router('127.0.0.1', { fallbackPort: listenerPort });
    const first = await runWithDeadline(probe, TIMEOUT_MS);
    expect(first).toMatchObject({
      target: `127.0.0.1:${listenerPort}`,
      kind: 'tcp',
      ok: true,
      failure: null,
    });
    expect(probe.kind).toBe('tcp');
    const notices = probe.takeNotices();
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ id: 'ping_unavailable', code });
    expect(notices[0]?.message).toContain(`TCP to port ${listenerPort} instead of ping`);
    expect(notices[0]?.message).toContain('router_probe: tcp:PORT');

    const second = await runWithDeadline(probe, TIMEOUT_MS);
    expect(second).toMatchObject({ kind: 'tcp', ok: true });
    expect(probe.takeNotices()).toEqual([]);
    expect(await ping.calls()).toHaveLength(1);
  });

  it('no ping binary: TCP; a closed port still counts as the router answering', async () => {
    const closed = await freePort();
    const probe = router('127.0.0.1', { fallbackPort: closed });
    const result = await runWithDeadline(probe, TIMEOUT_MS);
    expect(result).toMatchObject({
      target: `127.0.0.1:${closed}`,
      kind: 'tcp',
      ok: true,
      failure: 'refused',
      code: 'ECONNREFUSED',
    });
    const [notice] = probe.takeNotices();
    expect(notice).toMatchObject({ id: 'ping_unavailable', code: 'ENOENT' });
    expect(notice?.message).toContain('ping is not installed (ENOENT)');
    expect(notice?.message).toContain('Install ping');
  });

  it('ping not executable (EACCES): TCP', async () => {
    await ping.writeNotExecutable();
    const probe = router('127.0.0.1', { fallbackPort: listenerPort });
    expect(await runWithDeadline(probe, TIMEOUT_MS)).toMatchObject({ kind: 'tcp', ok: true });
    expect(probe.takeNotices()).toMatchObject([{ id: 'ping_unavailable', code: 'EACCES' }]);
  });

  it('default fallback port: 80', async () => {
    expect(ROUTER_FALLBACK_PORT).toBe(80);
    const probe = router('127.0.0.1');
    const result = await runWithDeadline(probe, TIMEOUT_MS);
    expect(result.target).toBe('127.0.0.1:80');
    expect(result.kind).toBe('tcp');
  });
});

describe('router probe by ping: IPv6 literals', () => {
  it('ping -6 when ping knows it', async () => {
    await ping.write('iputils-reply');
    const result = await runWithDeadline(router('::1'), TIMEOUT_MS);
    expect(result).toMatchObject({ target: '::1', kind: 'icmp', ok: true, latencyMs: 0.512 });
    expect(await ping.calls()).toEqual([
      { name: 'ping', lcAll: 'C', args: ['-6', '-c', '1', '-W', '1', '::1'] },
    ]);
  });

  it('ping6 where ping does not know -6, and straight to ping6 afterwards', async () => {
    await ping.write('no-dash-6');
    await ping.write('iputils-reply', 'ping6');
    const probe = router('::1');
    expect(await runWithDeadline(probe, TIMEOUT_MS)).toMatchObject({ ok: true, kind: 'icmp' });
    expect(await runWithDeadline(probe, TIMEOUT_MS)).toMatchObject({ ok: true, kind: 'icmp' });
    expect((await ping.calls()).map((c) => [c.name, ...c.args].join(' '))).toEqual([
      'ping -6 -c 1 -W 1 ::1',
      'ping6 -c 1 -W 1 ::1',
      'ping6 -c 1 -W 1 ::1',
    ]);
    expect(probe.takeNotices()).toEqual([]);
  });

  it('no ping6 either: TCP, said once', async () => {
    await ping.write('no-dash-6');
    const probe = router('::1', { fallbackPort: 9 });
    const result = await runWithDeadline(probe, TIMEOUT_MS);
    expect(result.kind).toBe('tcp');
    expect(result.target).toBe('[::1]:9');
    expect(probe.takeNotices()).toMatchObject([{ id: 'ping_unavailable', code: 'ENOENT' }]);
  });
});
