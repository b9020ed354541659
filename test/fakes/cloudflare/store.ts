/**
 * The fake Cloudflare's records and zones: what is stored, and every change the API can make to it
 * (create, patch/put, delete, one batch transaction), validated the way the API validates. No
 * HTTP: api.ts answers requests from it, doh.ts answers DNS questions from it.
 */
import { createHash } from 'node:crypto';
import { normalizeIp, parseIp } from '../../../src/domain/ip.js';

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

interface ApiError {
  status: number;
  code: number;
  message: string;
}

export class Fail extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

export function fail(status: number, code: number, message: string): never {
  throw new Fail({ status, code, message });
}

export function norm(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

export type StoredRecord = FakeRecord & { created: number; modified: number; seq: number };

export class FakeStore {
  readonly #now: () => number;
  readonly #zones = new Map<string, FakeZone>();
  readonly #records = new Map<string, StoredRecord>();
  readonly #byName = new Map<string, Set<string>>();
  #seq = 0;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** The stored zone with this id. */
  zone(id: string): FakeZone | undefined {
    return this.#zones.get(id);
  }

  /** Every stored zone (the objects themselves). */
  allZones(): FakeZone[] {
    return [...this.#zones.values()];
  }

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
    const zoneId = r.zoneId ?? this.zoneOf(name)?.id;
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
    this.insert(rec);
    return publicRecord(rec);
  }

  /** Changes a record directly (test setup); throws when the id is unknown. */
  updateRecord(id: string, changes: Partial<Omit<FakeRecord, 'id' | 'zoneId'>>): FakeRecord {
    const rec = this.#records.get(id);
    if (!rec) throw new Error(`FakeCloudflare: no record ${id}`);
    this.unindex(rec);
    Object.assign(rec, changes, { modified: this.#now() });
    rec.name = norm(rec.name);
    rec.content = canonicalContent(rec.type, rec.content);
    this.index(rec);
    return publicRecord(rec);
  }

  /** Removes a record directly (as if deleted in the dashboard). False when it did not exist. */
  deleteRecord(id: string): boolean {
    const rec = this.#records.get(id);
    if (!rec) return false;
    this.remove(rec);
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

  list(zone: FakeZone, q: URLSearchParams): StoredRecord[] {
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

  get(zone: FakeZone, id: string): StoredRecord {
    const rec = this.#records.get(id);
    if (!rec || rec.zoneId !== zone.id) fail(404, 81044, 'Record does not exist.');
    return rec;
  }

  create(zone: FakeZone, body: Record<string, unknown>): StoredRecord {
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
    this.insert(rec);
    return rec;
  }

  patch(zone: FakeZone, id: string, body: Record<string, unknown>, replace: boolean): StoredRecord {
    const rec = this.get(zone, id);
    const next: StoredRecord = { ...rec, tags: [...rec.tags], modified: this.#now() };
    if (replace) {
      next.proxied = false;
      next.ttl = 1;
      next.comment = null;
      next.tags = [];
    }
    applyFields(next, body, zone);
    this.#checkConflicts(next, rec.id);
    this.unindex(rec);
    Object.assign(rec, next);
    this.index(rec);
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

  #newId(kind: string): string {
    return createHash('md5')
      .update(`${kind}:${++this.#seq}`)
      .digest('hex');
  }

  zoneOf(name: string): FakeZone | undefined {
    let best: FakeZone | undefined;
    for (const z of this.#zones.values()) {
      if ((name === z.name || name.endsWith(`.${z.name}`)) && (!best || z.name.length > best.name.length))
        best = z;
    }
    return best;
  }

  insert(rec: StoredRecord): void {
    this.#records.set(rec.id, rec);
    this.index(rec);
  }

  remove(rec: StoredRecord): void {
    this.unindex(rec);
    this.#records.delete(rec.id);
  }

  index(rec: StoredRecord): void {
    let ids = this.#byName.get(rec.name);
    if (!ids) {
      ids = new Set();
      this.#byName.set(rec.name, ids);
    }
    ids.add(rec.id);
  }

  unindex(rec: StoredRecord): void {
    const ids = this.#byName.get(rec.name);
    ids?.delete(rec.id);
    if (ids && ids.size === 0) this.#byName.delete(rec.name);
  }
}

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

export function canonicalContent(type: FakeRecordType, content: string): string {
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

export function recordJson(r: StoredRecord): Record<string, unknown> {
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
