/**
 * A simulated world on loopback for end-to-end DNS tests: a fake Cloudflare API + DoH server,
 * three fake IP echo services, and an Agent wired to them with a manual clock.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { ManualClock } from '../fakes/clock.js';
import { FakeCloudflare } from '../fakes/cloudflare.js';
import { startEchoServer } from '../fakes/ip-echo.js';
import { logSink } from './log-sink.js';

export const TOKEN = 'cf-test-token-7d1e0c5a9b3f2e4d6c8a';

export interface World {
  cf: FakeCloudflare;
  zoneId: string;
  clock: ManualClock;
  agent: Agent;
  config: Config;
  sink: ReturnType<typeof logSink>;
  /** What every IP echo service answers from now on. */
  setIp(ip: string): void;
  /** Per-source answers (index = source). */
  setAnswers(answers: Array<string | { status?: number; body: string }>): void;
  ipSourceUrls: string[];
  /** Forgets every fake's request log (long benchmarks). */
  clearLogs(): void;
  stateDir: string;
  close(): Promise<void>;
}

/** A full Config from the real loader, pointed at loopback, with overrides on top. */
export async function loopbackConfig(
  env: Record<string, string>,
  overrides: Partial<Config> = {},
): Promise<Config> {
  const { config } = await loadConfig({ env, isTTY: false, addonOptionsPath: '/nonexistent/options.json' });
  return { ...config, ...overrides };
}

export async function makeWorld(
  options: {
    records?: string[];
    overrides?: Partial<Config>;
    token?: string | null;
    ip?: string;
    zones?: string[];
    sources?: number;
    /** MQTT target for the agent; none by default. */
    mqtt?: import('../../src/supervisor.js').MqttTarget;
    /** Gap between triggered cycles; 0 by default (tests here sync back to back; the gap has its own tests). */
    triggerGapMs?: number;
  } = {},
): Promise<World> {
  const cf = await FakeCloudflare.start({ token: TOKEN });
  const zones = options.zones ?? ['example.com'];
  const zoneIds = zones.map((z) => cf.addZone(z));
  let answers: Array<string | { status?: number; body: string }> = [];
  let ip = options.ip ?? '81.2.69.160';
  const servers = await Promise.all(
    Array.from({ length: options.sources ?? 3 }, (_, i) =>
      startEchoServer(() => {
        const a = answers[i];
        if (a === undefined) return { body: ip };
        return typeof a === 'string' ? { body: a } : a;
      }),
    ),
  );
  const stateDir = await mkdtemp(join(tmpdir(), 'ddnsw-world-'));
  const clock = new ManualClock();
  const sink = logSink({ secrets: [TOKEN] });
  const env: Record<string, string> = {
    RECORDS: (options.records ?? ['home.example.com']).join(','),
    CLOUDFLARE_API_URL: cf.apiUrl,
    DOH_URL: cf.dohUrl,
    IP_SOURCES: servers.map((s) => s.url).join(','),
    IP_SOURCES_V6: servers.map((s) => s.url).join(','),
    STATE_DIR: stateDir,
    ROUTER_HOST: '',
    WAN_TARGETS: '127.0.0.1:9',
    HTTP_TIMEOUT_MS: '2000',
    MIN_UPDATE_INTERVAL_SECONDS: '0',
  };
  if (options.token !== null) env.CLOUDFLARE_API_TOKEN = options.token ?? TOKEN;
  const config = await loopbackConfig(env, options.overrides ?? {});
  const agent = await Agent.create({
    config,
    logger: sink.logger,
    clock,
    random: () => 0.5,
    mqtt: options.mqtt ?? false,
    triggerGapMs: options.triggerGapMs ?? 0,
  });
  return {
    cf,
    zoneId: zoneIds[0]!,
    clock,
    agent,
    config,
    sink,
    stateDir,
    ipSourceUrls: servers.map((s) => s.url),
    clearLogs: () => {
      cf.clearLog();
      for (const s of servers) s.clearLog();
      sink.clear();
    },
    setIp: (v) => {
      ip = v;
      answers = [];
    },
    setAnswers: (a) => {
      answers = a;
    },
    close: async () => {
      await agent.stop({ graceMs: 0 });
      await Promise.all(servers.map((s) => s.close()));
      await cf.close();
    },
  };
}
