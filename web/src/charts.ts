/**
 * The two small drawings: a latency sparkline for the last hour and the outage strip. Plain SVG
 * with classes (colours come from style.css, so light and dark both work); both are hidden from
 * screen readers, which get the same facts as text next to them.
 */
import { svg } from './dom.js';
import type { Point, Sample } from './samples.js';
import type { Outage } from './types.js';

const W = 300;
const H = 64;
const TOP = 4;
const BASE = 50;
/** Samples further apart than this are not joined (the page was closed, the agent stopped). */
const JOIN_MS = 3 * 60_000;

export interface SparkStats {
  count: number;
  last: Point;
  median: number | null;
  max: number | null;
  failures: number;
}

export function sparkStats(samples: readonly Sample[], key: 'router' | 'wan'): SparkStats {
  const values: number[] = [];
  let failures = 0;
  let last: Point = null;
  for (const s of samples) {
    const p = s[key];
    if (p === null) continue;
    last = p;
    if (p === false) failures++;
    else values.push(p);
  }
  values.sort((a, b) => a - b);
  return {
    count: values.length + failures,
    last,
    median: values.length ? values[Math.floor((values.length - 1) / 2)]! : null,
    max: values.length ? values[values.length - 1]! : null,
    failures,
  };
}

export function sparkline(
  samples: readonly Sample[],
  key: 'router' | 'wan',
  now: number,
  windowMs: number,
): SVGElement {
  const from = now - windowMs;
  const x = (t: number) => Math.max(0, Math.min(W, ((t - from) / windowMs) * W));
  let max = 1;
  for (const s of samples) {
    const p = s[key];
    if (typeof p === 'number' && p > max) max = p;
  }
  max *= 1.15;
  const y = (v: number) => BASE - (v / max) * (BASE - TOP);
  let line = '';
  let area = '';
  let run: Array<[number, number]> = [];
  let prevT = Number.NEGATIVE_INFINITY;
  const flush = () => {
    if (run.length === 0) return;
    if (run.length === 1) run.push([Math.min(W, run[0]![0] + 1.5), run[0]![1]]);
    line += run.map(([px, py], i) => `${i ? 'L' : 'M'}${px.toFixed(1)} ${py.toFixed(1)}`).join('');
    area += `M${run[0]![0].toFixed(1)} ${BASE}${run.map(([px, py]) => `L${px.toFixed(1)} ${py.toFixed(1)}`).join('')}L${run[run.length - 1]![0].toFixed(1)} ${BASE}Z`;
    run = [];
  };
  const fails: SVGElement[] = [];
  for (const s of samples) {
    const p = s[key];
    if (s.t < from || p === null) continue;
    if (p === false) {
      flush();
      fails.push(
        svg('rect', { class: 'fail', x: (x(s.t) - 1).toFixed(1), y: BASE + 4, width: 2.5, height: 10 }),
      );
    } else {
      if (s.t - prevT > JOIN_MS) flush();
      run.push([x(s.t), y(p)]);
    }
    prevT = s.t;
  }
  flush();
  return svg(
    'svg',
    {
      class: 'spark',
      viewBox: `0 0 ${W} ${H}`,
      preserveAspectRatio: 'none',
      'aria-hidden': 'true',
      focusable: 'false',
    },
    svg('line', { class: 'axis', x1: 0, x2: W, y1: BASE + 0.5, y2: BASE + 0.5 }),
    area ? svg('path', { class: 'area', d: area }) : null,
    line ? svg('path', { class: 'line', d: line }) : null,
    ...fails,
  );
}

const STRIP_W = 700;
const STRIP_H = 24;

/** Outages of the last `days` days as bars on a time axis, one tick per day. */
export function outageStrip(outages: readonly Outage[], now: number, days: number): SVGElement {
  const span = days * 86_400_000;
  const from = now - span;
  const x = (t: number) => Math.max(0, Math.min(STRIP_W, ((t - from) / span) * STRIP_W));
  const bars: SVGElement[] = [];
  for (const o of outages) {
    const start = Date.parse(o.start);
    const end = o.end === null ? now : Date.parse(o.end);
    if (Number.isNaN(start) || Number.isNaN(end) || end < from) continue;
    const x0 = x(start);
    const width = Math.max(2.5, x(end) - x0);
    bars.push(
      svg('rect', {
        class: `bar o-${o.class.replace(/[^a-z_]/g, '')}${o.end === null ? ' open' : ''}`,
        x: Math.min(x0, STRIP_W - width).toFixed(1),
        y: 3,
        width: width.toFixed(1),
        height: STRIP_H - 6,
        rx: 1.5,
      }),
    );
  }
  const ticks: SVGElement[] = [];
  for (let d = 1; d < days; d++) {
    const tx = (STRIP_W * d) / days;
    ticks.push(svg('line', { class: 'tick', x1: tx, x2: tx, y1: 0, y2: STRIP_H }));
  }
  return svg(
    'svg',
    {
      class: 'strip',
      viewBox: `0 0 ${STRIP_W} ${STRIP_H}`,
      preserveAspectRatio: 'none',
      'aria-hidden': 'true',
      focusable: 'false',
    },
    svg('rect', { class: 'track', x: 0, y: 0, width: STRIP_W, height: STRIP_H, rx: 3 }),
    ...ticks,
    ...bars,
  );
}
