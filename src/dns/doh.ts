/**
 * DohClient: what public resolvers say about a name, through DNS-over-HTTPS in the JSON format
 * (`GET <doh_url>?name=…&type=A|AAAA`, `accept: application/dns-json`, as served by
 * cloudflare-dns.com and dns.google). Every body is validated; it never returns garbage.
 *
 * Status 0 with addresses of the asked type → answer (CNAME links on the way are skipped; the
 * TTL is the smallest of the addresses'); Status 0 without → nodata; Status 3 → nxdomain; any
 * other Status (SERVFAIL, REFUSED…), HTTP error or malformed body → a DohError (DOH_FAILED), a
 * timeout → an HttpTimeoutError (HTTP_TIMEOUT).
 */
import { type Dispatcher, request } from 'undici';
import { z } from 'zod';
import type { DohAnswer, RecordType } from '../domain/dns.js';
import { parseIp } from '../domain/ip.js';
import { DohError, errorMessage, HttpTimeoutError } from '../errors.js';
import { BodyTooLargeError, deadline, readTextCapped } from '../http.js';
import type { Logger } from '../log.js';
import { VERSION } from '../version.js';
import type { DohResolver } from './dns-provider.js';

export interface DohClientOptions {
  /** The resolver's JSON endpoint, e.g. https://cloudflare-dns.com/dns-query (doh_url). */
  url: string;
  dispatcher?: Dispatcher;
  /** Deadline of each query, connect to last body byte (http_timeout_ms). */
  timeoutMs: number;
  logger?: Logger;
}

/** DNS RR type numbers (RFC 1035, RFC 3596). */
const RR_TYPE: Readonly<Record<RecordType, number>> = { A: 1, AAAA: 28 };

/** DNS RCODEs by number (RFC 1035 §4.1.1, RFC 6895). */
const RCODE: Readonly<Record<number, string>> = {
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
};

const MAX_BODY_BYTES = 256 * 1024;

const answerSchema = z.looseObject({
  name: z.string(),
  type: z.number().int(),
  TTL: z.number().int().nonnegative(),
  data: z.string(),
});

const dohResponseSchema = z.looseObject({
  Status: z.number().int().nonnegative(),
  Answer: z.array(answerSchema).nullish(),
});

/** The DoH failure is one of the agent's errors (src/errors.ts); re-exported for callers. */
export { DohError } from '../errors.js';

export class DohClient implements DohResolver {
  readonly #url: string;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #timeoutMs: number;
  readonly #logger: Logger | undefined;

  constructor(options: DohClientOptions) {
    this.#url = options.url;
    this.#dispatcher = options.dispatcher;
    this.#timeoutMs = options.timeoutMs;
    this.#logger = options.logger;
  }

  async resolve(name: string, type: RecordType, signal?: AbortSignal): Promise<DohAnswer> {
    const qname = name.trim().toLowerCase().replace(/\.$/, '');
    const what = `${type} ${qname}`;
    let url: URL;
    try {
      url = new URL(this.#url);
    } catch (err) {
      throw new DohError(`doh_url ${JSON.stringify(this.#url)} is not a URL; set an https:// URL`, {
        cause: err,
      });
    }
    const resolver = url.host;
    url.searchParams.set('name', qname);
    url.searchParams.set('type', type);
    if (signal?.aborted) throw new DohError(`DoH query for ${what} was cancelled`, { cause: signal.reason });

    const limit = deadline(this.#timeoutMs, signal);
    const { signal: combined, timeout } = limit;
    let status: number;
    let text: string;
    try {
      const res = await request(url, {
        method: 'GET',
        signal: combined,
        headers: { accept: 'application/dns-json', 'user-agent': `ddns-watchdog/${VERSION}` },
        ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
      });
      status = res.statusCode;
      text = await readTextCapped(res.body, MAX_BODY_BYTES);
    } catch (err) {
      if (err instanceof BodyTooLargeError)
        throw new DohError(`The DoH resolver ${resolver} ${err.message} for ${what}`);
      if (err instanceof DohError)
        throw new DohError(`The DoH resolver ${resolver} ${err.message} for ${what}`);
      if (signal?.aborted)
        throw new DohError(`DoH query for ${what} was cancelled`, { cause: signal.reason });
      if (timeout.aborted)
        throw new HttpTimeoutError(`The DoH resolver ${resolver} (asked for ${what})`, this.#timeoutMs, {
          cause: err,
        });
      throw new DohError(
        `Could not ask the DoH resolver ${resolver} for ${what} (${errorMessage(err)}); check the network and doh_url`,
        { cause: err },
      );
    } finally {
      limit.dispose();
    }
    this.#logger?.debug({ resolver, name: qname, type, status }, `DoH ${what} → HTTP ${status}`);

    if (status !== 200) {
      throw new DohError(
        `The DoH resolver ${resolver} answered HTTP ${status} for ${what}; check doh_url (it must serve the JSON API)`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new DohError(
        `The DoH resolver ${resolver} did not answer JSON for ${what}; doh_url must serve application/dns-json`,
      );
    }
    const parsed = dohResponseSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'unexpected shape';
      throw new DohError(`The DoH resolver ${resolver} answered malformed JSON for ${what} (${where})`);
    }
    const { Status, Answer } = parsed.data;
    if (Status === 3) return { kind: 'nxdomain' };
    if (Status !== 0) {
      const rcode = RCODE[Status] ?? `RCODE ${Status}`;
      throw new DohError(
        `The DoH resolver ${resolver} answered ${rcode} (Status ${Status}) for ${what}; the zone's name servers may be failing, or try another doh_url`,
      );
    }
    const wanted = RR_TYPE[type];
    const family = type === 'A' ? 4 : 6;
    const addresses: string[] = [];
    let ttl = Number.POSITIVE_INFINITY;
    for (const rr of Answer ?? []) {
      if (rr.type !== wanted) continue; // CNAME links (type 5) and anything else on the way
      const ip = parseIp(rr.data.trim());
      if (!ip || ip.family !== family) {
        throw new DohError(
          `The DoH resolver ${resolver} answered ${JSON.stringify(rr.data.slice(0, 64))} as an ${type} record for ${what}, which is not an IPv${family} address`,
        );
      }
      if (!addresses.includes(ip.canonical)) addresses.push(ip.canonical);
      ttl = Math.min(ttl, rr.TTL);
    }
    if (addresses.length === 0) return { kind: 'nodata' };
    return { kind: 'answer', addresses, ttl };
  }
}
