/**
 * `npm run bench`'s frame: before the bench files, it notes the machine and its load average and
 * names the file the figures go to (bench/results.ts); after them, it writes bench/results.json and
 * prints the one table (figure, value, target, met). A run that left a figure unmeasured (only
 * some bench files, or one failed) writes its results to the temp directory instead, so it never
 * replaces the full run's file.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, platform, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { FIGURES, type RecordedFigure } from './results.js';

const BENCH_DIR = import.meta.dirname;

export default function setup(project: TestProject): () => void {
  const file = join(tmpdir(), `ddnsw-bench-${process.pid}.jsonl`);
  writeFileSync(file, '');
  project.provide('benchResultsFile', file);
  const startedAt = new Date();
  const loadAtStart = loadavg();
  return () => {
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    rmSync(file, { force: true });
    const recorded = lines.map((l) => JSON.parse(l) as RecordedFigure);
    const figures = inOrder(recorded);
    const benchFiles = readdirSync(BENCH_DIR).filter((f) => f.endsWith('.bench.ts'));
    const silent = benchFiles.filter((f) => !recorded.some((r) => r.file === f));
    const cpu = cpus();
    const results = {
      date: startedAt.toISOString(),
      duration_s: Math.round((Date.now() - startedAt.getTime()) / 1000),
      node: process.version,
      machine: {
        platform: platform(),
        arch: arch(),
        cpus: cpu.length,
        cpu_model: cpu[0]?.model.trim() ?? 'unknown',
        memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
        load_average_at_start: loadAtStart.map((l) => Math.round(l * 100) / 100),
        load_average_at_end: loadavg().map((l) => Math.round(l * 100) / 100),
      },
      summary: {
        figures: figures.length,
        with_target: figures.filter((f) => f.met !== null && f.file !== '').length,
        met: figures.filter((f) => f.met === true).length,
        missed: figures.filter((f) => f.met === false && f.file !== '').map((f) => f.id),
        not_measured: figures.filter((f) => f.file === '').map((f) => f.id),
      },
      figures,
    };
    const out =
      results.summary.not_measured.length === 0
        ? join(BENCH_DIR, 'results.json')
        : join(tmpdir(), `ddnsw-bench-results-${startedAt.getTime()}.json`);
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    const load = results.machine.load_average_at_start.join(', ');
    process.stdout.write(
      [
        '',
        `ddns-watchdog benchmarks, ${results.date} — Node ${results.node}, ${results.machine.cpus} × ${results.machine.cpu_model}, load average at start ${load} (1, 5, 15 min), ${results.duration_s} s`,
        '',
        table(figures),
        '',
        `${results.summary.met} of ${results.summary.with_target} targets met${results.summary.missed.length ? `; missed: ${results.summary.missed.join(', ')}` : ''}${results.summary.not_measured.length ? `; not measured: ${results.summary.not_measured.join(', ')}` : ''}.`,
        results.summary.not_measured.length === 0
          ? `Written to ${out}.`
          : `Not every figure was measured: written to ${out}, bench/results.json left as it was.`,
        ...(silent.length > 0 ? [`Bench files that recorded nothing: ${silent.join(', ')}.`] : []),
        '',
      ].join('\n'),
    );
  };
}

/** The catalog's order, a "not measured" line for each figure nobody recorded, then any others. */
function inOrder(recorded: RecordedFigure[]): RecordedFigure[] {
  const known = new Set(FIGURES.map(([id]) => id));
  const listed = FIGURES.map(
    ([id, label]): RecordedFigure =>
      recorded.find((r) => r.id === id) ?? {
        id,
        label,
        value: Number.NaN,
        unit: '',
        shown: 'not measured',
        target: '—',
        met: false,
        file: '',
      },
  );
  return [...listed, ...recorded.filter((r) => !known.has(r.id))];
}

export function table(figures: readonly RecordedFigure[]): string {
  const rows = [
    ['Figure', 'Value', 'Target', 'Met'],
    ...figures.map((f) => [
      f.label,
      f.shown ?? `${f.value} ${f.unit}`.trim(),
      f.target,
      f.met === null ? '—' : f.met ? '✔' : '✘',
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...r[c]!].length)));
  const line = (r: string[]) =>
    `| ${r.map((cell, c) => cell.padEnd(widths[c]! + cell.length - [...cell].length)).join(' | ')} |`;
  return [
    line(rows[0]!),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
}
