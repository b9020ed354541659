/**
 * MQTT benchmark against an in-process aedes broker on 127.0.0.1:
 * - command → result latency over 1,000 commands (p50/p99), for a command answered without I/O
 *   (`probe`, refused while recovery is not configured: parsing + bridge + MQTT round trip) and for
 *   `sync` (each one runs a full DNS cycle against the loopback fakes). Triggered cycles keep a
 *   5 s gap in the agent (SPEC §6), so 1,000 `sync` commands one after the other would measure the
 *   gap, not the work: this measurement injects a gap of 0, as before the gap existed;
 * - a `sync` flood with the real 5 s gap: 1,000 commands sent at once, every one answered, and how
 *   many DNS cycles that took (the agent's clock is simulated and moved on by the benchmark);
 * - process start → first discovery publish, spawning the real executable (dist/bin.js).
 * Figures are printed; nothing here fails on timing.
 */
import { spawn } from 'node:child_process';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedBroker } from '../src/mqtt/broker.js';
import { DEFAULT_TRIGGER_GAP_MS } from '../src/scheduler.js';
import { BIN, loopbackEnv } from '../test/helpers/env.js';
import { logSink } from '../test/helpers/log-sink.js';
import { makeWorld } from '../test/helpers/world.js';

const lines: string[] = [];

function stats(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return `n=${s.length} p50=${q(0.5).toFixed(2)} ms p90=${q(0.9).toFixed(2)} ms p99=${q(0.99).toFixed(2)} ms max=${s[s.length - 1]!.toFixed(2)} ms`;
}

async function commandLatency(command: string, count: number): Promise<number[]> {
  const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, logger: logSink().logger });
  const world = await makeWorld({
    records: ['home.example.com'],
    mqtt: { kind: 'url', url: broker.url, source: 'config' },
    triggerGapMs: 0, // one cycle per command: the cost of the work, not of the gap
  });
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
  (client.stream as unknown as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
  try {
    await world.agent.start();
    await world.agent.sync('warm-up');
    const pending = new Map<string, (t: number) => void>();
    client.on('message', (_topic, payload) => {
      const r = JSON.parse(payload.toString()) as { transaction?: string };
      if (r.transaction) pending.get(r.transaction)?.(performance.now());
    });
    await client.subscribeAsync('ddns-watchdog/command/result', { qos: 1 });
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
      const id = `b${i}`;
      const done = new Promise<number>((resolve) => pending.set(id, resolve));
      const t0 = performance.now();
      await client.publishAsync(`ddns-watchdog/command/${command}`, JSON.stringify({ transaction: id }), {
        qos: 1,
      });
      samples.push((await done) - t0);
      pending.delete(id);
    }
    return samples;
  } finally {
    await client.endAsync(true);
    await world.close();
    await broker.close();
  }
}

/** 1,000 `sync` commands published at once with the real gap: all answered, in how many cycles. */
async function syncFlood(count: number): Promise<{ ms: number; cycles: number; simulatedMs: number }> {
  const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, logger: logSink().logger });
  const world = await makeWorld({
    records: ['home.example.com'],
    mqtt: { kind: 'url', url: broker.url, source: 'config' },
    triggerGapMs: DEFAULT_TRIGGER_GAP_MS,
  });
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
  (client.stream as unknown as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
  try {
    await world.agent.start();
    await world.agent.sync('warm-up');
    // Start from a quiet period, as a flood arriving out of the blue would.
    await world.clock.advance(DEFAULT_TRIGGER_GAP_MS);
    const answered = new Set<string>();
    client.on('message', (_topic, payload) => {
      const r = JSON.parse(payload.toString()) as { transaction?: string; ok?: boolean };
      if (r.transaction && r.ok) answered.add(r.transaction);
    });
    await client.subscribeAsync('ddns-watchdog/command/result', { qos: 1 });
    const cycles0 = world.agent.scheduler.cycles;
    const clock0 = world.clock.now();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        client.publishAsync('ddns-watchdog/command/sync', JSON.stringify({ transaction: `f${i}` }), {
          qos: 1,
        }),
      ),
    );
    // The commands held by the gap wait on the agent's (simulated) clock: move it on until all are in.
    while (answered.size < count) {
      await world.clock.advance(500);
      await new Promise((r) => setTimeout(r, 5));
    }
    return {
      ms: performance.now() - t0,
      cycles: world.agent.scheduler.cycles - cycles0,
      simulatedMs: world.clock.now() - clock0,
    };
  } finally {
    await client.endAsync(true);
    await world.close();
    await broker.close();
  }
}

async function startToDiscovery(): Promise<number> {
  const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, logger: logSink().logger });
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
  await client.subscribeAsync('homeassistant/device/+/config', { qos: 1 });
  const seen = new Promise<number>((resolve) => client.once('message', () => resolve(performance.now())));
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, 'run'], {
    env: loopbackEnv({ MQTT_URL: broker.url }),
    stdio: 'ignore',
  });
  try {
    return (await seen) - t0;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await client.endAsync(true);
    await broker.close();
  }
}

describe('MQTT benchmark (aedes on loopback)', () => {
  it('command → result latency, probe (no I/O behind it), 1,000 commands', async () => {
    const samples = await commandLatency('probe', 1000);
    expect(samples).toHaveLength(1000);
    lines.push(`probe command → result: ${stats(samples)}`);
  });

  it('command → result latency, sync (a full DNS cycle each, gap 0 injected), 1,000 commands', async () => {
    const samples = await commandLatency('sync', 1000);
    expect(samples).toHaveLength(1000);
    lines.push(`sync command → result, gap 0 (includes IP detection + DoH + state save): ${stats(samples)}`);
  });

  it('sync flood with the 5 s gap: 1,000 commands at once, every one answered', async () => {
    const r = await syncFlood(1000);
    expect(r.cycles).toBeLessThanOrEqual(3);
    lines.push(
      `sync flood, ${DEFAULT_TRIGGER_GAP_MS / 1000} s gap: 1,000 commands at once → ${r.cycles} DNS cycle(s), all answered; ${r.ms.toFixed(0)} ms wall time (${(r.simulatedMs / 1000).toFixed(1)} s on the agent's clock)`,
    );
  });

  it('process start → first discovery publish, 5 starts', async () => {
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) samples.push(await startToDiscovery());
    lines.push(`process start → first discovery publish: ${stats(samples)}`);
  });

  afterAll(() => {
    process.stdout.write(`\nMQTT benchmark\n${lines.map((l) => `  ${l}`).join('\n')}\n\n`);
  });
});
