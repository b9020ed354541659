/**
 * redactText's growth curve (it runs on every log line and on config values of any length): the
 * time to redact 100 KiB, 1 MiB and 10 MiB of the shapes that were quadratic before the fix
 * (host-like text without `://`, a URL followed by a long run of dots) and a few others. Linear
 * means ×10 size → about ×10 time; the quadratic pattern gave ×100 (50 KB of `x.x.x.…` took
 * 2.6 s, a URL followed by 50,000 dots 10 s). Best of three runs per size; the worst ×10 growth
 * goes to bench/results.ts, every shape's times with it (results.json); nothing here fails on
 * timing (test/redact.test.ts checks the results on megabytes).
 */
import { describe, expect, it } from 'vitest';
import { redactText } from '../src/redact.js';
import { fmt, record } from './results.js';

const KIB = 1024;
const SIZES = [100 * KIB, 1024 * KIB, 10 * 1024 * KIB];

const SHAPES: ReadonlyArray<readonly [string, (n: number) => string]> = [
  ['host-like text, no URL (x.x.x.…)', (n) => 'x.'.repeat(n / 2)],
  ['a-a-a…, no URL', (n) => 'a-'.repeat(n / 2)],
  ['scheme characters, then ://', (n) => `${'a'.repeat(n)}://u:pw@h`],
  ['a URL, then dots', (n) => `https://h/p?k=pw${'.'.repeat(n)}x`],
  ['a URL of escaped quotes', (n) => `https://h/p?k=pw${'\\"'.repeat(n / 2)}x`],
  ['a URL with @ in its query', (n) => `https://h/p?${'@x'.repeat(n / 2)}`],
  ['many short URLs', (n) => 'a://u:pw@b '.repeat(Math.floor(n / 11))],
];

function bestOf3(text: string): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    redactText(text);
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

describe('redactText growth', () => {
  it('×10 size → about ×10 time for every shape', () => {
    const rows: Record<string, string> = {};
    let worst = 0;
    let slowest = 0;
    for (const [label, make] of SHAPES) {
      bestOf3(make(SIZES[0]!)); // warm up the JIT
      const times = SIZES.map((n) => bestOf3(make(n)));
      const ratio = times[2]! / Math.max(times[1]!, 0.01);
      rows[label] = `${times.map((t) => `${t.toFixed(2)} ms`).join(' / ')}, ×${ratio.toFixed(1)} for ×10`;
      // A shape redacted in under a millisecond at 10 MiB is linear at least; its ratio is timer noise.
      if (times[2]! >= 1) worst = Math.max(worst, ratio);
      slowest = Math.max(slowest, times[2]!);
      expect(times.every(Number.isFinite)).toBe(true);
    }
    // Linear is ×10 for ×10 size; the quadratic patterns this guards against gave ×100.
    record('redact.growth', {
      value: worst,
      unit: '×',
      shown: `worst ×${fmt(worst)} for ×10 size (10 MiB in ≤ ${fmt(slowest, 0)} ms)`,
      target: 'linear: ≤ ×20 for ×10 size',
      met: worst <= 20,
      extra: rows,
    });
  });
});
