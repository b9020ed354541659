/**
 * `ddns-watchdog demo` (composition root): the whole agent — DNS, MQTT with the embedded broker,
 * the watchdog with a Tasmota plug, the HTTP status page — against a simulated world on 127.0.0.1
 * (src/demo/), telling a short story on a timeline in well under a minute. `--forever` keeps the
 * world going afterwards, for Home Assistant or Node-RED to watch. Nothing leaves loopback: the
 * configuration is built from the world's endpoints through the real loader, then checked — any
 * endpoint that is not on loopback stops the demo before the agent exists. State lives in a temp
 * folder, removed at the end. Exit codes: 0 done (or stopped by Ctrl+C), 2 a step did not happen.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from './agent.js';
import { type Clock, type Random, systemClock, systemRandom } from './clock.js';
import type { Config } from './config/schema.js';
import { DEMO_CA_CERT } from './demo/certs.js';
import {
  buildDemoConfig,
  DEMO_BASE_TOPIC,
  DEMO_DISCOVERY_PREFIX,
  DEMO_PLUG_TOPIC,
  DEMO_TIMINGS,
  nonLoopbackProblems,
} from './demo/config.js';
import { freePort } from './demo/http-service.js';
import { keepGoing, StoryStalled, StoryStopped, summary, tellStory } from './demo/story.js';
import { createTimeline, logTap, type Timeline, wantsColor } from './demo/timeline.js';
import { type DemoWorld, startDemoWorld } from './demo/world.js';
import { errorMessage } from './errors.js';
import { createLogger } from './log.js';
import type { ProcessSignals } from './main.js';
import { redactText, secretValues } from './redact.js';

export interface DemoOptions {
  env: NodeJS.ProcessEnv;
  /** Keep the world going after the story until stopped. */
  forever?: boolean;
  /** Where SIGINT/SIGTERM go (bin.ts routes them); they stop the demo cleanly. */
  signals?: ProcessSignals;
  /** Where the timeline goes (default stdout). */
  write?: (text: string) => void;
  /** Where problems go (default stderr). */
  writeError?: (text: string) => void;
  /**
   * Test-only: changes to the configuration the demo builds, to prove that the loopback check
   * refuses anything else. Never set by the CLI.
   */
  overrides?: Partial<Config>;
  clock?: Clock;
  random?: Random;
}

/** Ports asked for with --forever, so a Home Assistant set up once finds the demo again. */
const FOREVER_PORTS = { broker: 1883, http: 8080 } as const;

export async function runDemo(o: DemoOptions): Promise<number> {
  const clock = o.clock ?? systemClock;
  const random = o.random ?? systemRandom;
  const write = o.write ?? ((text: string) => void process.stdout.write(text));
  const writeError = o.writeError ?? ((text: string) => void process.stderr.write(text));
  const timeline = createTimeline({
    clock,
    write,
    color: wantsColor(process.stdout, o.env),
    width: process.stdout.isTTY ? process.stdout.columns : 100,
  });
  const stop = new AbortController();
  o.signals?.handle((signal) => {
    if (stop.signal.aborted) return;
    timeline.say(`\nReceived ${signal}: stopping the demo (the agent, then the world).`);
    stop.abort();
  });

  const stateDir = await mkdtemp(join(tmpdir(), 'ddns-watchdog-demo-'));
  let world: DemoWorld | null = null;
  let agent: Agent | null = null;
  let secrets: string[] = [];
  try {
    const token = `demo-${randomBytes(16).toString('hex')}`;
    const w = await startDemoWorld({ clock, token, say: (text) => timeline.line('world', text) });
    world = w;
    const brokerPort = await freePort(o.forever ? FOREVER_PORTS.broker : undefined);
    let httpPort = await freePort(o.forever ? FOREVER_PORTS.http : undefined);
    while (httpPort === brokerPort) httpPort = await freePort();
    const built = await buildDemoConfig({
      cloudflareApiUrl: w.cloudflare.apiUrl,
      dohUrl: w.cloudflare.dohUrl,
      ipSources: w.ipEcho.urls,
      routerHost: w.router.host,
      routerPort: w.router.port,
      wanTargets: w.wan.targets,
      brokerPort,
      httpPort,
      stateDir,
      token,
    });
    const config: Config = { ...built, ...o.overrides };
    secrets = secretValues(config);
    const problems = nonLoopbackProblems(config);
    if (problems.length > 0) {
      writeError(
        `The demo refused to start: its configuration would reach beyond this machine:\n${problems.map((p) => `  - ${p}`).join('\n')}\nThis is a bug in the demo; please report it with these lines.\n`,
      );
      return 2;
    }
    const brokerUrl = `mqtt://127.0.0.1:${brokerPort}`;
    const pageUrl = `http://127.0.0.1:${httpPort}/`;
    banner(timeline, config, w, brokerUrl, pageUrl);

    const logger = createLogger({ level: 'info', destination: logTap(timeline, clock), secrets });
    // env {}: no add-on detection (the Supervisor is never asked); the demo CA for the WAN targets.
    const running = await Agent.create({
      config,
      logger,
      clock,
      random,
      env: {},
      probes: { ca: DEMO_CA_CERT },
    });
    agent = running;
    const ctx = { world: w, agent: running, timeline, clock, random, signal: stop.signal };
    await tellStory(ctx, async () => {
      await running.start();
      if (!running.http) throw new Error(`the status page could not listen on ${pageUrl}`);
      await w.connectPlug(brokerUrl);
    });
    timeline.chapter(`Done in ${(timeline.elapsedMs() / 1000).toFixed(1)} s`);
    timeline.say(summary(ctx));
    if (o.forever) {
      foreverHelp(timeline, brokerUrl, pageUrl);
      await keepGoing(ctx);
    }
    return 0;
  } catch (err) {
    if (err instanceof StoryStopped || stop.signal.aborted) return 0;
    const why = err instanceof StoryStalled ? err.message : `it failed: ${errorMessage(err)}`;
    writeError(
      `The demo stopped early: ${redactText(why, secrets)}. On a busy machine a step can take longer; run it again, and if it keeps failing please report this line.\n`,
    );
    return 2;
  } finally {
    await agent?.stop({ graceMs: 500 });
    await world?.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}

function banner(
  timeline: Timeline,
  config: Config,
  world: DemoWorld,
  brokerUrl: string,
  pageUrl: string,
): void {
  const t = DEMO_TIMINGS;
  timeline.say(
    [
      'ddns-watchdog demo: the whole agent against a simulated world on 127.0.0.1 — no account, and',
      'no packet leaves this machine. The world: an ISP, three IP echo services, Cloudflare (API and',
      `DoH, zone ${world.cloudflare.zone}), a router (tcp ${world.router.host}:${world.router.port}) powered through Tasmota plug`,
      `${DEMO_PLUG_TOPIC}, and ${world.wan.targets.length} WAN targets (TLS). Records: ${config.records.map((r) => r.name).join(', ')}.`,
      `Compressed timings: probes every ${t.probe_interval_seconds} s, DNS every ${t.interval_seconds} s, a power cycle after ${t.wan_down_after_seconds} s of WAN`,
      `down (off ${t.power_off_seconds} s, then ${t.boot_grace_seconds} s of boot grace).`,
      `MQTT broker ${brokerUrl} (topics ${DEMO_BASE_TOPIC}/#) · status page ${pageUrl}`,
      `State in ${config.state_dir} (removed at the end). Ctrl+C stops the demo at any time.`,
    ].join('\n'),
  );
}

function foreverHelp(timeline: Timeline, brokerUrl: string, pageUrl: string): void {
  const base = DEMO_BASE_TOPIC;
  timeline.chapter('--forever: the world keeps changing until Ctrl+C');
  timeline.say(
    [
      `   MQTT broker   ${brokerUrl} (no login; listens on 127.0.0.1 only)`,
      `   status page   ${pageUrl}`,
      `   topics        ${base}/state (JSON, retained) · ${base}/event · ${base}/availability`,
      `                 ${base}/command/{sync,probe,reboot,recovery} → ${base}/command/result`,
      `                 ${DEMO_DISCOVERY_PREFIX}/device/ddns_watchdog_demo/config (Home Assistant discovery)`,
      '   Home Assistant: add the MQTT integration with this broker; the device "DDNS Watchdog demo" appears.',
      `   Node-RED: an "mqtt in" node on ${brokerUrl.replace('mqtt://', '')}, topic ${base}/#.`,
    ].join('\n'),
  );
}
