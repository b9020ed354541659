/**
 * The Cloudflare API v4's wire format as this client uses it: zod schemas for what comes back
 * (envelope, error body, zone, record, batch result), the request bodies that go out, and the
 * conversion of a validated record into the core's DnsRecord. No I/O.
 */
import { z } from 'zod';
import type { DnsRecord, NewRecord, RecordPatch } from '../../domain/dns.js';

/** Lower case, no trailing dot: how record and zone names are compared everywhere. */
export function normalizeDnsName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * What a zone or record id may be. Cloudflare's are 32 hex digits; letters, digits and `._~-`
 * (unreserved in a URL, so the id goes into the request path as it is), starting with a letter
 * or digit (never `.` or `..`, which a URL would resolve to another endpoint), at most 128, are
 * accepted. Anything else (a lone surrogate, which JSON can carry and a URL cannot; controls;
 * spaces) is not an id Cloudflare gives out.
 */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;

export function isCloudflareId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** An id for a message: as it is when it is one, else quoted and cut short (controls escaped). */
export function showId(id: string): string {
  if (isCloudflareId(id)) return id;
  const quoted = JSON.stringify(id);
  return quoted.length > 42 ? `${quoted.slice(0, 40)}…"` : quoted;
}

const idSchema = z
  .string()
  .regex(ID_PATTERN, 'is not a Cloudflare id (letters, digits and ._~- up to 128, such as 32 hex digits)');

/**
 * A zone or record name: what is left after normalizeDnsName must not be empty (`.`, ` ` or ` .`
 * would otherwise come back as the name "", which no record can have).
 */
const nameSchema = z
  .string()
  .refine((n) => normalizeDnsName(n) !== '', 'is empty once trimmed of spaces and its final dot');

const apiMessageSchema = z.looseObject({ code: z.number(), message: z.string() });

export const resultInfoSchema = z.looseObject({
  page: z.number().optional(),
  per_page: z.number().optional(),
  count: z.number().optional(),
  total_count: z.number().optional(),
  total_pages: z.number().optional(),
});
export type ResultInfo = z.infer<typeof resultInfoSchema>;

export const envelopeSchema = z.looseObject({
  success: z.boolean(),
  errors: z.array(apiMessageSchema),
  messages: z.array(z.unknown()).optional(),
  result: z.unknown(),
  result_info: resultInfoSchema.nullish(),
});

/** What we read of an error body: as lenient as possible, it only decorates the status. */
export const errorBodySchema = z.looseObject({
  errors: z
    .array(z.looseObject({ code: z.number().optional(), message: z.string().optional() }))
    .nullish()
    .catch(null),
});

export const zoneSchema = z.looseObject({ id: idSchema, name: nameSchema });

/**
 * A record of any type. A and AAAA records must carry what we use (content, proxied, ttl); other
 * types appear in unfiltered listings and are skipped, so their shape is not our business.
 */
export const recordSchema = z
  .looseObject({
    id: idSchema,
    name: nameSchema,
    type: z.string().min(1),
    content: z.string().optional(),
    proxied: z.boolean().optional(),
    ttl: z.number().optional(),
    comment: z.string().nullish(),
    tags: z.array(z.string()).nullish(),
  })
  .superRefine((r, ctx) => {
    if (r.type !== 'A' && r.type !== 'AAAA') return;
    for (const key of ['content', 'proxied', 'ttl'] as const) {
      if (r[key] === undefined)
        ctx.addIssue({ code: 'custom', path: [key], message: `missing on an ${r.type} record` });
    }
  });
export type RawRecord = z.infer<typeof recordSchema>;

export const deleteResultSchema = z.looseObject({ id: idSchema });

export const batchResultSchema = z.looseObject({
  deletes: z.array(recordSchema).nullish(),
  patches: z.array(recordSchema).nullish(),
  puts: z.array(recordSchema).nullish(),
  posts: z.array(recordSchema).nullish(),
});

/** A validated record as the core sees it; null for a type the agent does not manage. */
export function toRecord(zoneId: string, r: RawRecord): DnsRecord | null {
  if (r.type !== 'A' && r.type !== 'AAAA') return null;
  return {
    id: r.id,
    zoneId,
    name: normalizeDnsName(r.name),
    type: r.type,
    content: r.content ?? '',
    proxied: r.proxied ?? false,
    ttl: r.ttl ?? 1,
    comment: r.comment ?? null,
    tags: r.tags ?? [],
  };
}

/** The created or patched record, which must be an A or AAAA record. */
export function expectRecord(zoneId: string, raw: RawRecord, bad: (why: string) => Error): DnsRecord {
  const rec = toRecord(zoneId, raw);
  if (!rec) throw bad(`the result is a ${raw.type} record, not an A or AAAA record`);
  return rec;
}

/** A batch's patched records, in the order the patches were sent (matched by id). */
export function matchPatches(
  zoneId: string,
  sent: RecordPatch[],
  got: RawRecord[],
  bad: (why: string) => Error,
): DnsRecord[] {
  const byId = new Map(got.map((r) => [r.id, r]));
  return sent.map((p) => {
    const raw = byId.get(p.id);
    if (!raw) throw bad(`the batch result has no record ${p.id} among its patches`);
    return expectRecord(zoneId, raw, bad);
  });
}

/** A batch's created records, in the order the posts were sent (matched by name and type). */
export function matchPosts(
  zoneId: string,
  sent: NewRecord[],
  got: RawRecord[],
  bad: (why: string) => Error,
): DnsRecord[] {
  if (got.length !== sent.length)
    throw bad(`the batch created ${got.length} records for ${sent.length} posts`);
  const left = [...got];
  return sent.map((p) => {
    const name = normalizeDnsName(p.name);
    // Results come in the order sent; match by name and type anyway rather than trust it blindly.
    const i = left.findIndex((r) => normalizeDnsName(r.name) === name && r.type === p.type);
    if (i < 0) throw bad(`the batch result has no ${p.type} record ${name} among its posts`);
    const [raw] = left.splice(i, 1);
    return expectRecord(zoneId, raw!, bad);
  });
}

export function postBody(record: NewRecord): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: record.type,
    name: normalizeDnsName(record.name),
    content: record.content,
    ttl: record.ttl,
  };
  if (record.proxied !== undefined) body['proxied'] = record.proxied;
  return body;
}

/** Only what the patch names: content, plus ttl/proxied when the user set them. */
export function patchBody(patch: RecordPatch): Record<string, unknown> & { id: string } {
  const body: Record<string, unknown> & { id: string } = { id: patch.id, content: patch.content };
  if (patch.ttl !== undefined) body['ttl'] = patch.ttl;
  if (patch.proxied !== undefined) body['proxied'] = patch.proxied;
  return body;
}

/** Up to three zod issues as `path: message`, for a "malformed answer" message. */
export function describeIssues(error: z.ZodError, prefix?: string): string {
  return error.issues
    .slice(0, 3)
    .map((i) => {
      const path = [prefix, ...i.path.map(String)].filter((p) => p !== undefined).join('.');
      return `${path || 'body'}: ${i.message}`;
    })
    .join('; ');
}
