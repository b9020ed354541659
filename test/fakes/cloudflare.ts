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
 * Error codes not observed from the real API (bad route, bad JSON, batch limit) are marked below.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { normalizeIp, parseIp } from '../../src/domain/ip.js';

export type FakeRecordType = 'A' | 'AAAA' | 'CNAME' | 'TXT';

export interface FakeRecord {
  id: string;
  zoneId: string;
  name: string;
  type: FakeRecordType;
  content: string;
  proxied: boolean;
  ttl: number;
  comment: string | null;
  tags: string[];
}

export interface FakeZone {
  id: string;
  name: string;
}

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

export interface FakePermissions {
  /** Zone · Zone · Read: without it, GET /zones lists nothing. */
  zoneRead: boolean;
  /** Zone · DNS · Read: without it (and without edit), record reads get 403. */
  dnsRead: boolean;
  /** Zone · DNS · Edit: without it, record writes get 403. */
  dnsEdit: boolean;
}

export interface FakeCloudflareOptions {
  /** The only token accepted. Default 'test-token-0123456789abcdef'. */
  token?: string;
  /** Time source for the request log and timestamps. Default Date.now. */
  now?: () => number;
}

export const DEFAULT_FAKE_TOKEN = 'test-token-0123456789abcdef';
/** What DoH answers for proxied names by default: addresses inside Cloudflare's ranges. */
export const DEFAULT_EDGE_V4 = ['104.16.0.1'];
export const DEFAULT_EDGE_V6 = ['2606:4700::1'];

const API_PREFIX = '/client/v4';
const DOH_PATH = '/dns-query';
const AUTO_TTL = 300;
const RR_TYPES: Readonly<Record<string, number>> = { A: 1, CNAME: 5, TXT: 16, AAAA: 28 };

interface ApiError {
  status: number;
  code: number;
  message: string;
}

class Fail extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

function fail(status: number, code: number, message: string): never {
  throw new Fail({ status, code, message });
}

function norm(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

interface Pending {
  timer?: NodeJS.Timeout;
  res: ServerResponse;
}

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
  readonly #zones = new Map<string, FakeZone>();
  readonly #records = new Map<string, StoredRecord>();
  readonly #byName = new Map<string, Set<string>>();
  readonly #stale = new Map<string, string | null>();
  #faults: Array<FakeFault & { left: number; skipLeft: number }> = [];
  #log: LoggedRequest[] = [];
  #dohLog: LoggedRequest[] = [];
  #edge = { v4: [...DEFAULT_EDGE_V4], v6: [...DEFAULT_EDGE_V6] };
  #perms: FakePermissions = { zoneRead: true, dnsRead: true, dnsEdit: true };
  #seq = 0;
  readonly #pending = new Set<Pending>();
  #waiters: Array<{
    match: (r: LoggedRequest, doh: boolean) => boolean;
    resolve: (r: LoggedRequest) => void;
  }> = [];

  private constructor(server: Server, port: number, options: FakeCloudflareOptions) {
    this.#server = server;
    this.#now = options.now ?? (() => Date.now());
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
    const zname = norm(name);
    for (const z of this.#zones.values()) if (z.name === zname) return z.id;
    const id = this.#newId('zone');
    this.#zones.set(id, { id, name: zname });
    return id;
  }

  zones(): FakeZone[] {
    return [...this.#zones.values()].map((z) => ({ ...z }));
  }

  /**
   * Adds a record directly (no validation beyond the zone: tests may build states the API would
   * refuse, such as duplicates). The zone is the longest added zone that ends the name.
   */
  addRecord(r: Partial<FakeRecord> & { name: string; type: FakeRecordType; content: string }): FakeRecord {
    const name = norm(r.name);
    const zoneId = r.zoneId ?? this.#zoneOf(name)?.id;
    if (!zoneId || !this.#zones.has(zoneId))
      throw new Error(`FakeCloudflare: no zone holds ${name}; addZone first`);
    const now = this.#now();
    const rec = {
      id: r.id ?? this.#newId('record'),
      zoneId,
      name,
      type: r.type,
      content: canonicalContent(r.type, r.content),
      proxied: r.proxied ?? false,
      ttl: r.ttl ?? 1,
      comment: r.comment ?? null,
      tags: [...(r.tags ?? [])],
      created: now,
      modified: now,
      seq: ++this.#seq,
    };
    this.#insert(rec);
    return publicRecord(rec);
  }

  /** Changes a record directly (test setup); throws when the id is unknown. */
  updateRecord(id: string, changes: Partial<Omit<FakeRecord, 'id' | 'zoneId'>>): FakeRecord {
    const rec = this.#records.get(id);
    if (!rec) throw new Error(`FakeCloudflare: no record ${id}`);
    this.#unindex(rec);
    Object.assign(rec, changes, { modified: this.#now() });
    rec.name = norm(rec.name);
    rec.content = canonicalContent(rec.type, rec.content);
    this.#index(rec);
    return publicRecord(rec);
  }

  /** Removes a record directly (as if deleted in the dashboard). False when it did not exist. */
  deleteRecord(id: string): boolean {
    const rec = this.#records.get(id);
    if (!rec) return false;
    this.#remove(rec);
    return true;
  }

  /** Copies of the records, in creation order, optionally filtered by name (any case) and type. */
  records(filter: { name?: string; type?: string; zoneId?: string } = {}): FakeRecord[] {
    const name = filter.name === undefined ? undefined : norm(filter.name);
    const source =
      name === undefined
        ? [...this.#records.values()]
        : [...(this.#byName.get(name) ?? [])].map((id) => this.#records.get(id)!);
    return source
      .filter(
        (r) =>
          (filter.type === undefined || r.type === filter.type) &&
          (!filter.zoneId || r.zoneId === filter.zoneId),
      )
      .sort((a, b) => a.seq - b.seq)
      .map(publicRecord);
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
    this.#faults.push({ ...fault, left: fault.times ?? 1, skipLeft: fault.skip ?? 0 });
  }

  /** Drops every fault not yet consumed. */
  clearFaults(): void {
    this.#faults = [];
  }

  /** Faults not yet consumed. */
  get pendingFaults(): number {
    return this.#faults.length;
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
    for (const p of this.#pending) {
      if (p.timer) clearTimeout(p.timer);
      p.res.destroy();
    }
    this.#pending.clear();
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

    const fault = this.#takeFault(isDoh ? 'doh' : 'api', method, url.pathname);
    if (fault) return this.#answerFault(fault, url.pathname, req, res);

    if (isDoh) {
      if (method !== 'GET') return send(res, 405, { error: 'only GET is supported' });
      const name = url.searchParams.get('name');
      if (!name) return send(res, 400, { error: "Invalid query: missing 'name'" }); // wording not from the real service
      return send(res, 200, this.#doh(name, url.searchParams.get('type') ?? 'A'), {
        'content-type': 'application/dns-json',
      });
    }

    if (!url.pathname.startsWith(`${API_PREFIX}/`)) {
      return send(res, 404, envelopeError([{ code: 7000, message: 'No route for that URI' }]));
    }
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return send(res, 401, envelopeError([{ code: 10000, message: 'Authentication error' }]));
    }
    try {
      const out = this.#api(method, url.pathname.slice(API_PREFIX.length), url.searchParams, body, text);
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

  #takeFault(target: 'api' | 'doh', method: string, path: string): FakeFault | null {
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

  #answerFault(f: FakeFault, path: string, req: IncomingMessage, res: ServerResponse): void {
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

  // --- API ----------------------------------------------------------------------------------------

  #api(
    method: string,
    path: string,
    q: URLSearchParams,
    body: unknown,
    rawBody: string,
  ): { result: unknown; info?: Record<string, number> } {
    const parts = path
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
    const needBody = () => {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        // Not observed from the real API: the code for an unreadable request body.
        fail(400, 6007, rawBody === '' ? 'Request body is missing' : 'Malformed JSON in request body');
      }
      return body as Record<string, unknown>;
    };

    if (parts[0] === 'user' && parts[1] === 'tokens' && parts[2] === 'verify' && parts.length === 3) {
      if (method !== 'GET') this.#noMethod(path);
      return { result: { id: createHash('md5').update(this.token).digest('hex'), status: 'active' } };
    }
    if (parts[0] !== 'zones') return this.#noRoute(path);

    if (parts.length === 1) {
      if (method !== 'GET') this.#noMethod(path);
      let zones = this.#perms.zoneRead ? [...this.#zones.values()] : [];
      const name = q.get('name');
      if (name) zones = zones.filter((z) => z.name === norm(name));
      return this.#page(
        zones.map((z) => this.#zoneJson(z)),
        q,
        20,
        50,
      );
    }

    const zone = this.#zones.get(parts[1]!);
    if (!zone) fail(404, 7003, `Could not route to ${path}, perhaps your object identifier is invalid?`);
    if (parts.length === 2) {
      if (method !== 'GET') this.#noMethod(path);
      if (!this.#perms.zoneRead) fail(403, 10000, 'Authentication error');
      return { result: this.#zoneJson(zone) };
    }
    if (parts[2] !== 'dns_records') return this.#noRoute(path);

    const read = () => {
      if (!this.#perms.dnsRead && !this.#perms.dnsEdit) fail(403, 10000, 'Authentication error');
    };
    const write = () => {
      if (!this.#perms.dnsEdit) fail(403, 10000, 'Authentication error');
    };

    if (parts.length === 3) {
      if (method === 'GET') {
        read();
        return this.#page(this.#list(zone, q).map(recordJson), q, 100, 5_000_000);
      }
      if (method === 'POST') {
        write();
        return { result: recordJson(this.#create(zone, needBody())) };
      }
      return this.#noMethod(path);
    }

    if (parts.length === 4 && parts[3] === 'batch') {
      if (method !== 'POST') this.#noMethod(path);
      write();
      return { result: this.#batch(zone, needBody()) };
    }

    if (parts.length === 4) {
      const id = parts[3]!;
      switch (method) {
        case 'GET': {
          read();
          return { result: recordJson(this.#get(zone, id)) };
        }
        case 'PATCH': {
          write();
          return { result: recordJson(this.#patch(zone, id, needBody(), false)) };
        }
        case 'PUT': {
          write();
          return { result: recordJson(this.#patch(zone, id, needBody(), true)) };
        }
        case 'DELETE': {
          write();
          const rec = this.#get(zone, id);
          this.#remove(rec);
          return { result: { id: rec.id } };
        }
        default:
          return this.#noMethod(path);
      }
    }
    return this.#noRoute(path);
  }

  #noRoute(path: string): never {
    fail(404, 7003, `Could not route to ${path}, perhaps your object identifier is invalid?`);
  }

  #noMethod(path: string): never {
    // Not observed from the real API: the code for a method a route does not support.
    fail(405, 7001, `Method not allowed for ${path}`);
  }

  #page<T>(
    all: T[],
    q: URLSearchParams,
    defaultPerPage: number,
    maxPerPage: number,
  ): { result: T[]; info: Record<string, number> } {
    const asked = Number(q.get('per_page') ?? defaultPerPage);
    let perPage = Number.isFinite(asked) && asked >= 1 ? Math.floor(asked) : defaultPerPage;
    perPage = Math.min(perPage, maxPerPage, this.maxPerPage ?? Number.POSITIVE_INFINITY);
    const askedPage = Number(q.get('page') ?? 1);
    const page = Number.isFinite(askedPage) && askedPage >= 1 ? Math.floor(askedPage) : 1;
    const result = all.slice((page - 1) * perPage, page * perPage);
    return {
      result,
      info: {
        page,
        per_page: perPage,
        count: result.length,
        total_count: all.length,
        total_pages: Math.max(1, Math.ceil(all.length / perPage)),
      },
    };
  }

  #list(zone: FakeZone, q: URLSearchParams): StoredRecord[] {
    const exact = q.get('name.exact') ?? q.get('name');
    let recs =
      exact !== null
        ? [...(this.#byName.get(norm(exact)) ?? [])].map((id) => this.#records.get(id)!)
        : [...this.#records.values()];
    recs = recs.filter((r) => r.zoneId === zone.id);
    const type = q.get('type');
    if (type) recs = recs.filter((r) => r.type === type.toUpperCase());
    const contains = q.get('name.contains');
    if (contains) recs = recs.filter((r) => r.name.includes(contains.toLowerCase()));
    const starts = q.get('name.startswith');
    if (starts) recs = recs.filter((r) => r.name.startsWith(starts.toLowerCase()));
    const ends = q.get('name.endswith');
    if (ends) recs = recs.filter((r) => r.name.endsWith(ends.toLowerCase()));
    const content = q.get('content.exact') ?? q.get('content');
    if (content) recs = recs.filter((r) => r.content === canonicalContent(r.type, content));
    const proxied = q.get('proxied');
    if (proxied === 'true' || proxied === 'false')
      recs = recs.filter((r) => r.proxied === (proxied === 'true'));
    return recs.sort((a, b) => a.seq - b.seq);
  }

  #get(zone: FakeZone, id: string): StoredRecord {
    const rec = this.#records.get(id);
    if (!rec || rec.zoneId !== zone.id) fail(404, 81044, 'Record does not exist.');
    return rec;
  }

  #create(zone: FakeZone, body: Record<string, unknown>): StoredRecord {
    const now = this.#now();
    const rec: StoredRecord = {
      id: this.#newId('record'),
      zoneId: zone.id,
      name: '',
      type: 'A',
      content: '',
      proxied: false,
      ttl: 1,
      comment: null,
      tags: [],
      created: now,
      modified: now,
      seq: ++this.#seq,
    };
    if (body['type'] === undefined) fail(400, 9101, 'DNS record type is required.'); // code not observed
    if (body['name'] === undefined) fail(400, 9000, 'DNS name is invalid.');
    if (body['content'] === undefined) fail(400, 9002, 'DNS record content is required.'); // code not observed
    applyFields(rec, body, zone);
    this.#checkConflicts(rec, null);
    this.#insert(rec);
    return rec;
  }

  #patch(zone: FakeZone, id: string, body: Record<string, unknown>, replace: boolean): StoredRecord {
    const rec = this.#get(zone, id);
    const next: StoredRecord = { ...rec, tags: [...rec.tags], modified: this.#now() };
    if (replace) {
      next.proxied = false;
      next.ttl = 1;
      next.comment = null;
      next.tags = [];
    }
    applyFields(next, body, zone);
    this.#checkConflicts(next, rec.id);
    this.#unindex(rec);
    Object.assign(rec, next);
    this.#index(rec);
    return rec;
  }

  #checkConflicts(rec: StoredRecord, self: string | null): void {
    const same = [...(this.#byName.get(rec.name) ?? [])]
      .filter((id) => id !== self)
      .map((id) => this.#records.get(id)!)
      .filter((r) => r.zoneId === rec.zoneId);
    if (same.some((r) => r.type === rec.type && r.content === rec.content)) {
      fail(400, 81058, 'An identical record already exists.');
    }
    const addressOrCname = (t: FakeRecordType) => t === 'A' || t === 'AAAA' || t === 'CNAME';
    if (
      (rec.type === 'CNAME' && same.length > 0) ||
      (addressOrCname(rec.type) && same.some((r) => r.type === 'CNAME'))
    ) {
      fail(400, 81053, 'An A, AAAA, or CNAME record with that host already exists.');
    }
  }

  #batch(zone: FakeZone, body: Record<string, unknown>): Record<string, unknown[]> {
    const list = (key: string): Record<string, unknown>[] => {
      const v = body[key];
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'object' || x === null || Array.isArray(x))) {
        fail(400, 1004, `DNS Validation Error: ${key} must be an array of objects`); // wording not observed
      }
      return v as Record<string, unknown>[];
    };
    const deletes = list('deletes');
    const patches = list('patches');
    const puts = list('puts');
    const posts = list('posts');
    const total = deletes.length + patches.length + puts.length + posts.length;
    if (total > this.batchLimit) {
      // Not observed from the real API: the exact answer to an oversized batch.
      fail(
        400,
        1004,
        `DNS Validation Error: a batch may hold at most ${this.batchLimit} operations; got ${total}`,
      );
    }

    // One transaction: every change records how to undo itself; any failure rolls all back.
    const undo: Array<() => void> = [];
    const out: Record<string, unknown[]> = { deletes: [], patches: [], puts: [], posts: [] };
    const step = <T>(key: string, i: number, fn: () => T): T => {
      try {
        return fn();
      } catch (err) {
        if (err instanceof Fail) fail(400, err.error.code, `${key}[${i}]: ${err.error.message}`);
        throw err;
      }
    };
    const idOf = (key: string, i: number, op: Record<string, unknown>): string => {
      if (typeof op['id'] !== 'string' || op['id'] === '') fail(400, 1004, `${key}[${i}]: id is required`);
      return op['id'];
    };
    try {
      deletes.forEach((op, i) => {
        step('deletes', i, () => {
          const rec = this.#get(zone, idOf('deletes', i, op));
          const copy = { ...rec, tags: [...rec.tags] };
          this.#remove(rec);
          undo.push(() => this.#insert(copy));
          out['deletes']!.push({ id: rec.id });
        });
      });
      for (const [key, replace, ops] of [
        ['patches', false, patches],
        ['puts', true, puts],
      ] as const) {
        ops.forEach((op, i) => {
          step(key, i, () => {
            const rec = this.#get(zone, idOf(key, i, op));
            const before = { ...rec, tags: [...rec.tags] };
            const { id: _id, ...fields } = op;
            this.#patch(zone, rec.id, fields, replace);
            undo.push(() => {
              this.#unindex(rec);
              Object.assign(rec, before);
              this.#index(rec);
            });
            out[key]!.push(recordJson(rec));
          });
        });
      }
      posts.forEach((op, i) => {
        step('posts', i, () => {
          const rec = this.#create(zone, op);
          undo.push(() => this.#remove(rec));
          out['posts']!.push(recordJson(rec));
        });
      });
    } catch (err) {
      for (const u of undo.reverse()) u();
      throw err;
    }
    return out;
  }

  #zoneJson(z: FakeZone): Record<string, unknown> {
    return {
      id: z.id,
      name: z.name,
      status: 'active',
      paused: false,
      type: 'full',
      development_mode: 0,
      name_servers: ['ada.ns.cloudflare.com', 'bob.ns.cloudflare.com'],
      account: { id: 'a0000000000000000000000000000001', name: 'Fake account' },
      permissions: [],
    };
  }

  // --- DoH ----------------------------------------------------------------------------------------

  #doh(rawName: string, rawType: string): Record<string, unknown> {
    const name = norm(rawName);
    const qtype = /^\d+$/.test(rawType) ? Number(rawType) : (RR_TYPES[rawType.toUpperCase()] ?? -1);
    const base = { TC: false, RD: true, RA: true, AD: false, CD: false, Question: [{ name, type: qtype }] };
    const soa = (n: string) => {
      const zone = this.#zoneOf(n);
      return zone
        ? {
            Authority: [
              {
                name: zone.name,
                type: 6,
                TTL: 1800,
                data: `ada.ns.cloudflare.com. dns.cloudflare.com. 2350000000 10000 2400 604800 1800`,
              },
            ],
          }
        : {};
    };
    const family = qtype === 1 ? 4 : qtype === 28 ? 6 : null;

    // A stale resolver cache for this name wins over the live records.
    if (this.#stale.has(name)) {
      const content = this.#stale.get(name) ?? null;
      if (content === null) return { Status: 3, ...base, ...soa(name) };
      const ip = parseIp(content);
      if (family !== null && ip?.family === family) {
        const live = this.records({ name }).find((r) => r.type === (family === 4 ? 'A' : 'AAAA'));
        const ttl = live ? dohTtl(live.ttl) : AUTO_TTL;
        return { Status: 0, ...base, Answer: [{ name, type: qtype, TTL: ttl, data: ip.canonical }] };
      }
    }

    const answers: Array<{ name: string; type: number; TTL: number; data: string }> = [];
    let current = name;
    for (let hop = 0; hop < 8; hop++) {
      const recs = this.records({ name: current });
      if (recs.length === 0) {
        if (hop === 0) return { Status: 3, ...base, ...soa(name) };
        break; // a CNAME pointing outside what the fake knows: what we have is all we say
      }
      const proxied = recs.some(
        (r) => r.proxied && (r.type === 'A' || r.type === 'AAAA' || r.type === 'CNAME'),
      );
      if (proxied && family !== null) {
        const edge = family === 4 ? this.#edge.v4 : this.#edge.v6;
        for (const data of edge) answers.push({ name: current, type: qtype, TTL: AUTO_TTL, data });
        break;
      }
      const cname = recs.find((r) => r.type === 'CNAME');
      if (cname && qtype !== 5) {
        answers.push({ name: current, type: 5, TTL: dohTtl(cname.ttl), data: `${norm(cname.content)}.` });
        current = norm(cname.content);
        continue;
      }
      for (const r of recs) {
        if (RR_TYPES[r.type] !== qtype) continue;
        const data =
          r.type === 'TXT'
            ? JSON.stringify(r.content)
            : r.type === 'CNAME'
              ? `${norm(r.content)}.`
              : r.content;
        answers.push({ name: current, type: qtype, TTL: dohTtl(r.ttl), data });
      }
      break;
    }
    const hasFinal = answers.some((a) => a.type === qtype);
    return {
      Status: 0,
      ...base,
      ...(answers.length > 0 ? { Answer: answers } : {}),
      ...(hasFinal ? {} : soa(name)),
    };
  }

  // --- storage ------------------------------------------------------------------------------------

  #newId(kind: string): string {
    return createHash('md5')
      .update(`${kind}:${++this.#seq}`)
      .digest('hex');
  }

  #zoneOf(name: string): FakeZone | undefined {
    let best: FakeZone | undefined;
    for (const z of this.#zones.values()) {
      if ((name === z.name || name.endsWith(`.${z.name}`)) && (!best || z.name.length > best.name.length))
        best = z;
    }
    return best;
  }

  #insert(rec: StoredRecord): void {
    this.#records.set(rec.id, rec);
    this.#index(rec);
  }

  #remove(rec: StoredRecord): void {
    this.#unindex(rec);
    this.#records.delete(rec.id);
  }

  #index(rec: StoredRecord): void {
    let ids = this.#byName.get(rec.name);
    if (!ids) {
      ids = new Set();
      this.#byName.set(rec.name, ids);
    }
    ids.add(rec.id);
  }

  #unindex(rec: StoredRecord): void {
    const ids = this.#byName.get(rec.name);
    ids?.delete(rec.id);
    if (ids && ids.size === 0) this.#byName.delete(rec.name);
  }
}

type StoredRecord = FakeRecord & { created: number; modified: number; seq: number };

/** Validates and applies the writable fields of a create/patch body, as the API checks them. */
function applyFields(rec: StoredRecord, body: Record<string, unknown>, zone: FakeZone): void {
  if (body['type'] !== undefined) {
    if (
      body['type'] !== 'A' &&
      body['type'] !== 'AAAA' &&
      body['type'] !== 'CNAME' &&
      body['type'] !== 'TXT'
    ) {
      fail(400, 1004, 'DNS Validation Error: unsupported record type in this fake'); // wording not observed
    }
    rec.type = body['type'];
  }
  if (body['name'] !== undefined) {
    if (typeof body['name'] !== 'string') fail(400, 9000, 'DNS name is invalid.');
    let name = norm(body['name']);
    if (name === '@') name = zone.name;
    else if (name !== zone.name && !name.endsWith(`.${zone.name}`)) name = `${name}.${zone.name}`;
    if (!/^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) {
      fail(400, 9000, 'DNS name is invalid.');
    }
    rec.name = name;
  }
  if (body['content'] !== undefined) {
    if (typeof body['content'] !== 'string') fail(400, 9005, `Content for ${rec.type} record is invalid.`);
    rec.content = body['content'];
  }
  if (body['ttl'] !== undefined) {
    const ttl = body['ttl'];
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || (ttl !== 1 && (ttl < 60 || ttl > 86400))) {
      fail(400, 9021, 'Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.');
    }
    rec.ttl = ttl;
  }
  if (body['proxied'] !== undefined) {
    if (typeof body['proxied'] !== 'boolean') fail(400, 9003, "Invalid 'proxied' value, must be a boolean"); // code not observed
    rec.proxied = body['proxied'];
  }
  if (body['comment'] !== undefined) {
    if (body['comment'] !== null && typeof body['comment'] !== 'string')
      fail(400, 1004, 'DNS Validation Error: comment');
    rec.comment = body['comment'] === '' ? null : (body['comment'] as string | null);
  }
  if (body['tags'] !== undefined) {
    if (!Array.isArray(body['tags']) || body['tags'].some((t) => typeof t !== 'string')) {
      fail(400, 1004, 'DNS Validation Error: tags');
    }
    rec.tags = [...(body['tags'] as string[])];
  }
  // Content is judged against the final type, as a PATCH of content alone must be.
  if (rec.type === 'A' || rec.type === 'AAAA') {
    const ip = parseIp(rec.content.trim());
    const family = rec.type === 'A' ? 4 : 6;
    if (!ip || ip.family !== family)
      fail(400, rec.type === 'A' ? 9005 : 9006, `Content for ${rec.type} record is invalid.`);
    rec.content = ip.canonical;
  }
  if (rec.proxied && rec.type === 'TXT') fail(400, 9004, 'This record type cannot be proxied.');
}

function canonicalContent(type: FakeRecordType, content: string): string {
  if (type === 'A' || type === 'AAAA') return normalizeIp(content.trim()) ?? content;
  return content;
}

function publicRecord(r: StoredRecord | FakeRecord): FakeRecord {
  return {
    id: r.id,
    zoneId: r.zoneId,
    name: r.name,
    type: r.type,
    content: r.content,
    proxied: r.proxied,
    ttl: r.ttl,
    comment: r.comment,
    tags: [...r.tags],
  };
}

function recordJson(r: StoredRecord): Record<string, unknown> {
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    content: r.content,
    proxiable: r.type === 'A' || r.type === 'AAAA' || r.type === 'CNAME',
    proxied: r.proxied,
    ttl: r.ttl,
    settings: {},
    meta: {},
    comment: r.comment,
    tags: [...r.tags],
    created_on: new Date(r.created).toISOString(),
    modified_on: new Date(r.modified).toISOString(),
  };
}

function dohTtl(ttl: number): number {
  return ttl === 1 ? AUTO_TTL : ttl;
}

function envelopeError(errors: Array<{ code: number; message: string }>): Record<string, unknown> {
  return { success: false, errors, messages: [], result: null };
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

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed || res.writableEnded) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const type =
    lower['content-type'] ??
    (typeof body === 'string' && /^\s*</.test(body) ? 'text/html; charset=UTF-8' : 'application/json');
  res.writeHead(status, {
    ...lower,
    'content-type': type,
    'content-length': String(Buffer.byteLength(text)),
    'cf-ray': '0000000000000000-FAKE',
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
