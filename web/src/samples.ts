/**
 * The last hour of router and WAN latency, gathered from the state pushes while the page is open
 * (each probe round sends a state). Kept in sessionStorage too, so a reload keeps the curve.
 */
import type { ProbeSummary, StatusDocument } from './types.js';

export const WINDOW_MS = 60 * 60_000;
const MAX_SAMPLES = 1500;
/** Pushes closer together than this replace the previous sample (a DNS change between rounds). */
const MIN_GAP_MS = 2_000;
const STORAGE_KEY = 'ddns-watchdog:latency';

/** A probe's latency in ms, `false` when it failed, `null` when unknown. */
export type Point = number | false | null;

export interface Sample {
  t: number;
  router: Point;
  wan: Point;
}

function point(p: ProbeSummary | undefined): Point {
  if (!p || p.ok === null) return null;
  if (p.ok === false) return false;
  return typeof p.latency_ms === 'number' && Number.isFinite(p.latency_ms) ? p.latency_ms : null;
}

export class LatencyRing {
  #samples: Sample[] = [];

  constructor(private readonly storage: Storage | null = safeSession()) {
    this.#load();
  }

  get samples(): readonly Sample[] {
    return this.#samples;
  }

  add(state: StatusDocument, now: number): void {
    const s: Sample = { t: now, router: point(state.probes?.router), wan: point(state.probes?.wan) };
    if (s.router === null && s.wan === null) return;
    const last = this.#samples[this.#samples.length - 1];
    if (last && now - last.t < MIN_GAP_MS) this.#samples[this.#samples.length - 1] = s;
    else this.#samples.push(s);
    this.prune(now);
  }

  prune(now: number): void {
    const from = now - WINDOW_MS;
    let drop = 0;
    while (drop < this.#samples.length && this.#samples[drop]!.t < from) drop++;
    if (this.#samples.length - drop > MAX_SAMPLES) drop = this.#samples.length - MAX_SAMPLES;
    if (drop > 0) this.#samples.splice(0, drop);
  }

  save(): void {
    try {
      this.storage?.setItem(STORAGE_KEY, JSON.stringify(this.#samples));
    } catch {
      // Storage full or refused: the curve starts afresh after a reload, nothing else is lost.
    }
  }

  #load(): void {
    try {
      const raw = this.storage?.getItem(STORAGE_KEY);
      if (!raw) return;
      const parsed: unknown = JSON.parse(raw);
      if (!Array.isArray(parsed)) return;
      this.#samples = parsed.filter(
        (s): s is Sample =>
          typeof s === 'object' && s !== null && typeof (s as Sample).t === 'number' && 'router' in s,
      );
      this.prune(Date.now());
    } catch {
      this.#samples = [];
    }
  }
}

function safeSession(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
