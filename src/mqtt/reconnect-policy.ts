/**
 * How long the MQTT connection waits before its next attempt, given the sessions and failures so
 * far. Pure: times are passed in (the connection reads them for mqtt.js), and every decision
 * returns a new state.
 *
 * - Each failed attempt doubles the wait, from `baseMs` up to `capMs` (the shared backoff, no
 *   jitter: 1 s, 2 s, 4 s … 60 s by default).
 * - A session that ends within STABLE_SESSION_MS (30 s) is a storm, typically another client with
 *   the same client id taking the session over: the wait keeps growing instead of starting over,
 *   and after SHORT_SESSIONS_HINT (3) such sessions in a row the caller gives its hint, once.
 * - A session that lasted longer starts the wait over from `baseMs`, as does a connect after a
 *   calm spell.
 * - Falling back to MQTT 3.1.1 retries at once (FALLBACK_RETRY_MS): that refusal was no failure
 *   of the broker, so it does not grow the wait either.
 */
import { type BackoffPolicy, backoffCeiling, backoffDelay } from '../domain/backoff.js';

/** A session shorter than this counts as "dropped at once" (a reconnect storm). */
export const STABLE_SESSION_MS = 30_000;
/** After this many short sessions in a row, the duplicate client id hint is given. */
export const SHORT_SESSIONS_HINT = 3;
/** A quick retry after switching protocol version. */
export const FALLBACK_RETRY_MS = 20;

export interface ReconnectState {
  /** Which wait of the backoff comes next (1 = `baseMs`). */
  readonly attempt: number;
  /** Sessions in a row that lasted less than STABLE_SESSION_MS. */
  readonly shortSessions: number;
  /** When the current (or last) session started, ms; null before the first connect. */
  readonly connectedAt: number | null;
  /** The next retry is the quick one after a protocol fallback. */
  readonly quickRetry: boolean;
}

export type ReconnectEvent =
  /** A session started at `at`. */
  | { readonly kind: 'connected'; readonly at: number }
  /** mqtt.js starts another attempt (the previous one failed). */
  | { readonly kind: 'retrying' }
  /** The session that was up ended at `at`. */
  | { readonly kind: 'session-lost'; readonly at: number }
  /** The broker refused MQTT 5; the next attempt uses 3.1.1. */
  | { readonly kind: 'protocol-fallback' };

/**
 * What to say about a lost session: `lost` (warn), `lost-again` (debug: one more short session),
 * or `storm` (warn with the duplicate client id hint, at the SHORT_SESSIONS_HINT-th short session).
 */
export type SessionLostNotice = 'lost' | 'lost-again' | 'storm';

export interface ReconnectDecision {
  readonly state: ReconnectState;
  /**
   * The wait, ms, that mqtt.js arms its reconnect timer with from now on. mqtt.js arms that timer
   * in its own `close` listener, before `session-lost` is decided: the wait that follows a lost
   * session is the one in force before it, and a grown wait applies from the next attempt.
   */
  readonly waitMs: number;
  /** Only for `session-lost`. */
  readonly notice?: SessionLostNotice;
}

/** The reconnect backoff: `baseMs` doubling up to `capMs`, no jitter. */
export function reconnectBackoff(baseMs: number, capMs: number): BackoffPolicy {
  const base = Math.max(1, baseMs);
  return { baseMs: base, capMs: Math.max(base, capMs), floorMs: base, jitter: 'none' };
}

export const INITIAL_RECONNECT_STATE: ReconnectState = {
  attempt: 1,
  shortSessions: 0,
  connectedAt: null,
  quickRetry: false,
};

/** The wait for `state` under `policy`. */
export function reconnectWait(state: ReconnectState, policy: BackoffPolicy): number {
  return backoffDelay(state.attempt, policy, () => 1);
}

/** One step of the policy. */
export function decideReconnect(
  state: ReconnectState,
  event: ReconnectEvent,
  policy: BackoffPolicy,
): ReconnectDecision {
  switch (event.kind) {
    case 'connected': {
      // After a storm the wait is kept: only a session that lasts starts it over.
      const next: ReconnectState = {
        ...state,
        connectedAt: event.at,
        attempt: state.shortSessions === 0 ? 1 : state.attempt,
      };
      return { state: next, waitMs: reconnectWait(next, policy) };
    }
    case 'retrying': {
      const next: ReconnectState = state.quickRetry
        ? { ...state, quickRetry: false }
        : { ...state, attempt: grow(state.attempt, policy) };
      return { state: next, waitMs: reconnectWait(next, policy) };
    }
    case 'session-lost': {
      const lasted = state.connectedAt === null ? Number.POSITIVE_INFINITY : event.at - state.connectedAt;
      const short = lasted < STABLE_SESSION_MS;
      const next: ReconnectState = short
        ? { ...state, shortSessions: state.shortSessions + 1, attempt: grow(state.attempt, policy) }
        : { ...state, shortSessions: 0, attempt: 1 };
      const notice: SessionLostNotice =
        next.shortSessions === SHORT_SESSIONS_HINT
          ? 'storm'
          : next.shortSessions <= 1
            ? 'lost'
            : 'lost-again';
      return { state: next, waitMs: reconnectWait(next, policy), notice };
    }
    case 'protocol-fallback':
      return { state: { ...state, quickRetry: true }, waitMs: FALLBACK_RETRY_MS };
  }
}

/** The next attempt number; it stops growing once the wait has reached the cap. */
function grow(attempt: number, policy: BackoffPolicy): number {
  return backoffCeiling(attempt, policy) >= policy.capMs ? attempt : attempt + 1;
}
