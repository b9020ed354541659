/**
 * Fault suite, the process (SPEC §7): the built agent (dist/bin.js, `npm test` builds it) run as a
 * user runs it, against the loopback fakes, and stopped by SIGTERM or killed by SIGKILL in the
 * middle of a DNS write (held at the fake Cloudflare) or of a power cycle (an HTTP plug between off
 * and on). SIGTERM: exit 0 within 5 s, the write abandoned and recorded as not done, the plug
 * switched on first. SIGKILL: the state file still loads; the next start finishes the job (the
 * verified IP written once, the plug switched on first). The five invariants hold for each run.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { FakeCloudflare } from '../fakes/cloudflare.js';
import { FakeHttpPlug } from '../fakes/http-plug.js';
import { type EchoServer, startEchoServer } from '../fakes/ip-echo.js';
import { loopbackEnv } from '../helpers/env.js';
import { freePort } from '../helpers/net.js';
import { type BinRun, runBin } from '../helpers/run-bin.js';
import { until } from '../helpers/world.js';
import { GOOD_IP, NEW_IP } from './fault-world.js';
import { expectNoWrongWrite, expectSaid, readSavedState } from './invariants.js';

const TOKEN = 'fault-suite-token-4c9e1a7b2d5f8e3a';
const NAME = 'home.example.com';
const OLD_IP = '81.2.69.1';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

interface Outside {
  cf: FakeCloudflare;
  sources: EchoServer[];
  /** What the IP services answer from now on. */
  setIp(ip: string): void;
  plug: FakeHttpPlug;
  stateDir: string;
}

/** Cloudflare with the record at an old address, three IP services saying GOOD_IP, an HTTP plug. */
async function outside(): Promise<Outside> {
  const cf = await FakeCloudflare.start({ token: TOKEN });
  cf.addZone('example.com');
  cf.addRecord({ name: NAME, type: 'A', content: OLD_IP, ttl: 60 });
  let ip = GOOD_IP;
  const sources = await Promise.all([0, 1, 2].map(() => startEchoServer(() => ip)));
  const plug = await FakeHttpPlug.start(systemClock);
  const stateDir = await mkdtemp(join(tmpdir(), 'ddnsw-faults-proc-'));
  cleanups.push(
    () => cf.close(),
    () => plug.close(),
    ...sources.map((s) => () => s.close()),
  );
  return {
    cf,
    sources,
    plug,
    stateDir,
    setIp: (v) => {
      ip = v;
    },
  };
}

/** A running agent process; `lines()` are its JSON log lines so far. */
interface Agent {
  child: ChildProcess;
  done: Promise<BinRun>;
  port: number;
  out: () => string;
  lines: () => Array<Record<string, unknown>>;
  waitFor: (re: RegExp, what: string) => Promise<void>;
}

async function spawnAgent(o: Outside, extra: Record<string, string> = {}): Promise<Agent> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let out = '';
  const done = runBin(
    ['run'],
    loopbackEnv({
      STATE_DIR: o.stateDir,
      RECORDS: NAME,
      CLOUDFLARE_API_TOKEN: TOKEN,
      CLOUDFLARE_API_URL: o.cf.apiUrl,
      DOH_URL: o.cf.dohUrl,
      IP_SOURCES: o.sources.map((s) => s.url).join(','),
      HTTP_TIMEOUT_MS: '10000',
      MIN_UPDATE_INTERVAL_SECONDS: '0',
      EMBEDDED_BROKER_PORT: String(port),
      LOG_LEVEL: 'debug',
      PLUG_TYPE: 'http',
      PLUG_OFF_URL: `${o.plug.url}/relay?turn=off`,
      PLUG_ON_URL: `${o.plug.url}/relay?turn=on`,
      RECOVERY_ENABLED: 'false',
      ...extra,
    }),
    {
      onSpawn: (c) => {
        child = c;
        c.stdout?.on('data', (d) => {
          out += String(d);
        });
      },
    },
  );
  cleanups.push(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await done;
  });
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    child: child!,
    done,
    port,
    out: () => out,
    lines,
    waitFor: (re, what) => until(() => lines().some((l) => re.test(String(l.msg))), what, 15_000),
  };
}

/** Presses Reboot over the agent's embedded broker, as Home Assistant's button does. */
async function pressReboot(a: Agent): Promise<void> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${a.port}`, {
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  try {
    await client.publishAsync('ddns-watchdog/command/reboot', 'PRESS', { qos: 1 });
  } finally {
    await client.endAsync(true);
  }
}

/** The invariants for a process that ended: its exit, its lines, the state file, DNS and the plug. */
async function expectProcessInvariants(
  o: Outside,
  run: BinRun,
  a: Agent,
  x: { exit: { code: number } | { signal: 'SIGKILL' }; said: RegExp[]; verified?: string[] },
): Promise<void> {
  // 2. No crash: exited the documented way (or was killed by the test), said nothing unhandled.
  if ('code' in x.exit) expect(run.code, run.stderr).toBe(x.exit.code);
  else expect(run.signal).toBe('SIGKILL');
  expect(run.stderr).not.toMatch(/unexpected error|Please report this/);
  expect(a.lines().filter((l) => Number(l.level) >= 60 || /This is a bug/.test(String(l.msg)))).toEqual([]);
  // 1. No wrong DNS write.
  expectNoWrongWrite(o.cf, { verified: x.verified ?? [GOOD_IP] });
  // 3. No lost state: the file loads with the agent's own schema.
  await readSavedState(o.stateDir);
  // 4. The router is never left off.
  expect(o.plug.ison, 'the plug (router power) was left off').toBe(true);
  // 5. A message says what happened.
  expectSaid(a.lines(), [], x.said);
}

describe('signals in the middle of a DNS write', () => {
  it('process/sigterm-mid-write/exit-0-within-5s-write-recorded-as-not-done-next-start-writes', async () => {
    const o = await outside();
    o.cf.failNext({ method: 'PATCH', hang: true });
    const a = await spawnAgent(o);
    await o.cf.waitForRequest((r) => r.method === 'PATCH', { timeoutMs: 15_000 });
    const t0 = Date.now();
    a.child.kill('SIGTERM');
    const run = await a.done;
    expect(Date.now() - t0).toBeLessThan(5_000);
    const saved = await readSavedState(o.stateDir);
    expect(saved.dns.records[`${NAME}/A`]?.status).not.toBe('in_sync');
    expect(o.cf.records({ name: NAME }).map((r) => r.content)).toEqual([OLD_IP]);
    await expectProcessInvariants(o, run, a, {
      exit: { code: 0 },
      said: [/Received SIGTERM; stopping/, /Stopped cleanly/],
    });

    // The next start writes the verified IP, once, to the same record.
    const b = await spawnAgent(o);
    await b.waitFor(/Updated A home\.example\.com/, 'the write after the restart');
    b.child.kill('SIGTERM');
    const run2 = await b.done;
    expect(o.cf.records({ name: NAME }).map((r) => r.content)).toEqual([GOOD_IP]);
    expect((await readSavedState(o.stateDir)).dns.records[`${NAME}/A`]).toMatchObject({
      status: 'in_sync',
      content: GOOD_IP,
    });
    await expectProcessInvariants(o, run2, b, {
      exit: { code: 0 },
      said: [/Updated A home\.example\.com from 81\.2\.69\.1 to 81\.2\.69\.160/],
    });
  });

  it('process/sigkill-mid-write/state-loads-next-start-writes-once-no-duplicate', async () => {
    const o = await outside();
    const a = await spawnAgent(o, { INTERVAL_SECONDS: '1', JITTER_SECONDS: '0' });
    await a.waitFor(/Updated A home\.example\.com from 81\.2\.69\.1 to 81\.2\.69\.160/, 'the first write');
    // The IP changes; the next cycle's write hangs at Cloudflare and the agent is killed meanwhile.
    o.cf.failNext({ method: 'PATCH', hang: true });
    o.setIp(NEW_IP);
    await o.cf.waitForRequest(
      (r) => r.method === 'PATCH' && (r.body as { content?: string })?.content === NEW_IP,
      {
        timeoutMs: 15_000,
      },
    );
    a.child.kill('SIGKILL');
    const run = await a.done;
    expect((await readSavedState(o.stateDir)).dns.records[`${NAME}/A`]).toMatchObject({
      content: GOOD_IP,
      record_id: o.cf.records({ name: NAME })[0]!.id,
    });
    await expectProcessInvariants(o, run, a, {
      exit: { signal: 'SIGKILL' },
      verified: [GOOD_IP, NEW_IP],
      // Lines still buffered at the kill are lost with the process: the first write's line is out.
      said: [/Updated A home\.example\.com from 81\.2\.69\.1 to 81\.2\.69\.160/],
    });

    const b = await spawnAgent(o);
    await b.waitFor(
      /Updated A home\.example\.com from 81\.2\.69\.160 to 81\.2\.69\.201/,
      'the write after the restart',
    );
    b.child.kill('SIGTERM');
    const run2 = await b.done;
    expect(o.cf.records({ name: NAME }).map((r) => r.content)).toEqual([NEW_IP]);
    // No listing needed: the record id came back from the state file.
    expect(o.cf.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/dns_records'))).toHaveLength(
      1,
    );
    await expectProcessInvariants(o, run2, b, {
      exit: { code: 0 },
      verified: [GOOD_IP, NEW_IP],
      said: [/Updated A home\.example\.com from 81\.2\.69\.160 to 81\.2\.69\.201/, /Stopped cleanly/],
    });
  });
});

describe('signals in the middle of a power cycle', () => {
  it('process/sigterm-while-the-router-is-off/plug-switched-on-before-exit-0', async () => {
    const o = await outside();
    const a = await spawnAgent(o, { POWER_OFF_SECONDS: '600' });
    await a.waitFor(/Watchdog started/, 'the watchdog');
    await a.waitFor(/Connected to the MQTT broker/, 'MQTT');
    await pressReboot(a);
    await until(() => o.plug.commands().includes('off'), 'the plug switched off', 10_000);
    const t0 = Date.now();
    a.child.kill('SIGTERM');
    const run = await a.done;
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(o.plug.commands()).toEqual(['off', 'on']);
    expect((await readSavedState(o.stateDir)).recovery?.current ?? null).toBeNull();
    await expectProcessInvariants(o, run, a, {
      exit: { code: 0 },
      said: [/off for \d+ s instead of 600 s, as the agent is stopping/, /Stopped cleanly/],
    });
  });

  it('process/sigkill-while-the-router-is-off/next-start-switches-the-plug-on-first', async () => {
    const o = await outside();
    const a = await spawnAgent(o, { POWER_OFF_SECONDS: '2' });
    await a.waitFor(/Watchdog started/, 'the watchdog');
    await a.waitFor(/Connected to the MQTT broker/, 'MQTT');
    await pressReboot(a);
    await until(() => o.plug.commands().includes('off'), 'the plug switched off', 10_000);
    a.child.kill('SIGKILL');
    const run = await a.done;
    expect(o.plug.ison).toBe(false); // killed with the router off …
    expect((await readSavedState(o.stateDir)).recovery?.current).toMatchObject({ phase: 'off' });

    const b = await spawnAgent(o, { POWER_OFF_SECONDS: '2' });
    await until(() => o.plug.ison, 'the plug switched on by the next start', 15_000); // … and on again
    await b.waitFor(/A power cycle left unfinished by a restart was completed/, 'the cycle completed');
    b.child.kill('SIGTERM');
    const run2 = await b.done;
    expect(o.plug.commands()).toEqual(['off', 'on']);
    expect((await readSavedState(o.stateDir)).recovery?.current ?? null).toBeNull();
    expect(run.signal).toBe('SIGKILL');
    await expectProcessInvariants(o, run2, b, {
      exit: { code: 0 },
      said: [/was unfinished when the agent stopped: switching the plug on .*so the router is not left off/],
    });
  });
});
