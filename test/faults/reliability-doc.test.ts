/**
 * docs/reliability.md and the fault suite stay in step: the table lists at least 40 faults,
 * numbered in order; each row names a test that exists in test/faults/ (an **Open** row's test may
 * be kept out of the tree until its bug is fixed); and every fault test is in the table.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const DIR = join(ROOT, 'test', 'faults');
const NAME = /'((?:ip|cf|doh|mqtt|state|plug|clock|process)\/[^'\s]+)'/g;

interface Row {
  n: number;
  test: string;
  open: boolean;
}

async function rows(): Promise<Row[]> {
  const text = await readFile(join(ROOT, 'docs', 'reliability.md'), 'utf8');
  const out: Row[] = [];
  for (const line of text.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const n = Number(cells[1]);
    if (!line.startsWith('| ') || !Number.isInteger(n) || n <= 0) continue;
    const test = /`([^`]+)`/.exec(cells[4] ?? '')?.[1] ?? '';
    out.push({ n, test, open: (cells[5] ?? '').startsWith('**Open.**') });
  }
  return out;
}

/** Fault test names in each file of test/faults (the string literals that name cases). */
async function testNames(): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const file of (await readdir(DIR)).filter((f) => f.endsWith('.test.ts'))) {
    const source = await readFile(join(DIR, file), 'utf8');
    for (const m of source.matchAll(NAME)) names.set(m[1]!, file);
  }
  return names;
}

describe('docs/reliability.md', () => {
  it('doc/table/at-least-40-faults-numbered-in-order', async () => {
    const table = await rows();
    expect(table.length).toBeGreaterThanOrEqual(40);
    expect(table.map((r) => r.n)).toEqual(table.map((_, i) => i + 1));
  });

  it('doc/table/every-row-names-a-fault-test-that-exists', async () => {
    const names = await testNames();
    const missing = (await rows())
      .filter((r) => !r.open && !names.has(r.test))
      .map((r) => `${r.n}: ${r.test}`);
    expect(missing).toEqual([]);
  });

  it('doc/table/every-fault-test-is-listed', async () => {
    const listed = new Set((await rows()).map((r) => r.test));
    const unlisted = [...(await testNames())]
      .filter(([name]) => !listed.has(name))
      .map(([n, f]) => `${f}: ${n}`);
    expect(unlisted).toEqual([]);
  });
});
