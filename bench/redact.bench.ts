/**
 * redactText's growth curve (it runs on every log line and on config values of any length): the
 * time to redact 100 KiB, 1 MiB and 10 MiB of the shapes that were quadratic before the fix
 * (host-like text without `://`, a URL followed by a long run of dots) and a few others. Linear
 * means ×10 size → about ×10 time; the quadratic pattern gave ×100 (50 KB of `x.x.x.…` took
 * 2.6 s, a URL followed by 50,000 dots 10 s). Best of three runs per size, printed as a table;
 * nothing here fails on timing (test/redact.test.ts checks the results on megabytes).
 */
import { describe, expect, it } from 'vitest';
import { redactText } from '../src/redact.js';

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
    const rows: string[] = [];
    for (const [label, make] of SHAPES) {
      bestOf3(make(SIZES[0]!)); // warm up the JIT
      const times = SIZES.map((n) => bestOf3(make(n)));
      const ratio = times[2]! / Math.max(times[1]!, 0.01);
      rows.push(
        `${label.padEnd(36)} ${times.map((t) => `${t.toFixed(2)} ms`.padStart(10)).join(' ')}   ×${ratio.toFixed(1)} for ×10`,
      );
      expect(times.every(Number.isFinite)).toBe(true);
    }
    console.log(
      `redactText: 100 KiB / 1 MiB / 10 MiB, best of 3 (linear ≈ ×10 for ×10 size)\n${rows.join('\n')}`,
    );
  });
});
