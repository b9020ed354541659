/**
 * Soak benchmark: the agent runs for months, so its memory must not grow with the number of
 * cycles. The agent runs alone in a child process (bench/soak-agent.mjs, built from dist/), so its
 * RSS is the agent's and not the benchmark's: 10,000 DNS cycles back to back (IP detection over
 * HTTP from three echo services, DoH for three records, the state file saved, the state published to
 * an aedes broker), the public IP changing every 100 cycles (a write each time), against the
 * loopback fakes in this process. It reports RSS and heap used (after a forced GC) at cycle 100 and
 * 10,000, and CPU time per DNS cycle between them.
 * Figures go to bench/results.ts; nothing fails on them.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startEmbeddedBroker } from '../src/mqtt/broker.js';
import { FakeCloudflare } from '../test/fakes/cloudflare.js';
import { startEchoServer } from '../test/fakes/ip-echo.js';
import { logSink } from '../test/helpers/log-sink.js';
import { TOKEN } from '../test/helpers/world.js';
import { fmt, record } from './results.js';

const CYCLES = Number(process.env.SOAK_CYCLES ?? 10_000);
const MIB = 1024 * 1024;
/**
 * The heap grows for the first few thousand cycles while V8 compiles the hot functions (the heap
 * snapshots differ by compiled code only, docs/benchmarks.md), so growth is judged over the second
 * half of the run: a leak of 100 B a cycle adds 0.5 MiB over 5,000 cycles; checkpoints of one run
 * differ by about 0.2 MiB.
 */
const LEAK_LIMIT_MIB = 0.5;

interface Checkpoint {
  type: 'checkpoint';
  cycle: number;
  rss: number;
  /** Private (anonymous) and file-backed resident memory. */
  anon: number;
  file: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  cpuMs: number;
  lastCycleOk: boolean;
}

describe('soak: the agent process over many cycles', () => {
  it(`${CYCLES.toLocaleString('en-US')} DNS cycles with MQTT publishing, IP change every 100`, async () => {
    const cf = await FakeCloudflare.start({ token: TOKEN });
    cf.addZone('example.com');
    let ip = '81.2.69.10';
    const echo = await Promise.all([0, 1, 2].map(() => startEchoServer(() => ({ body: ip }))));
    const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, logger: logSink().logger });
    const stateDir = await mkdtemp(join(tmpdir(), 'ddnsw-soak-'));
    let child: ChildProcess | undefined;
    try {
      child = fork(join(import.meta.dirname, 'soak-agent.mjs'), [], {
        // SOAK_NODE_FLAGS: node flags to try, e.g. --max-semi-space-size=1 (docs/benchmarks.md).
        execArgv: ['--expose-gc', ...(process.env.SOAK_NODE_FLAGS?.split(' ').filter(Boolean) ?? [])],
        // Everything the agent could reach is on loopback; nothing comes from this process's env.
        env: {
          PATH: process.env.PATH ?? '',
          SOAK_CYCLES: String(CYCLES),
          RECORDS: 'a.example.com,b.example.com,c.example.com',
          CLOUDFLARE_API_TOKEN: TOKEN,
          CLOUDFLARE_API_URL: cf.apiUrl,
          DOH_URL: cf.dohUrl,
          IP_SOURCES: echo.map((s) => s.url).join(','),
          IP_SOURCES_V6: echo.map((s) => s.url).join(','),
          ROUTER_HOST: '',
          WAN_TARGETS: '127.0.0.1:9',
          MQTT_URL: broker.url,
          STATE_DIR: stateDir,
          MIN_UPDATE_INTERVAL_SECONDS: '0',
          LOG_FORMAT: 'json',
          ...(process.env.SOAK_SNAP ? { SOAK_SNAP: process.env.SOAK_SNAP } : {}),
        },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      const checkpoints: Checkpoint[] = [];
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        child!.on('message', (m: { type: string; cycle?: number }) => {
          if (m.type === 'ip') {
            const n = (m.cycle ?? 0) / 100;
            ip = `81.2.${69 + Math.floor(n / 200)}.${(n % 200) + 10}`;
            cf.clearLog();
            for (const s of echo) s.clearLog();
            child!.send('ok');
          } else if (m.type === 'checkpoint') checkpoints.push(m as unknown as Checkpoint);
          else if (m.type === 'done') resolve();
        });
        child!.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`the soak agent exited with ${code}`)),
        );
      });
      const wallMs = performance.now() - t0;
      const at = (cycle: number) => checkpoints.find((c) => c.cycle === cycle)!;
      const first = at(100);
      const warm = at(Math.min(1000, CYCLES));
      const half = checkpoints.find((c) => c.cycle >= CYCLES / 2)!;
      const last = checkpoints[checkpoints.length - 1]!;
      expect(last.cycle).toBe(CYCLES);
      expect(last.lastCycleOk).toBe(true);
      expect(cf.records({ type: 'A' }).every((r) => r.content === ip)).toBe(true);
      const mib = (bytes: number) => fmt(bytes / MIB);
      const series = (key: 'rss' | 'heapUsed') =>
        checkpoints.map((c) => `${c.cycle}: ${mib(c[key])}`).join(', ');

      const later = checkpoints.filter((c) => c.cycle >= warm.cycle).map((c) => c.rss);
      const [low, high] = [Math.min(...later), Math.max(...later)];
      record('soak.rss', {
        value: last.rss / MIB,
        unit: 'MiB',
        shown: `${mib(first.rss)} at 100, ${mib(low)}–${mib(high)} from 1,000 on, ${mib(last.rss)} at the end (node binary ${mib(last.file)})`,
        target: '≤ 60 MB, no growth',
        met: high <= 60e6,
        extra: {
          cycles: CYCLES,
          rss_mib_by_cycle: series('rss'),
          anon_mib_end: last.anon / MIB,
          file_mib_end: last.file / MIB,
          heap_total_mib_end: last.heapTotal / MIB,
        },
      });
      const growth = (last.heapUsed - first.heapUsed) / MIB;
      const secondHalf = (last.heapUsed - half.heapUsed) / MIB;
      const signed = (n: number) => `${n >= 0 ? '+' : ''}${fmt(n, 2)}`;
      record('soak.heap', {
        value: secondHalf,
        unit: 'MiB',
        shown: `${mib(first.heapUsed)} → ${mib(last.heapUsed)} MiB (${signed(growth)}); second half ${signed(secondHalf)}`,
        target: `second half ≤ +${LEAK_LIMIT_MIB} MiB (100 B a cycle)`,
        met: secondHalf <= LEAK_LIMIT_MIB,
        extra: { heap_used_mib_by_cycle: series('heapUsed'), growth_from_100_mib: growth },
      });
      const perCycle = last.cpuMs / (CYCLES - 100);
      record('cpu.dns-cycle', {
        value: perCycle,
        unit: 'ms',
        shown: `${fmt(perCycle, 2)} ms (wall ${fmt(wallMs / CYCLES, 2)} ms a cycle with the fakes)`,
        target: '≤ 60 ms (0.1 % of a core at 60 s)',
        met: perCycle <= 60,
        extra: { cpu_ms_total: last.cpuMs, cycles: CYCLES - 100 },
      });
    } finally {
      child?.kill();
      await Promise.all(echo.map((s) => s.close()));
      await cf.close();
      await broker.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
