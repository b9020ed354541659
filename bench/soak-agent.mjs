// @ts-check
/**
 * The agent alone in a process, for bench/soak.bench.ts: built from dist/ (as `npm run bench`
 * builds first) with the configuration in the environment, like `ddns-watchdog run`, against the
 * loopback fakes that the benchmark runs in its own process. It runs SOAK_CYCLES DNS cycles back to
 * back (the trigger gap set to 0), asks the benchmark to change the public IP every 100 cycles,
 * and reports the process's memory and CPU time at checkpoints over IPC. At a checkpoint it rests
 * as the agent does between cycles (a forced GC, one second idle), so every checkpoint measures
 * the same thing. Never run by hand: every endpoint comes from the benchmark's environment.
 *
 * SOAK_SNAP=<path prefix> also writes heap snapshots at cycles 100 and 1,000 and at the last
 * (<prefix>-100.heapsnapshot, …) to compare in Chrome's DevTools.
 */
import { readFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import { Agent } from '../dist/agent.js';
import { loadConfig } from '../dist/config/load.js';
import { createLogger } from '../dist/log.js';

const CYCLES = Number(process.env.SOAK_CYCLES ?? 10_000);
const CHECKPOINTS = new Set([100, 500, ...Array.from({ length: CYCLES / 1000 }, (_, i) => (i + 1) * 1000)]);
const gc = /** @type {{ gc?: () => void }} */ (globalThis).gc;

/** @param {unknown} message */
function send(message) {
  return new Promise((resolve) => process.send?.(message, () => resolve(undefined)));
}

/** Waits for the benchmark's answer to the last request. */
function reply() {
  return new Promise((resolve) => process.once('message', resolve));
}

/** This process's resident memory split: private (anonymous) and file-backed (the node binary), bytes. */
function rssParts() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (/** @type {string} */ key) => Number(status.match(new RegExp(`${key}:\\s+(\\d+)`))?.[1] ?? 0) * 1024;
  return { anon: kib('RssAnon'), file: kib('RssFile') };
}

const { config } = await loadConfig({ env: process.env, isTTY: false });
// Lines go to stdout, which the benchmark discards: the cost of logging is part of the figure.
const logger = createLogger({ level: config.log_level, format: 'json' });
const agent = await Agent.create({ config, logger, triggerGapMs: 0 });
await agent.start();
let cpu0 = process.cpuUsage();
let cpuMs = 0;
for (let i = 1; i <= CYCLES; i++) {
  if (i % 100 === 0) {
    const answered = reply();
    await send({ type: 'ip', cycle: i });
    await answered;
  }
  await agent.sync('soak');
  if (CHECKPOINTS.has(i)) {
    const cpu = process.cpuUsage(cpu0);
    if (i > 100) cpuMs += (cpu.user + cpu.system) / 1000;
    gc?.();
    await new Promise((r) => setTimeout(r, 1000));
    gc?.();
    const m = process.memoryUsage();
    if (process.env.SOAK_SNAP && (i === 100 || i === 1000 || i === CYCLES)) {
      writeHeapSnapshot(`${process.env.SOAK_SNAP}-${i}.heapsnapshot`);
    }
    await send({
      type: 'checkpoint',
      cycle: i,
      rss: m.rss,
      ...rssParts(),
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      cpuMs,
      lastCycleOk: agent.lastCycle?.ok ?? false,
    });
    cpu0 = process.cpuUsage(); // the rest at a checkpoint is not a cycle's CPU time
  }
}
await agent.stop({ graceMs: 0 });
await send({ type: 'done' });
process.exit(0);
