/**
 * Why an MQTT connection attempt failed, in words a user can act on, and which of those failures
 * to say out loud: each kind once per outage, the repeats at debug. Pure: no I/O, no mqtt.js;
 * the caller passes the time and does the logging.
 */
import { type OutageRecovery, OutageTracker } from '../domain/outage.js';

/** A kind of failure: `key` tells kinds apart, `text` is the warning for it. */
export interface FailureKind {
  readonly key: string;
  readonly text: string;
}

/** The parts of an mqtt.js / socket / TLS error that classification reads. */
export interface FailureError {
  readonly message: string;
  /** A CONNACK return/reason code (number) or a Node error code (string). */
  readonly code?: unknown;
}

/** Reason codes (3.1.1 return codes and MQTT 5 reason codes) that mean "not this protocol version". */
const PROTOCOL_REFUSED = new Set([1, 132]);
/** MQTT 5 DISCONNECT reason: another connection took this client id. */
export const SESSION_TAKEN_OVER = 142;
/** Bad user name or password / not authorized, in 3.1.1 and MQTT 5. */
const AUTH_REFUSED = new Set([4, 5, 134, 135]);

/** True when the broker refused the connection because of the protocol version (try 3.1.1). */
export function isProtocolRefusal(err: FailureError): boolean {
  return typeof err.code === 'number' && PROTOCOL_REFUSED.has(err.code);
}

/** Classifies a failed connection attempt to the broker at `url` (already safe to log). */
export function classifyFailure(err: FailureError, url: string): FailureKind {
  const code = err.code;
  if (typeof code === 'number') {
    if (AUTH_REFUSED.has(code)) {
      return {
        key: 'auth',
        text: `The MQTT broker at ${url} refused the login (${err.message}); check mqtt_username and mqtt_password.`,
      };
    }
    return {
      key: `refused-${code}`,
      text: `The MQTT broker at ${url} refused the connection (${err.message}); check mqtt_url, mqtt_client_id and the broker's log.`,
    };
  }
  const c = typeof code === 'string' ? code : '';
  if (
    /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|ERR_OSSL/i.test(c) ||
    /certificate|ssl|tls/i.test(err.message)
  ) {
    return {
      key: `tls-${c}`,
      text: `The TLS handshake with the MQTT broker at ${url} failed (${err.message}); check mqtt_ca_file and that the host name in mqtt_url matches the broker's certificate.`,
    };
  }
  return {
    key: `net-${c || err.message}`,
    text: `Cannot reach the MQTT broker at ${url} (${c || err.message}); check mqtt_url and that the broker is running. Retrying in the background.`,
  };
}

/** The hint appended to the "broker closed the session" line for a DISCONNECT reason code. */
export function disconnectHint(reasonCode: number): string {
  return reasonCode === SESSION_TAKEN_OVER
    ? ' Another client connected with the same mqtt_client_id; give each instance its own.'
    : '';
}

/**
 * One outage of the connection (from a lost session or the first failed attempt, until the next
 * connect), on the shared OutageTracker, and the failure kinds already said during it: a kind is
 * said once per outage even when failures alternate (a flaky name server giving ENOTFOUND and
 * EAI_AGAIN in turn must not warn every minute).
 */
export class ConnectionOutage {
  readonly #tracker = new OutageTracker();
  readonly #said = new Set<string>();

  /** When the current outage began (ms), or null while connected. */
  get since(): number | null {
    return this.#tracker.since;
  }

  /** True when a failure was already said during this outage. */
  get saidAnything(): boolean {
    return this.#said.size > 0;
  }

  /** The session was lost at `now` (a new outage begins, nothing said yet). */
  lost(now: number): void {
    this.#tracker.ok(now);
    this.#said.clear();
    this.#tracker.fail('session-lost', now);
  }

  /** A failure of kind `key` at `now`: `warn` the first time in this outage, else `debug`. */
  fail(key: string, now: number): 'warn' | 'debug' {
    if (this.#tracker.fail(key, now).kind === 'started') this.#said.clear();
    if (this.#said.has(key)) return 'debug';
    this.#said.add(key);
    return 'warn';
  }

  /** Connected at `now`: ends the outage (what ended, or null when none was running). */
  ok(now: number): OutageRecovery | null {
    this.#said.clear();
    return this.#tracker.ok(now);
  }
}
