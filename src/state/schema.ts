/**
 * The persisted state's format (schema version 1). Times are epoch milliseconds.
 * The watchdog's sections (`uptime`, `recovery`) are optional, so files written before the
 * watchdog existed stay valid and load with neither; a damaged watchdog section is salvaged field
 * by field and never makes the whole file unusable (it holds the DNS record ids too).
 *
 * Keys this version does not know, at any level, are dropped on load and so are not written back:
 * a file from a newer version loads (its known sections kept), but that version's extra keys do
 * not survive a save by this one. Keeping them would keep anything at all, however large or
 * deeply nested (a key nested 200,000 deep made every later save fail), and nothing reads them.
 */
import { z } from 'zod';
import { isStoredTime } from '../clock.js';
import { recordStatusSchema, recordTypeSchema } from '../domain/dns.js';
import { parseRecovery, type RecoveryState } from '../domain/recovery-state.js';
import { parseUptime, type UptimeState } from '../domain/uptime.js';

export const STATE_SCHEMA_VERSION = 1;

/** The DNS vocabulary is the core's (src/domain/dns.ts); re-exported for existing importers. */
export { type RecordStatus, recordStatusSchema } from '../domain/dns.js';

const nullableNumber = z.number().nullable().default(null);
const NOT_A_TIME = 'is not a time (expected epoch milliseconds from 1970 to the year 9999)';
/**
 * A persisted time. Values no clock can show (1e308, negative, past the year 9999) make the file
 * invalid here, on load, instead of crashing whoever formats them later ("Invalid time value").
 */
export const storedTimeSchema = z.number({ error: NOT_A_TIME }).refine(isStoredTime, { error: NOT_A_TIME });
const nullableTime = storedTimeSchema.nullable().default(null);
const nullableString = z.string().nullable().default(null);

export const recordStateSchema = z.object({
  name: z.string(),
  type: recordTypeSchema,
  status: recordStatusSchema,
  /** What the published record holds, as last observed (DoH or API). */
  content: nullableString,
  zone_id: nullableString,
  /** The zone's name when zone_id was found, to notice a change of the `zone` setting. */
  zone_name: nullableString,
  record_id: nullableString,
  /** TTL of the published record, for telling propagation from drift. */
  ttl: nullableNumber,
  proxied: z.boolean().nullable().default(null),
  /** When we last wrote it, and what. */
  last_update: nullableTime,
  last_written_content: nullableString,
  /** When the API was last read for this record (proxied records are re-read at most hourly). */
  api_checked_at: nullableTime,
  api_checked_ip: nullableString,
  /**
   * A DoH answer resolver lag explains (not drift); see RecordState in src/domain/dns.ts. Optional:
   * files written before it existed load and save unchanged.
   */
  stale_answer: z.string().nullable().optional(),
  error: nullableString,
  /** A human sentence about the current status (what would change in dry-run, why deferred…). */
  message: nullableString,
  failures: z.number().int().nonnegative().default(0),
  next_attempt_at: nullableTime,
  retry_schedule: z
    .enum(['rate_limit', 'permission', 'recheck', 'refused_read', 'backoff'])
    .nullable()
    .optional()
    .catch(null),
  /** A non-retryable API refusal is retried only when the IP or the configuration changes. */
  blocked_for: nullableString,
});
export type RecordState = z.infer<typeof recordStateSchema>;

export const publicIpStateSchema = z.object({
  ipv4: nullableString,
  ipv6: nullableString,
  verified: z.boolean().default(false),
  sources_agreeing: z.array(z.string()).default([]),
  checked_at: nullableTime,
  error: nullableString,
});
export type PublicIpState = z.infer<typeof publicIpStateSchema>;

/** What was dropped while salvaging a watchdog section on load, for the watchdog to log once. */
const salvageProblems = new WeakMap<object, readonly string[]>();

/**
 * A watchdog section, typed as its domain schema (uptimeStateSchema, recoveryStateSchema) and read
 * by the domain's own field-by-field parser: a damaged bucket, outage or cycle record is dropped
 * alone (and remembered for `sectionProblems`), the rest of the section and the file are kept.
 */
function watchdogSection<T extends object>(parse: (raw: unknown) => { state: T; problems: string[] }) {
  return z.unknown().transform((raw): T => {
    const { state, problems } = parse(raw);
    if (problems.length > 0) salvageProblems.set(state, problems);
    return state;
  });
}

/**
 * The problems found when `section` (the loaded `uptime` or `recovery`) was read: each names what
 * was dropped. Empty for a clean section, a fresh one, or one built after loading.
 */
export function sectionProblems(section: UptimeState | RecoveryState | undefined): readonly string[] {
  return section === undefined ? [] : (salvageProblems.get(section) ?? []);
}

export const persistedStateSchema = z
  .object({
    schema: z.literal(STATE_SCHEMA_VERSION),
    public_ip: publicIpStateSchema,
    dns: z.object({
      last_sync: nullableTime,
      last_change: nullableTime,
      records: z.record(z.string(), recordStateSchema).default({}),
    }),
    /** Home Assistant components last published (component id → platform), to remove stale ones. */
    ha_components: z.record(z.string(), z.string()).optional(),
    /**
     * Where the device config and the retained state last went: a restart with another node_id,
     * discovery_prefix or mqtt_base_topic clears the old retained topics (no ghost device in HA).
     */
    ha_topics: z
      .object({ discovery: z.string().max(65_535), base: z.string().max(65_535) })
      .optional()
      .catch(undefined),
    /** The watchdog's uptime figures and outage log (src/domain/uptime.ts); absent in older files. */
    uptime: watchdogSection(parseUptime).optional(),
    /** The recovery history, a cycle in progress, the Auto recovery choice (src/domain/recovery-state.ts). */
    recovery: watchdogSection(parseRecovery).optional(),
  })
  .strip();
export type PersistedState = z.infer<typeof persistedStateSchema>;

export function freshState(): PersistedState {
  return {
    schema: STATE_SCHEMA_VERSION,
    public_ip: {
      ipv4: null,
      ipv6: null,
      verified: false,
      sources_agreeing: [],
      checked_at: null,
      error: null,
    },
    dns: { last_sync: null, last_change: null, records: {} },
  };
}

export function recordKey(name: string, type: 'A' | 'AAAA'): string {
  return `${name}/${type}`;
}

export function freshRecordState(name: string, type: 'A' | 'AAAA'): RecordState {
  return recordStateSchema.parse({ name, type, status: 'out_of_sync' });
}
