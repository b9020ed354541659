/**
 * The demo world's Cloudflare: one zone held in memory, served on 127.0.0.1 through the API v4
 * routes the agent uses (list zones, list/create/patch/delete records, the batch endpoint; the
 * `{success, errors, messages, result, result_info}` envelope; a bearer token) and through
 * DNS-over-HTTPS in the JSON format (`/dns-query?name=…&type=A`), answering from the same records
 * — a resolver with no cache, so what the API wrote is what DoH shows at once. Every write is told
 * to `onWrite` for the demo's timeline. Small on purpose: enough for the agent's paths, not a
 * faithful copy of Cloudflare (the test suite's fake is that).
 */
import { randomBytes } from 'node:crypto';
import { type HttpService, json, type Reply, startHttpService } from './http-service.js';

export interface DemoRecord {
  id: string;
  name: string;
  type: string;
  content: string;
  ttl: number;
  proxied: boolean;
}

export interface CloudflareWrite {
  action: 'create' | 'update' | 'delete';
  record: DemoRecord;
  /** The content before an update. */
  old: string | null;
  /** Through the batch endpoint. */
  batch: boolean;
}

export interface DemoCloudflare {
  /** API base, e.g. http://127.0.0.1:41234/client/v4 (cloudflare_api_url). */
  readonly apiUrl: string;
  /** http://127.0.0.1:41234/dns-query (doh_url). */
  readonly dohUrl: string;
  readonly zone: string;
  readonly service: HttpService;
  /** The zone's records now. */
  records(): DemoRecord[];
  close(): Promise<void>;
}

const API = '/client/v4';
const RR_TYPES: Readonly<Record<string, number>> = { A: 1, AAAA: 28 };

class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const hexId = (): string => randomBytes(16).toString('hex');
const norm = (name: string): string => name.trim().toLowerCase().replace(/\.$/, '');

export async function startDemoCloudflare(o: {
  zone: string;
  token: string;
  onWrite: (write: CloudflareWrite) => void;
}): Promise<DemoCloudflare> {
  const zone = { id: hexId(), name: norm(o.zone) };
  const records = new Map<string, DemoRecord>();

  const recordJson = (r: DemoRecord) => ({
    ...r,
    zone_id: zone.id,
    zone_name: zone.name,
    proxiable: true,
    comment: null,
    tags: [],
    created_on: '2026-01-01T00:00:00Z',
    modified_on: '2026-01-01T00:00:00Z',
  });

  const create = (body: Record<string, unknown>, batch: boolean): DemoRecord => {
    const { name, type, content } = body;
    if (typeof name !== 'string' || typeof type !== 'string' || typeof content !== 'string') {
      throw new ApiFailure(400, 9005, 'A record needs name, type and content');
    }
    const record: DemoRecord = {
      id: hexId(),
      name: norm(name),
      type,
      content,
      ttl: typeof body.ttl === 'number' ? body.ttl : 1,
      proxied: body.proxied === true,
    };
    if (!record.name.endsWith(`.${zone.name}`) && record.name !== zone.name) {
      throw new ApiFailure(400, 9005, `${record.name} is not in zone ${zone.name}`);
    }
    records.set(record.id, record);
    o.onWrite({ action: 'create', record: { ...record }, old: null, batch });
    return record;
  };

  const patch = (id: unknown, body: Record<string, unknown>, batch: boolean): DemoRecord => {
    const record = typeof id === 'string' ? records.get(id) : undefined;
    if (!record) throw new ApiFailure(404, 81044, 'Record does not exist.');
    const old = record.content;
    if (typeof body.content === 'string') record.content = body.content;
    if (typeof body.ttl === 'number') record.ttl = body.ttl;
    if (typeof body.proxied === 'boolean') record.proxied = body.proxied;
    o.onWrite({ action: 'update', record: { ...record }, old, batch });
    return record;
  };

  const remove = (id: unknown, batch: boolean): DemoRecord => {
    const record = typeof id === 'string' ? records.get(id) : undefined;
    if (!record) throw new ApiFailure(404, 81044, 'Record does not exist.');
    records.delete(record.id);
    o.onWrite({ action: 'delete', record: { ...record }, old: record.content, batch });
    return record;
  };

  const list = <T>(all: T[], q: URLSearchParams, perPageMax: number) => {
    const perPage = Math.min(perPageMax, Math.max(1, Number(q.get('per_page') ?? 100) || 100));
    const page = Math.max(1, Number(q.get('page') ?? 1) || 1);
    const result = all.slice((page - 1) * perPage, page * perPage);
    return {
      result,
      result_info: {
        page,
        per_page: perPage,
        count: result.length,
        total_count: all.length,
        total_pages: Math.max(1, Math.ceil(all.length / perPage)),
      },
    };
  };

  const objects = (value: unknown): Record<string, unknown>[] =>
    Array.isArray(value)
      ? value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null)
      : [];

  const api = (method: string, parts: string[], q: URLSearchParams, body: unknown): unknown => {
    const input = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    if (parts[0] !== 'zones') throw new ApiFailure(404, 7003, 'No route for that URI');
    if (parts.length === 1 && method === 'GET') {
      const name = q.get('name');
      const zones =
        name && norm(name) !== zone.name ? [] : [{ id: zone.id, name: zone.name, status: 'active' }];
      return list(zones, q, 50);
    }
    if (parts[1] !== zone.id) throw new ApiFailure(404, 7003, 'Could not route to the zone');
    if (parts.length === 2 && method === 'GET')
      return { result: { id: zone.id, name: zone.name, status: 'active' } };
    if (parts[2] !== 'dns_records') throw new ApiFailure(404, 7003, 'No route for that URI');
    if (parts.length === 3 && method === 'GET') {
      const name = q.get('name.exact') ?? q.get('name');
      const type = q.get('type');
      const found = [...records.values()].filter(
        (r) => (!name || r.name === norm(name)) && (!type || r.type === type),
      );
      const page = list(found, q, 5000);
      return { ...page, result: page.result.map(recordJson) };
    }
    if (parts.length === 3 && method === 'POST') return { result: recordJson(create(input, false)) };
    if (parts.length === 4 && parts[3] === 'batch' && method === 'POST') {
      // One transaction, in Cloudflare's order: deletes, patches, puts, posts (no undo needed here:
      // the agent's batches never fail half-way against this fake, and a failure answers 400).
      return {
        result: {
          deletes: objects(input.deletes).map((op) => recordJson(remove(op.id, true))),
          patches: objects(input.patches).map((op) => recordJson(patch(op.id, op, true))),
          puts: objects(input.puts).map((op) => recordJson(patch(op.id, op, true))),
          posts: objects(input.posts).map((op) => recordJson(create(op, true))),
        },
      };
    }
    if (parts.length === 4 && (method === 'PATCH' || method === 'PUT')) {
      return { result: recordJson(patch(parts[3], input, false)) };
    }
    if (parts.length === 4 && method === 'DELETE') return { result: { id: remove(parts[3], false).id } };
    if (parts.length === 4 && method === 'GET') {
      const record = records.get(parts[3] ?? '');
      if (!record) throw new ApiFailure(404, 81044, 'Record does not exist.');
      return { result: recordJson(record) };
    }
    throw new ApiFailure(405, 7001, `Method ${method} not allowed here`);
  };

  const doh = (q: URLSearchParams): Reply => {
    const name = norm(q.get('name') ?? '');
    const typeName = (q.get('type') ?? 'A').toUpperCase();
    const type = RR_TYPES[typeName] ?? Number(typeName);
    const question = [{ name, type }];
    const known = [...records.values()].filter((r) => r.name === name);
    const answers = known
      .filter((r) => RR_TYPES[r.type] === type)
      .map((r) => ({ name, type, TTL: r.ttl === 1 ? 300 : r.ttl, data: r.content }));
    const status = known.length === 0 ? 3 : 0; // NXDOMAIN for a name with no records
    return json(200, {
      Status: status,
      TC: false,
      RD: true,
      RA: true,
      AD: false,
      CD: false,
      Question: question,
      ...(answers.length > 0 ? { Answer: answers } : {}),
    });
  };

  const service = await startHttpService(({ method, url, headers, body }) => {
    if (url.pathname === '/dns-query') return doh(url.searchParams);
    if (!url.pathname.startsWith(`${API}/`)) return json(404, envelope(7003, 'No route for that URI'));
    if (headers.authorization !== `Bearer ${o.token}`)
      return json(403, envelope(10000, 'Authentication error'));
    try {
      const parts = url.pathname
        .slice(API.length + 1)
        .split('/')
        .filter((p) => p !== '')
        .map(decodeURIComponent);
      const parsed = body === '' ? undefined : (JSON.parse(body) as unknown);
      const answer = api(method, parts, url.searchParams, parsed) as Record<string, unknown>;
      return json(200, { success: true, errors: [], messages: [], ...answer });
    } catch (err) {
      if (err instanceof ApiFailure) return json(err.status, envelope(err.code, err.message));
      return json(400, envelope(6007, 'Malformed JSON in request body'));
    }
  });

  return {
    apiUrl: `${service.origin}${API}`,
    dohUrl: `${service.origin}/dns-query`,
    zone: zone.name,
    service,
    records: () => [...records.values()].map((r) => ({ ...r })),
    close: () => service.close(),
  };
}

function envelope(code: number, message: string): Record<string, unknown> {
  return { success: false, errors: [{ code, message }], messages: [], result: null };
}
