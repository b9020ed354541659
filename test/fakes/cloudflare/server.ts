/**
 * A fake Cloudflare API v4 and DoH JSON resolver on 127.0.0.1 (port 0), for tests, the benchmark
 * and anything else that must never reach the real network.
 *
 * API (under /client/v4, Bearer token checked on every call):
 *   GET    /user/tokens/verify
 *   GET    /zones?name=&per_page=&page=                      (per_page ≤ 50)
 *   GET    /zones/{zone}
 *   GET    /zones/{zone}/dns_records?name.exact=&type=&content.exact=&proxied=&per_page=&page=
 *   POST   /zones/{zone}/dns_records
 *   GET|PATCH|PUT|DELETE /zones/{zone}/dns_records/{id}
 *   POST   /zones/{zone}/dns_records/batch                   {deletes, patches, puts, posts}
 * DoH: GET /dns-query?name=&type=  (application/dns-json), answered from the same records.
 *
 * Behaviour copied from the real API where it is documented or widely observed:
 * - envelope {success, errors[{code,message}], messages, result, result_info?};
 * - wrong token → 401 {code 10000 "Authentication error"}; a missing permission → 403, same code;
 *   a token without Zone · Zone · Read sees an empty zone list (200), as Cloudflare does;
 * - create of a record identical in name, type and content → 400 {81058 "An identical record
 *   already exists."}; A/AAAA next to a CNAME (or a CNAME next to anything) → 400 {81053};
 * - unknown record id → 404 {81044 "Record does not exist."}; unknown zone → 404 {7003};
 * - PATCH changes only the fields sent (comment, tags, ttl, proxied survive a content change);
 * - batch: one transaction (all or nothing), run as deletes → patches → puts → posts, at most
 *   `batchLimit` (200, the Free plan's limit) operations per call;
 * - DoH: DNS-only records answer their content with their TTL (TTL 1 = "auto" = 300 s); a name
 *   with any proxied record answers Cloudflare's edge addresses for both A and AAAA; CNAMEs are
 *   followed; an unknown name is NXDOMAIN (Status 3), a known name without the type is NODATA.
 * Error codes not observed from the real API (bad route, bad JSON, batch limit) are marked where
 * they are answered.
 *
 * Its parts, beside this file: store.ts (records and zones, and every change to them), batch.ts
 * (the batch transaction), api.ts (the API face), doh.ts (the DoH face), faults.ts (injected
 * failures), respond.ts (HTTP answers). This file holds the server, the request logs and the
 * methods tests call.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { normalizeIp } from '../../../src/domain/ip.js';
import { answerApi, type FakePermissions } from './api.js';
import { answerDoh, DEFAULT_EDGE_V4, DEFAULT_EDGE_V6, DOH_PATH } from './doh.js';
import { type FakeFault, FaultQueue } from './faults.js';
import { envelopeError, readBody, send } from './respond.js';
import { Fail, type FakeRecord, type FakeRecordType, FakeStore, type FakeZone, norm } from './store.js';

export interface LoggedRequest {
  method: string;
  /** URL path without the query, e.g. /client/v4/zones/abc/dns_records. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
  /** The raw Authorization header. */
  auth: string | undefined;
  /** From the `now` option (default Date.now). */
  at: number;
}

export interface FakeCloudflareOptions {
  /** The only token accepted. Default 'test-token-0123456789abcdef'. */
  token?: string;
  /** Time source for the request log and timestamps. Default Date.now. */
  now?: () => number;
}

export const DEFAULT_FAKE_TOKEN = 'test-token-0123456789abcdef';

const API_PREFIX = '/client/v4';

export class FakeCloudflare {
  readonly apiUrl: string;
  readonly dohUrl: string;
  readonly token: string;
  /** Caps per_page server-side (null: the documented maxima), so paging can be tested with few rows. */
  maxPerPage: number | null = null;
  /** Operations allowed in one batch call (the Free plan's 200). */
  batchLimit = 200;

  readonly #server: Server;
  readonly #now: () => number;
  readonly #store: FakeStore;
  readonly #stale = new Map<string, string | null>();
  readonly #faults = new FaultQueue();
  #log: LoggedRequest[] = [];
  #dohLog: LoggedRequest[] = [];
  #edge = { v4: [...DEFAULT_EDGE_V4], v6: [...DEFAULT_EDGE_V6] };
  #perms: FakePermissions = { zoneRead: true, dnsRead: true, dnsEdit: true };
  #waiters: Array<{
    match: (r: LoggedRequest, doh: boolean) => boolean;
    resolve: (r: LoggedRequest) => void;
  }> = [];

  private constructor(server: Server, port: number, options: FakeCloudflareOptions) {
    this.#server = server;
    this.#now = options.now ?? (() => Date.now());
    this.#store = new FakeStore(this.#now);
    this.token = options.token ?? DEFAULT_FAKE_TOKEN;
    this.apiUrl = `http://127.0.0.1:${port}${API_PREFIX}`;
    this.dohUrl = `http://127.0.0.1:${port}${DOH_PATH}`;
  }

  static async start(options: FakeCloudflareOptions = {}): Promise<FakeCloudflare> {
    let fake: FakeCloudflare | null = null;
    const server = createServer((req, res) => {
      if (!fake) {
        res.destroy();
        return;
      }
      fake.#handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    fake = new FakeCloudflare(server, port, options);
    return fake;
  }

  // --- world setup ------------------------------------------------------------------------------

  /** Adds a zone the token can see; returns its id (32 hex digits, like Cloudflare's). */
  addZone(name: string): string {
    return this.#store.addZone(name);
  }

  zones(): FakeZone[] {
    return this.#store.zones();
  }

  /**
   * Adds a record directly (no validation beyond the zone: tests may build states the API would
   * refuse, such as duplicates). The zone is the longest added zone that ends the name.
   */
  addRecord(r: Partial<FakeRecord> & { name: string; type: FakeRecordType; content: string }): FakeRecord {
    return this.#store.addRecord(r);
  }

  /** Changes a record directly (test setup, or an edit in the dashboard); throws when the id is unknown. */
  updateRecord(id: string, changes: Partial<Omit<FakeRecord, 'id' | 'zoneId'>>): FakeRecord {
    return this.#store.updateRecord(id, changes);
  }

  /** Removes a record directly (as if deleted in the dashboard). False when it did not exist. */
  deleteRecord(id: string): boolean {
    return this.#store.deleteRecord(id);
  }

  /** Copies of the records, in creation order, optionally filtered by name (any case) and type. */
  records(filter: { name?: string; type?: string; zoneId?: string } = {}): FakeRecord[] {
    return this.#store.records(filter);
  }

  /** What the token may do (all true by default). */
  setPermissions(p: Partial<FakePermissions>): void {
    this.#perms = { ...this.#perms, ...p };
  }

  /** What DoH answers for proxied names. */
  setEdgeAddresses(v4: string[], v6: string[]): void {
    this.#edge = { v4: [...v4], v6: [...v6] };
  }

  /**
   * Makes DoH keep serving an old view of `name` (a resolver cache): `content` (an address; its
   * family decides whether A or AAAA is affected, the other family is answered live) or null
   * (NXDOMAIN for every type). The TTL is the record's, or 300 s. Lasts until clearStaleDoh.
   */
  staleDoh(name: string, content: string | null): void {
    this.#stale.set(norm(name), content === null ? null : (normalizeIp(content) ?? content));
  }

  /** Ends staleDoh for one name, or for every name. */
  clearStaleDoh(name?: string): void {
    if (name === undefined) this.#stale.clear();
    else this.#stale.delete(norm(name));
  }

  // --- faults and logs --------------------------------------------------------------------------

  /** Answers the next matching request(s) with a failure instead of the normal response. */
  failNext(fault: FakeFault): void {
    this.#faults.push(fault);
  }

  /** Drops every fault not yet consumed. */
  clearFaults(): void {
    this.#faults.clear();
  }

  /** Faults not yet consumed. */
  get pendingFaults(): number {
    return this.#faults.size;
  }

  /** API calls (not DoH), oldest first. */
  get requests(): LoggedRequest[] {
    return [...this.#log];
  }

  get dohRequests(): LoggedRequest[] {
    return [...this.#dohLog];
  }

  clearLog(): void {
    this.#log = [];
    this.#dohLog = [];
  }

  /**
   * Resolves with the first request that matches, already logged (since the last clearLog) or still
   * to come: how a test waits for "the write has reached Cloudflare" without sleeping. API requests
   * unless `target: 'doh'`. Rejects after `timeoutMs` (real time) so a test that waits in vain says why.
   */
  waitForRequest(
    match: (r: LoggedRequest) => boolean,
    options: { target?: 'api' | 'doh'; timeoutMs?: number } = {},
  ): Promise<LoggedRequest> {
    const doh = options.target === 'doh';
    const seen = (doh ? this.#dohLog : this.#log).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<LoggedRequest>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? 5_000;
      const waiter = {
        match: (r: LoggedRequest, isDoh: boolean) => isDoh === doh && match(r),
        resolve: (r: LoggedRequest) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(
          new Error(`FakeCloudflare: no matching ${doh ? 'DoH' : 'API'} request within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  async close(): Promise<void> {
    this.#faults.close();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  // --- HTTP ---------------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const text = await readBody(req);
    let body: unknown;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const isDoh = url.pathname === DOH_PATH;
    const entry: LoggedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body,
      auth: req.headers.authorization,
      at: this.#now(),
    };
    (isDoh ? this.#dohLog : this.#log).push(entry);
    for (const w of this.#waiters.filter((x) => x.match(entry, isDoh))) {
      this.#waiters = this.#waiters.filter((x) => x !== w);
      w.resolve(entry);
    }

    const fault = this.#faults.take(isDoh ? 'doh' : 'api', method, url.pathname);
    if (fault) return this.#faults.answer(fault, url.pathname, req, res);

    if (isDoh) {
      if (method !== 'GET') return send(res, 405, { error: 'only GET is supported' });
      const name = url.searchParams.get('name');
      if (!name) return send(res, 400, { error: "Invalid query: missing 'name'" }); // wording not from the real service
      return send(
        res,
        200,
        answerDoh(
          this.#store,
          { stale: this.#stale, edge: this.#edge },
          name,
          url.searchParams.get('type') ?? 'A',
        ),
        {
          'content-type': 'application/dns-json',
        },
      );
    }

    if (!url.pathname.startsWith(`${API_PREFIX}/`)) {
      return send(res, 404, envelopeError([{ code: 7000, message: 'No route for that URI' }]));
    }
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return send(res, 401, envelopeError([{ code: 10000, message: 'Authentication error' }]));
    }
    try {
      const out = answerApi(
        {
          store: this.#store,
          perms: this.#perms,
          token: this.token,
          maxPerPage: this.maxPerPage,
          batchLimit: this.batchLimit,
        },
        method,
        url.pathname.slice(API_PREFIX.length),
        url.searchParams,
        body,
        text,
      );
      return send(res, 200, {
        success: true,
        errors: [],
        messages: [],
        result: out.result,
        ...(out.info ? { result_info: out.info } : {}),
      });
    } catch (err) {
      if (!(err instanceof Fail)) throw err;
      return send(
        res,
        err.error.status,
        envelopeError([{ code: err.error.code, message: err.error.message }]),
      );
    }
  }
}
