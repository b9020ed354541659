/**
 * The fake's faults: failures injected by a test (`failNext`), consumed by the next matching
 * request(s), first registered first, and answered in their place — a status with a plausible
 * error body, a delay, a reset connection, or no answer at all (until close()).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { envelopeError, send } from './respond.js';

/** One injected failure, consumed by the next matching request(s), first registered first. */
export interface FakeFault {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Tested against the URL path (no query); any path when absent. */
  path?: RegExp;
  /** Which side it applies to. Default 'api'. */
  target?: 'api' | 'doh';
  /** Status to answer. Default 500. */
  status?: number;
  /** A raw string is sent as is; anything else as JSON. Default: an error envelope fitting the status. */
  body?: unknown;
  headers?: Record<string, string>;
  /** How many matching requests it answers. Default 1. */
  times?: number;
  /** Let this many matching requests through normally first. Default 0. */
  skip?: number;
  /** Answer only after this many (real) milliseconds. */
  delayMs?: number;
  /** Destroy the connection instead of answering (a reset). */
  reset?: boolean;
  /** Never answer (until close()); for timeouts. */
  hang?: boolean;
}

interface Pending {
  timer?: NodeJS.Timeout;
  res: ServerResponse;
}

export class FaultQueue {
  #faults: Array<FakeFault & { left: number; skipLeft: number }> = [];
  /** Answers held back (delayed or hung), ended by close(). */
  readonly #pending = new Set<Pending>();

  push(fault: FakeFault): void {
    this.#faults.push({ ...fault, left: fault.times ?? 1, skipLeft: fault.skip ?? 0 });
  }

  clear(): void {
    this.#faults = [];
  }

  /** Faults not yet consumed. */
  get size(): number {
    return this.#faults.length;
  }

  /** The fault that answers this request instead of the normal response, if any (consumed). */
  take(target: 'api' | 'doh', method: string, path: string): FakeFault | null {
    for (const f of this.#faults) {
      if ((f.target ?? 'api') !== target) continue;
      if (f.method && f.method.toUpperCase() !== method) continue;
      if (f.path) {
        f.path.lastIndex = 0;
        if (!f.path.test(path)) continue;
      }
      if (f.skipLeft > 0) {
        f.skipLeft--;
        continue;
      }
      f.left--;
      if (f.left <= 0) this.#faults = this.#faults.filter((x) => x !== f);
      return f;
    }
    return null;
  }

  /** Answers `res` as the fault says. */
  answer(f: FakeFault, path: string, req: IncomingMessage, res: ServerResponse): void {
    if (f.reset) {
      req.socket.destroy();
      return;
    }
    const pending: Pending = { res };
    this.#pending.add(pending);
    res.once('close', () => {
      if (pending.timer) clearTimeout(pending.timer);
      this.#pending.delete(pending);
    });
    if (f.hang) return;
    const status = f.status ?? 500;
    const body = f.body === undefined ? defaultFaultBody(status, path) : f.body;
    const reply = () => {
      this.#pending.delete(pending);
      send(res, status, body, f.headers);
    };
    if (f.delayMs && f.delayMs > 0) pending.timer = setTimeout(reply, f.delayMs);
    else reply();
  }

  /** Ends every held answer (their connections are destroyed). */
  close(): void {
    for (const p of this.#pending) {
      if (p.timer) clearTimeout(p.timer);
      p.res.destroy();
    }
    this.#pending.clear();
  }
}

/** A plausible error body for an injected status (codes per status as Cloudflare uses them). */
function defaultFaultBody(status: number, path: string): unknown {
  if (status >= 200 && status < 300) return { success: true, errors: [], messages: [], result: null };
  if (status === 429)
    return envelopeError([{ code: 971, message: 'Please wait and consider throttling your request speed' }]);
  if (status === 401 || status === 403)
    return envelopeError([{ code: 10000, message: 'Authentication error' }]);
  if (status === 404) {
    return /\/dns_records\/[^/]+$/.test(path)
      ? envelopeError([{ code: 81044, message: 'Record does not exist.' }])
      : envelopeError([
          { code: 7003, message: `Could not route to ${path}, perhaps your object identifier is invalid?` },
        ]);
  }
  if (status >= 500)
    return envelopeError([{ code: 10001, message: 'Internal server error (injected by FakeCloudflare)' }]);
  return envelopeError([{ code: 1004, message: 'DNS Validation Error (injected by FakeCloudflare)' }]);
}
