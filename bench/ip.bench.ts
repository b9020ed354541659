/**
 * What the WARP check costs (docs/ip-detection.md, "WARP veto"): detection latency with the default
 * shape of five sources (two Cloudflare traces, three plain echo services), ip_quorum 2,
 * http_timeout_ms 5000, when one plain source hangs (costs nothing) and when a trace source hangs
 * (costs at most the 500 ms settle window), and how often a WARP trace answering 50 ms after a plain
 * majority still vetoes. Figures are printed; nothing here fails on timing.
 */
import { afterAll, describe, it } from 'vitest';
import { detectPublicIp } from '../src/ip/detector.js';
import { closeFamilyDispatchers, HttpIpSource } from '../src/ip/http-source.js';
import { type EchoHandler, type EchoServer, startEchoServer, traceBody } from '../test/fakes/ip-echo.js';

const ROUNDS = 100;
const IP = '81.2.69.1';

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

type Kind = 'ok' | 'hung' | 'warp-late';

async function benchRow(what: string, traces: [Kind, Kind], plain: [Kind, Kind, Kind]): Promise<string> {
  const servers: EchoServer[] = [];
  const handler = (kind: Kind, trace: boolean): EchoHandler => {
    if (kind === 'hung') return () => ({ hang: true });
    if (!trace) return IP;
    if (kind === 'warp-late')
      return () => ({ body: traceBody(IP, '127.0.0.1', { warp: 'on' }), delayMs: 50 });
    return traceBody(IP, '127.0.0.1');
  };
  try {
    const urls: string[] = [];
    for (const kind of traces) {
      const s = await startEchoServer(handler(kind, true));
      servers.push(s);
      urls.push(`${s.url}cdn-cgi/trace`);
    }
    for (const kind of plain) {
      const s = await startEchoServer(handler(kind, false));
      servers.push(s);
      urls.push(s.url);
    }
    const sources = urls.map((url) => new HttpIpSource({ url, timeoutMs: 5000 }));
    const times: number[] = [];
    const outcomes = new Map<string, number>();
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = performance.now();
      const d = await detectPublicIp({ family: 4, sources, quorum: 2 });
      times.push(performance.now() - t0);
      const outcome = d.kind === 'verified' ? `verified ${d.ip}` : d.vetoed ? 'vetoed (WARP)' : 'unverified';
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    times.sort((a, b) => a - b);
    const shown = [...outcomes].map(([k, n]) => `${k} ${n}/${ROUNDS}`).join(', ');
    return `| ${what} | ${shown} | ${quantile(times, 0.5).toFixed(1)} | ${quantile(times, 0.99).toFixed(1)} |`;
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

describe('IP detection latency with trace sources (2 traces + 3 plain, ip_quorum 2)', () => {
  const rows: string[] = [];
  it('none hung; one plain hung; one or both traces hung; WARP traces 50 ms late', async () => {
    rows.push(await benchRow('none hung', ['ok', 'ok'], ['ok', 'ok', 'ok']));
    rows.push(await benchRow('1 plain hung', ['ok', 'ok'], ['hung', 'ok', 'ok']));
    rows.push(await benchRow('1 trace hung', ['hung', 'ok'], ['ok', 'ok', 'ok']));
    rows.push(await benchRow('2 traces hung', ['hung', 'hung'], ['ok', 'ok', 'ok']));
    rows.push(
      await benchRow('2 WARP traces 50 ms after 3 plain', ['warp-late', 'warp-late'], ['ok', 'ok', 'ok']),
    );
    await closeFamilyDispatchers();
  });
  afterAll(() => {
    const table = [
      '',
      `IP detection with trace sources (${ROUNDS} detections each; hung sources never answer, http_timeout_ms 5000)`,
      '| sources | outcome | p50 ms | p99 ms |',
      '|---|---|---|---|',
      ...rows,
      '',
    ].join('\n');
    process.stdout.write(`${table}\n`);
  });
});
