/**
 * The fake's API face: Cloudflare API v4 routes (under /client/v4) answered from the store, with
 * the permission checks, paging and error codes of the real API (see the index's doc comment).
 * The caller has already checked the token and logged the request.
 */
import { createHash } from 'node:crypto';
import { applyBatch } from './batch.js';
import { type FakeStore, type FakeZone, fail, norm, recordJson } from './store.js';

export interface FakePermissions {
  /** Zone · Zone · Read: without it, GET /zones lists nothing. */
  zoneRead: boolean;
  /** Zone · DNS · Read: without it (and without edit), record reads get 403. */
  dnsRead: boolean;
  /** Zone · DNS · Edit: without it, record writes get 403. */
  dnsEdit: boolean;
}

export interface ApiContext {
  store: FakeStore;
  perms: FakePermissions;
  token: string;
  /** Caps per_page server-side (null: the documented maxima). */
  maxPerPage: number | null;
  /** Operations allowed in one batch call. */
  batchLimit: number;
}

export function answerApi(
  ctx: ApiContext,
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
    if (method !== 'GET') noMethod(path);
    return { result: { id: createHash('md5').update(ctx.token).digest('hex'), status: 'active' } };
  }
  if (parts[0] !== 'zones') return noRoute(path);

  if (parts.length === 1) {
    if (method !== 'GET') noMethod(path);
    let zones = ctx.perms.zoneRead ? [...ctx.store.allZones()] : [];
    const name = q.get('name');
    if (name) zones = zones.filter((z) => z.name === norm(name));
    return page(
      ctx,
      zones.map((z) => zoneJson(z)),
      q,
      20,
      50,
    );
  }

  const zone = ctx.store.zone(parts[1]!);
  if (!zone) fail(404, 7003, `Could not route to ${path}, perhaps your object identifier is invalid?`);
  if (parts.length === 2) {
    if (method !== 'GET') noMethod(path);
    if (!ctx.perms.zoneRead) fail(403, 10000, 'Authentication error');
    return { result: zoneJson(zone) };
  }
  if (parts[2] !== 'dns_records') return noRoute(path);

  const read = () => {
    if (!ctx.perms.dnsRead && !ctx.perms.dnsEdit) fail(403, 10000, 'Authentication error');
  };
  const write = () => {
    if (!ctx.perms.dnsEdit) fail(403, 10000, 'Authentication error');
  };

  if (parts.length === 3) {
    if (method === 'GET') {
      read();
      return page(ctx, ctx.store.list(zone, q).map(recordJson), q, 100, 5_000_000);
    }
    if (method === 'POST') {
      write();
      return { result: recordJson(ctx.store.create(zone, needBody())) };
    }
    return noMethod(path);
  }

  if (parts.length === 4 && parts[3] === 'batch') {
    if (method !== 'POST') noMethod(path);
    write();
    return { result: applyBatch(ctx.store, zone, needBody(), ctx.batchLimit) };
  }

  if (parts.length === 4) {
    const id = parts[3]!;
    switch (method) {
      case 'GET': {
        read();
        return { result: recordJson(ctx.store.get(zone, id)) };
      }
      case 'PATCH': {
        write();
        return { result: recordJson(ctx.store.patch(zone, id, needBody(), false)) };
      }
      case 'PUT': {
        write();
        return { result: recordJson(ctx.store.patch(zone, id, needBody(), true)) };
      }
      case 'DELETE': {
        write();
        const rec = ctx.store.get(zone, id);
        ctx.store.remove(rec);
        return { result: { id: rec.id } };
      }
      default:
        return noMethod(path);
    }
  }
  return noRoute(path);
}

function noRoute(path: string): never {
  fail(404, 7003, `Could not route to ${path}, perhaps your object identifier is invalid?`);
}

function noMethod(path: string): never {
  // Not observed from the real API: the code for a method a route does not support.
  fail(405, 7001, `Method not allowed for ${path}`);
}

function page<T>(
  ctx: ApiContext,
  all: T[],
  q: URLSearchParams,
  defaultPerPage: number,
  maxPerPage: number,
): { result: T[]; info: Record<string, number> } {
  const asked = Number(q.get('per_page') ?? defaultPerPage);
  let perPage = Number.isFinite(asked) && asked >= 1 ? Math.floor(asked) : defaultPerPage;
  perPage = Math.min(perPage, maxPerPage, ctx.maxPerPage ?? Number.POSITIVE_INFINITY);
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

function zoneJson(z: FakeZone): Record<string, unknown> {
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
