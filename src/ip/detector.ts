/**
 * Public-IP detection (SPEC §3.1): every source is asked at once and the answers are judged by
 * `decide` (src/domain/consensus.ts): a strict majority of the configured sources wins at once
 * and the other requests are cancelled, so a hung source costs nothing; a quorum without a
 * majority waits a short settle window for the rest, then the plurality wins; a tie decides
 * nothing. A trace that says this host's traffic goes through WARP vetoes the detection; so that
 * a fast plain majority cannot outrun that veto, a decision waits for the trace sources still
 * asking (`/cdn-cgi/trace`), at most the settle window — a hung trace source costs that much, a
 * hung plain source nothing. The sources are handed in (src/agent/ip-sources.ts builds them from
 * the configuration).
 */
import { type Clock, systemClock } from '../clock.js';
import { decide, explainNoQuorum, sourceLabel } from '../domain/consensus.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Detection, IpFamily, IpSource, SourceAnswer } from './ip-source.js';
import { CGNAT_WARNING } from './parse-body.js';

/** How long to wait for the other sources once `quorum` of them agree without a majority. */
export const SETTLE_WINDOW_MS = 500;

export interface DetectOptions {
  family: IpFamily;
  sources: readonly IpSource[];
  /** How many distinct sources must give the same address (below 1 counts as 1). */
  quorum: number;
  /** Aborting cancels every source; the detection then resolves unverified. */
  signal?: AbortSignal;
  logger?: Logger;
  /** Times the settle window (default: the system clock). */
  clock?: Clock;
  /** The settle window (default SETTLE_WINDOW_MS). */
  settleMs?: number;
}

/**
 * Whether a source answers in Cloudflare's trace format (its path ends in `/cdn-cgi/trace`), so
 * its answer can veto the detection (`warp=on`). Judged from the source's label.
 */
export function isTraceSource(id: string): boolean {
  try {
    return /\/cdn-cgi\/trace\/?$/i.test(new URL(id).pathname);
  } catch {
    return false;
  }
}

/** The veto's reason: which source saw WARP, why that stops everything, and what to do. */
function warpVeto(source: string, said: string, family: IpFamily): string {
  const key = family === 4 ? 'ip_sources' : 'ip_sources_v6';
  return `${source} says ${said}, so no source can see this network's own IPv${family} address; turn WARP off on this host, exclude this host's traffic from WARP (split tunnel), or use local in ${key}`;
}

/**
 * Asks all sources concurrently and resolves with the address they agree on (verified), or
 * unverified with a reason naming each source and its answer. Sources are named by their label
 * (`sourceLabel` of their id), never by a URL holding credentials or a query. `answers` holds the
 * answers received before the decision; sources cancelled by it are not listed. Never rejects.
 */
export function detectPublicIp(options: DetectOptions): Promise<Detection> {
  const { family, sources, quorum, signal, logger } = options;
  const clock = options.clock ?? systemClock;
  const settleMs = options.settleMs ?? SETTLE_WINDOW_MS;
  const labels = sources.map((s) => sourceLabel(s.id));
  const configured = new Set(labels).size;
  const answers: SourceAnswer[] = [];
  const warnings: string[] = [];
  const controllers = sources.map(() => new AbortController());
  const traces = new Set(sources.flatMap((s, i) => (isTraceSource(s.id) ? [i] : [])));
  const window = new AbortController();
  const abortAll = () => {
    window.abort();
    for (const c of controllers) c.abort(signal?.reason);
  };

  return new Promise<Detection>((resolve) => {
    let finished = false;
    let pending = sources.length;
    let windowOpened = false;
    let windowClosed = false;
    /** Sources that have not answered yet, by index. */
    const asking = new Set(sources.keys());
    const tracePending = () => [...traces].some((i) => asking.has(i));
    const openWindow = () => {
      if (windowOpened) return;
      windowOpened = true;
      void clock.sleep(settleMs, window.signal).then(() => {
        if (window.signal.aborted) return;
        windowClosed = true;
        judge();
      });
    };
    const finish = (detection: Detection) => {
      if (finished) return;
      finished = true;
      signal?.removeEventListener('abort', abortAll);
      abortAll();
      resolve(detection);
    };
    const unverified = (reason: string, vetoed?: 'warp'): Detection => ({
      kind: 'unverified',
      family,
      reason,
      answers: [...answers],
      warnings: [...warnings],
      ...(vetoed ? { vetoed } : {}),
    });
    const unanswered = () => {
      const answered = new Set(answers.map((a) => a.source));
      return [...new Set(labels)].filter((l) => !answered.has(l));
    };
    const judge = () => {
      if (finished) return;
      if (signal?.aborted) {
        if (pending === 0) finish(unverified('detection was cancelled'));
        return;
      }
      const decision = decide(answers, { sources: configured, quorum, settled: windowClosed });
      if (decision.kind === 'agreed') {
        // A trace still asking may yet veto: wait for it, within the settle window (a trace that
        // has not answered when it closes is given up on, as any other source).
        if (tracePending() && !windowClosed) {
          if (!windowOpened) {
            logger?.debug(
              { ip: decision.ip, agreeing: decision.agreeing.length },
              `IPv${family}: ${decision.agreeing.length} sources agree on ${decision.ip}; waiting up to ${settleMs} ms for the trace sources (a WARP check) before deciding.`,
            );
          }
          openWindow();
          return;
        }
        logger?.debug(
          { ip: decision.ip, agreeing: decision.agreeing.length, sources: configured },
          `IPv${family}: ${decision.agreeing.length} of ${configured} sources agree on ${decision.ip}.`,
        );
        finish({
          kind: 'verified',
          family,
          ip: decision.ip,
          agreeing: decision.agreeing,
          answers: [...answers],
          warnings: [...warnings],
        });
      } else if (decision.kind === 'none') {
        finish(unverified(explainNoQuorum(answers, quorum, family, windowClosed ? unanswered() : [])));
      } else if (decision.settle) {
        openWindow();
      }
    };

    if (sources.length === 0 || signal?.aborted) {
      return finish(
        unverified(signal?.aborted ? 'detection was cancelled' : explainNoQuorum([], quorum, family)),
      );
    }
    signal?.addEventListener('abort', abortAll, { once: true });

    sources.forEach((source, i) => {
      const ctrl = controllers[i] ?? new AbortController();
      const label = labels[i] ?? sourceLabel(source.id);
      let asked: Promise<SourceAnswer>;
      try {
        asked = source.query(family, ctrl.signal);
      } catch (err) {
        asked = Promise.reject(err);
      }
      asked
        .catch(
          (err: unknown): SourceAnswer => ({
            ok: false,
            source: label,
            reason: `failed: ${errorMessage(err)}`,
          }),
        )
        .then((raw) => {
          pending--;
          asking.delete(i);
          if (finished) return;
          const answer: SourceAnswer = { ...raw, source: label };
          answers.push(answer);
          if (answer.ok) {
            logger?.debug(
              { source: label, ip: answer.ip },
              `IPv${family} source ${label} answered ${answer.ip}.`,
            );
          } else {
            logger?.debug(
              { source: label, reason: answer.reason },
              `IPv${family} source ${label} gave no usable address: ${answer.reason}.`,
            );
            if (answer.kind === 'warp' && !signal?.aborted) {
              return finish(unverified(warpVeto(label, answer.reason, family), 'warp'));
            }
            if (answer.kind === 'cgnat' && !warnings.includes(CGNAT_WARNING)) warnings.push(CGNAT_WARNING);
          }
          judge();
        });
    });
  });
}
