/**
 * One storm against a fresh agent (world.ts), measured: the agent's RSS sampled from /proc every
 * 100 ms, the power cycles at the plug, the Cloudflare calls and DNS cycles at the fake, the probe
 * rounds at the router, the log volume, and what came back for every command. The public IP
 * changes twice during the storm, so the coalesced syncs have something to write.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectDevice, endClient } from '../fakes/plugs/broker.js';
import type { LogLine } from '../helpers/agent-process.js';
import { until } from '../helpers/world.js';
import { agentPool, newTally, storm } from './load.js';
import { BASE, HTTP_TOKEN, RECORDS, startStormWorld } from './world.js';

const MB = 1024 * 1024;
const mb = (b: number) => Number((b / MB).toFixed(1));

export interface StormSummary {
  rate: { mqtt: number; http: number };
  http_connections: number;
  seconds: number;
  mqtt_sent: number;
  mqtt_send_errors: number;
  mqtt_answered: number;
  http_sent: number;
  http_answered: number;
  http_status: Record<string, number>;
  /** Requests whose connection the agent closed or reset without an answer, by client error code. */
  http_no_answer: Record<string, number>;
  /** Answers per second the agent gave on HTTP while the storm lasted. */
  http_answers_per_s_during_storm: number;
  drain_ms_after_last_send: number;
  rss_baseline_mb: number;
  rss_peak_mb: number;
  rss_peak_growth_mb: number;
  rss_end_mb: number;
  /** RSS at each second from the storm's start (MB), until the last answer. */
  rss_by_second_mb: number[];
  power_cycles: number;
  power_cycle_events: number;
  cloudflare_api_calls: number;
  cloudflare_calls: string[];
  /** DNS cycles from the storm's start to the last answer (DoH queries / records). */
  dns_cycles: number;
  dns_cycle_window_s: number;
  ip_changed_events: number;
  probe_rounds: number;
  log_mb: number;
  /** Agent log lines that speak of dropped or refused connections (load shedding said). */
  shedding_lines: string[];
  healthz: number;
  records_hold_the_ip: boolean;
  agent_running: boolean;
}

export async function runStorm(o: {
  /** Commands a second on each face. */
  rate: { mqtt: number; http: number };
  seconds: number;
  httpConnections: number;
  /** Where the summary is written, under test-output/. */
  name: string;
}): Promise<StormSummary> {
  const w = await startStormWorld('81.2.69.160');
  const pool = agentPool(w.httpUrl, o.httpConnections);
  const client = await connectDevice(w.broker.url, 'storm-sender');
  try {
    const started = (re: RegExp, what: string) =>
      w.agent.waitForLog((l: LogLine) => re.test(String(l.msg)), what, 20_000);
    await started(/^HTTP server listening/, 'the HTTP server');
    await started(/^Watchdog started/, 'the watchdog');
    await until(() => w.cf.dohRequests.length >= RECORDS.length, 'the first DNS cycle', 20_000);
    await until(() => w.broker.on((t) => t === `${BASE}/state`).length > 0, 'the first state', 20_000);

    const rss: number[] = [];
    const bySecond: number[] = [];
    let began = Date.now();
    const sample = () => {
      const b = w.agent.rssBytes();
      if (b === null) return;
      rss.push(b);
      const second = Math.floor((Date.now() - began) / 1000);
      if (second >= 0 && bySecond[second] === undefined) bySecond[second] = mb(b);
    };
    sample();
    const baseline = rss[0]!;
    const sampler = setInterval(sample, 100);
    w.cf.clearLog();
    w.broker.published.length = 0;
    const routerBefore = w.router.connections;
    const logBefore = w.agent.stdout().length;
    const ipChanges = [
      setTimeout(() => (w.ip = '81.2.69.161'), (o.seconds * 1000) / 3),
      setTimeout(() => (w.ip = '81.2.69.162'), (o.seconds * 2000) / 3),
    ];
    const tally = newTally();
    began = Date.now();
    await storm({
      mqtt: client,
      base: BASE,
      token: HTTP_TOKEN,
      rate: o.rate,
      seconds: o.seconds,
      tally,
      pool,
    });
    const sent = Date.now();
    const answeredDuringStorm = [...tally.httpStatus.values()].reduce((a, b) => a + b, 0);
    const results = () =>
      w.broker.published.filter((m) => m.topic === `${BASE}/command/result` && m.clientId !== 'storm-sender');
    await until(
      () => (results().length >= tally.mqttSent && tally.httpPending === 0) || !w.agent.running(),
      'every answer',
      180_000,
    ).catch(() => undefined);
    const drained = Date.now();
    clearInterval(sampler);
    for (const t of ipChanges) clearTimeout(t);
    sample();

    const healthz = await fetch(`${w.httpUrl}/healthz`).then(
      (r) => r.status,
      () => 0,
    );
    const events = w.broker.published
      .filter((m) => m.topic === `${BASE}/event`)
      .map((m) => JSON.parse(m.payload) as { type: string });
    const peak = Math.max(...rss);
    const log = w.agent.stdout().slice(logBefore);
    const summary: StormSummary = {
      rate: o.rate,
      http_connections: o.httpConnections,
      seconds: Number(tally.seconds.toFixed(1)),
      mqtt_sent: tally.mqttSent,
      mqtt_send_errors: tally.mqttSendErrors,
      mqtt_answered: results().length,
      http_sent: tally.httpSent,
      http_answered: [...tally.httpStatus.values()].reduce((a, b) => a + b, 0),
      http_status: Object.fromEntries(tally.httpStatus),
      http_no_answer: Object.fromEntries(tally.httpErrors),
      http_answers_per_s_during_storm: Math.round(answeredDuringStorm / tally.seconds),
      drain_ms_after_last_send: drained - sent,
      rss_baseline_mb: mb(baseline),
      rss_peak_mb: mb(peak),
      rss_peak_growth_mb: mb(peak - baseline),
      rss_end_mb: mb(rss.at(-1)!),
      rss_by_second_mb: bySecond.filter((x) => x !== undefined),
      power_cycles: w.plug.relay.changes.filter((c) => !c.on).length,
      power_cycle_events: events.filter((e) => e.type === 'power_cycle_started').length,
      cloudflare_api_calls: w.cf.requests.length,
      cloudflare_calls: w.cf.requests.map((r) => `${r.method} ${r.path.replace(/[0-9a-f]{32}/g, ':id')}`),
      dns_cycles: Math.ceil(w.cf.dohRequests.length / RECORDS.length),
      dns_cycle_window_s: Number(((drained - began) / 1000).toFixed(1)),
      ip_changed_events: events.filter((e) => e.type === 'ip_changed').length,
      probe_rounds: w.router.connections - routerBefore,
      log_mb: mb(log.length),
      shedding_lines: log
        .split('\n')
        .filter((l) => /drop|shed|too many|connection limit|max.?connections/i.test(l))
        .slice(0, 5),
      healthz,
      records_hold_the_ip: RECORDS.every((n) => w.cf.records({ name: n })[0]?.content === w.ip),
      agent_running: w.agent.running(),
    };
    console.log(`storm summary (${o.name}):\n${JSON.stringify(summary, null, 2)}`);
    const out = join(import.meta.dirname, '..', '..', 'test-output');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `storm-${o.name}.json`), `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  } finally {
    await endClient(client);
    await pool.close();
    await w.close();
  }
}
