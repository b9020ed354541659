/**
 * Heartbeat pings (healthchecks.io or Uptime Kuma push URLs): a ping after each good cycle, a
 * failure ping after a failed one, `/start` when the agent starts and the exit status when it
 * stops, where the service supports them. A failed ping is logged once per outage (one line when
 * pings get through again) and never stops anything.
 */
import { type Dispatcher, request } from 'undici';
import { OutageTracker } from '../domain/outage.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';

export type HeartbeatKind = 'start' | 'success' | 'fail' | 'exit';

/** One outage key for every failure: however a ping fails, the outage is said once. */
const PING_FAILED = 'ping-failed';

/** Uptime Kuma push URLs look like …/api/push/<token>?status=up&msg=OK&ping= */
function isUptimeKuma(url: URL): boolean {
  return url.pathname.includes('/api/push/');
}

/** The URL to call for one kind of ping, or null when the service has no such ping. Pure. */
export function heartbeatUrl(base: string, kind: HeartbeatKind, exitCode = 0, message = ''): string | null {
  const url = new URL(base);
  if (isUptimeKuma(url)) {
    if (kind === 'start') return null;
    const up = kind === 'success' || (kind === 'exit' && exitCode === 0);
    if (kind === 'exit' && up) return null; // a clean stop is not an outage
    url.searchParams.set('status', up ? 'up' : 'down');
    url.searchParams.set('msg', message || (up ? 'OK' : 'failed'));
    return url.toString();
  }
  // healthchecks.io style: /start, /fail, /<exit code>
  const path = url.pathname.replace(/\/+$/, '');
  if (kind === 'start') url.pathname = `${path}/start`;
  else if (kind === 'fail') url.pathname = `${path}/fail`;
  else if (kind === 'exit') url.pathname = `${path}/${exitCode}`;
  return url.toString();
}

export class Heartbeat {
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #outage = new OutageTracker();

  constructor(options: {
    url: string;
    timeoutMs: number;
    dispatcher?: Dispatcher;
    logger: Logger;
    /** The clock's now() (default Date.now); only outage times are taken from it. */
    now?: () => number;
  }) {
    this.#base = options.url;
    this.#timeoutMs = options.timeoutMs;
    this.#dispatcher = options.dispatcher;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  async ping(kind: HeartbeatKind, detail: { exitCode?: number; message?: string } = {}): Promise<boolean> {
    const url = heartbeatUrl(this.#base, kind, detail.exitCode, detail.message);
    if (!url) return true;
    try {
      const res = await request(url, {
        method: 'POST',
        body: detail.message ?? '',
        signal: AbortSignal.timeout(this.#timeoutMs),
        ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
      });
      await res.body.dump();
      if (res.statusCode >= 400) throw new Error(`HTTP ${res.statusCode}`);
      if (this.#outage.ok(this.#now())) this.#logger.info('Heartbeat pings are getting through again.');
      return true;
    } catch (err) {
      if (this.#outage.fail(PING_FAILED, this.#now()).kind === 'started') {
        this.#logger.warn(
          { err: errorMessage(err) },
          `The heartbeat ping failed (${errorMessage(err)}); the agent keeps working. Check heartbeat_url.`,
        );
      }
      return false;
    }
  }
}
