/**
 * Soak benchmark: the agent runs for months, so memory must not grow with the number of cycles.
 * Runs thousands of DNS cycles (IP detection over HTTP, DoH, state save, MQTT state publish to an
 * in-process aedes) against the loopback fakes, with an IP change every 100 cycles, and prints the
 * heap after a forced GC at checkpoints. Figures are printed; nothing fails on them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedBroker } from '../src/mqtt/broker.js';
import { logSink } from '../test/helpers/log-sink.js';
import { makeWorld } from '../test/helpers/world.js';

const CYCLES = Number(process.env.SOAK_CYCLES ?? 5000);
const lines: string[] = [];

function heapMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1048576;
}

describe('soak: memory over many cycles', () => {
  it(`${CYCLES} DNS cycles with MQTT publishing`, async () => {
    const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, logger: logSink().logger });
    const world = await makeWorld({
      records: ['a.example.com', 'b.example.com', 'c.example.com'],
      ...(process.env.SOAK_NO_MQTT
        ? {}
        : { mqtt: { kind: 'url' as const, url: broker.url, source: 'config' as const } }),
    });
    try {
      await world.agent.start();
      const checkpoints: Array<[number, number]> = [];
      const t0 = performance.now();
      for (let i = 1; i <= CYCLES; i++) {
        if (i % 100 === 0)
          world.setIp(`81.2.${69 + Math.floor(i / 25000)}.${(Math.floor(i / 100) % 200) + 10}`);
        await world.agent.sync('soak');
        if (i % 100 === 0) world.clearLogs(); // the fakes' request logs are not the agent's memory
        if (i === 500 || i % 1000 === 0) checkpoints.push([i, heapMiB()]);
      }
      const ms = performance.now() - t0;
      expect(world.cf.records({ type: 'A' })).toHaveLength(3);
      const gc = (globalThis as { gc?: unknown }).gc
        ? 'after forced GC'
        : 'no --expose-gc: without forced GC';
      lines.push(
        `heap used (${gc}): ${checkpoints.map(([n, h]) => `${n} cycles → ${h.toFixed(1)} MiB`).join(', ')}`,
      );
      const first = checkpoints[0]![1];
      const last = checkpoints[checkpoints.length - 1]![1];
      lines.push(
        `growth from cycle 500 to ${CYCLES}: ${(last - first).toFixed(2)} MiB (${((last / first - 1) * 100).toFixed(1)} %)`,
      );
      lines.push(`mean cycle time: ${(ms / CYCLES).toFixed(2)} ms`);
    } finally {
      await world.close();
      await broker.close();
    }
  });

  afterAll(() => {
    process.stdout.write(`\nSoak benchmark\n${lines.map((l) => `  ${l}`).join('\n')}\n\n`);
  });
});
