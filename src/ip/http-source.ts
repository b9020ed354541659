/**
 * An IP source that asks an HTTP(S) echo or trace endpoint over undici. Each request is pinned to
 * the family asked about (its socket is IPv4 or IPv6), so a dual-stack host cannot answer IPv6
 * to an IPv4 question. Never throws: every failure is an answer with a reason. Credentials in the
 * URL (`https://user:key@host/…`) are sent as HTTP Basic auth and the query as given, but the
 * source is only ever named by its label (no credentials, query or fragment).
 */
import { Agent, type Dispatcher, request } from 'undici';
import { type Clock, systemClock } from '../clock.js';
import { sourceLabel } from '../domain/consensus.js';
import { parseIp } from '../domain/ip.js';
import { errorMessage } from '../errors.js';
import { errorCode } from '../http.js';
import { VERSION } from '../version.js';
import type { IpFamily, IpSource, SourceAnswer, SourceFailure } from './ip-source.js';
import { judgeAddress, parseBody } from './parse-body.js';

/** Bodies longer than this are not an address; reading stops there. */
const MAX_BODY_BYTES = 16 * 1024;

export interface HttpIpSourceOptions {
  url: string;
  /** Deadline for the whole request, connect to last body byte (http_timeout_ms). */
  timeoutMs: number;
  /** One dispatcher per family. Default: shared agents whose sockets are pinned to IPv4 / IPv6. */
  dispatchers?: { 4: Dispatcher; 6: Dispatcher };
  /**
   * One dispatcher for both families (tests, the demo). Its sockets are not pinned, so only the
   * answer's family is checked — a loopback fake on 127.0.0.1 may then play an IPv6 echo service.
   * Ignored when `dispatchers` is given.
   */
  dispatcher?: Dispatcher;
  clock?: Clock;
}

/** An undici Agent whose sockets only use `family` (no happy-eyeballs fallback to the other). */
export function pinnedAgent(family: IpFamily): Agent {
  // `family` reaches net.connect / dns.lookup through undici's connector options.
  // pipelining 0: no keep-alive — a socket kept over an IP change would hang until the deadline.
  return new Agent({ autoSelectFamily: false, connect: { family }, pipelining: 0 });
}

let shared: { 4: Agent; 6: Agent } | null = null;

/** The process-wide pinned agents (created on first use). */
export function familyDispatchers(): { 4: Dispatcher; 6: Dispatcher } {
  shared ??= { 4: pinnedAgent(4), 6: pinnedAgent(6) };
  return shared;
}

/** Closes the process-wide pinned agents (on shutdown). */
export async function closeFamilyDispatchers(): Promise<void> {
  const agents = shared;
  shared = null;
  if (agents) await Promise.allSettled([agents[4].close(), agents[6].close()]);
}

const TLS_CODES = /^(ERR_TLS_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_(GET|VERIFY)_|ERR_SSL_)/;

function describeNetError(
  err: unknown,
  family: IpFamily,
  host: string,
): { kind: SourceFailure; reason: string } {
  const code = errorCode(err);
  const v = `IPv${family}`;
  switch (code) {
    case 'ECONNREFUSED':
      return { kind: 'unreachable', reason: `connection refused by ${host} over ${v}` };
    case 'ENOTFOUND':
    case 'EAI_NODATA':
    case 'EAI_NONAME':
      return {
        kind: 'unreachable',
        reason: `${host} has no ${v} address (DNS ${code}): cannot connect over ${v}`,
      };
    case 'EAI_AGAIN':
      return {
        kind: 'unreachable',
        reason: `DNS lookup of ${host} failed (EAI_AGAIN): check this host's DNS`,
      };
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      return { kind: 'unreachable', reason: `no ${v} route to ${host} (${code}): cannot connect over ${v}` };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return { kind: 'unreachable', reason: `${host} closed the connection before answering (${code})` };
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { kind: 'timeout', reason: `could not connect to ${host} over ${v} in time` };
    default:
      if (code && TLS_CODES.test(code)) {
        return {
          kind: 'unreachable',
          reason: `TLS error with ${host} (${code}): a captive portal or proxy may be intercepting HTTPS`,
        };
      }
      return {
        kind: 'unreachable',
        reason: `request failed${code ? ` (${code})` : ''}: ${errorMessage(err)}`,
      };
  }
}

/** `user:password` of a URL, percent-decoded where it can be. */
function basicAuth(url: URL): string | null {
  if (url.username === '' && url.password === '') return null;
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return `Basic ${Buffer.from(`${decode(url.username)}:${decode(url.password)}`).toString('base64')}`;
}

export class HttpIpSource implements IpSource {
  /** The label: scheme, host, port and path only (see IpSource.id). */
  readonly id: string;
  /** The URL asked, without credentials or fragment (they go in #authorization, or nowhere). */
  readonly #url: URL | null;
  readonly #authorization: string | null;
  /** Spellings of the URL's secret parts that must not reach a reason (an error may echo the URL). */
  readonly #secrets: string[];
  readonly #timeoutMs: number;
  readonly #dispatchers: { 4: Dispatcher; 6: Dispatcher } | null;
  /** False only for a single injected dispatcher (see HttpIpSourceOptions.dispatcher). */
  readonly #pinned: boolean;
  readonly #clock: Clock;

  constructor(options: HttpIpSourceOptions) {
    this.id = sourceLabel(options.url);
    let url: URL | null = null;
    try {
      url = new URL(options.url.trim());
      if (url.protocol !== 'http:' && url.protocol !== 'https:') url = null;
    } catch {
      url = null;
    }
    this.#authorization = url ? basicAuth(url) : null;
    this.#secrets = [];
    if (url && (url.username || url.password || url.search || url.hash)) {
      const userinfo = `${url.username}${url.password ? `:${url.password}` : ''}@`;
      for (const secret of [url.href, `${url.pathname}${url.search}`, url.search, url.hash, userinfo]) {
        if (secret.length > 1) this.#secrets.push(secret);
      }
    }
    if (url) {
      url.username = '';
      url.password = '';
      url.hash = '';
    }
    this.#url = url;
    this.#timeoutMs = options.timeoutMs;
    this.#dispatchers =
      options.dispatchers ?? (options.dispatcher ? { 4: options.dispatcher, 6: options.dispatcher } : null);
    this.#pinned = options.dispatchers !== undefined || options.dispatcher === undefined;
    this.#clock = options.clock ?? systemClock;
  }

  async query(family: IpFamily, signal: AbortSignal): Promise<SourceAnswer> {
    const fail = (kind: SourceFailure, reason: string, ip?: string): SourceAnswer => ({
      ok: false,
      source: this.id,
      reason: this.#secrets.reduce((text, secret) => text.split(secret).join('…'), reason),
      kind,
      ...(ip !== undefined ? { ip } : {}),
    });
    const url = this.#url;
    if (!url) return fail('invalid', 'not an http(s) URL');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // net.connect ignores `family` for an IP literal, so a pinned request checks it here.
    const literal = parseIp(host);
    if (this.#pinned && literal && literal.family !== family) {
      return fail(
        'unreachable',
        `cannot ask over IPv${family}: the URL names an IPv${literal.family} address; use a host name or an IPv${family} URL`,
      );
    }
    if (signal.aborted) return fail('aborted', 'cancelled');

    const ctrl = new AbortController();
    const stopTimer = new AbortController();
    let timedOut = false;
    const onAbort = () => ctrl.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    void this.#clock.sleep(this.#timeoutMs, stopTimer.signal).then(() => {
      if (stopTimer.signal.aborted) return;
      timedOut = true;
      ctrl.abort(new Error(`no answer within ${this.#timeoutMs} ms`));
    });

    try {
      const dispatcher = (this.#dispatchers ?? familyDispatchers())[family];
      const res = await request(url, {
        method: 'GET',
        dispatcher,
        signal: ctrl.signal,
        reset: true,
        headers: {
          'user-agent': `ddns-watchdog/${VERSION}`,
          accept: 'text/plain, application/json;q=0.9, */*;q=0.1',
          'cache-control': 'no-cache',
          ...(this.#authorization ? { authorization: this.#authorization } : {}),
        },
      });
      // Destroying an unfinished body emits an AbortError; it is expected here, not a crash.
      res.body.on('error', () => {});
      if (res.statusCode < 200 || res.statusCode > 299) {
        res.body.destroy();
        const location = res.headers['location'];
        const where =
          typeof location === 'string'
            ? ` (redirect to ${sourceLabel(location)}: configure the final URL)`
            : '';
        return fail('http_status', `answered HTTP ${res.statusCode}${where}`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_BODY_BYTES)
          return fail('unparseable', `not an address (answer longer than ${MAX_BODY_BYTES} bytes)`);
        chunks.push(chunk);
      }
      const parsed = parseBody(Buffer.concat(chunks).toString('utf8'), { host });
      if (!parsed.ok) return fail(parsed.kind ?? 'unparseable', parsed.reason);
      const judged = judgeAddress(parsed.ip, family);
      if (!judged.ok) return fail(judged.kind, judged.reason, judged.ip);
      return { ok: true, source: this.id, ip: judged.ip };
    } catch (err) {
      if (timedOut) return fail('timeout', `no answer within ${this.#timeoutMs} ms (http_timeout_ms)`);
      if (signal.aborted) return fail('aborted', 'cancelled');
      const { kind, reason } = describeNetError(err, family, host);
      return fail(kind, reason);
    } finally {
      stopTimer.abort();
      signal.removeEventListener('abort', onAbort);
    }
  }
}
