/**
 * The §6 state document (`<base>/state`, `GET /state`): the whole picture as stable JSON. Every
 * key is always present (`null` when unknown), numbers are numbers, times are ISO 8601 with an
 * offset. Pure: built from the persisted state plus what the running services report.
 */
import { isoTimeOrNull } from './clock.js';
import type { Config } from './config/schema.js';
import { type RecordStatus, type RecordType, recordStatusSchema } from './domain/dns.js';
import { aggregateStatus } from './domain/dns-plan.js';
import { HEALTH_STATES, type Health, type ProbeSummary } from './domain/health.js';
import { RECOVERY_STATES, type RecoveryStatus } from './domain/recovery-policy.js';
import type { OutageSummary } from './domain/uptime.js';
import type { PersistedState } from './state/schema.js';

/** Every `dns.status` value: the record statuses of the core (src/domain/dns.ts). */
export const DNS_STATUS_VALUES: readonly RecordStatus[] = recordStatusSchema.options;

/** @deprecated The health values live in the core: import HEALTH_STATES from src/domain/health.ts. */
export const HEALTH_VALUES = HEALTH_STATES;
/** @deprecated The recovery states live in the core: import RECOVERY_STATES from src/domain/recovery-policy.ts. */
export const RECOVERY_STATE_VALUES = RECOVERY_STATES;
// Still imported from here by src/http/metrics.ts; its home is src/domain/health.ts.
export type { Health } from './domain/health.js';

export interface StatusRecord {
  type: RecordType;
  content: string | null;
  status: RecordStatus;
  last_update: string | null;
  error: string | null;
}

export interface StatusDocument {
  health: Health;
  mode: Config['mode'];
  version: string;
  public_ip: {
    ipv4: string | null;
    ipv6: string | null;
    verified: boolean;
    sources_agreeing: string[];
    checked_at: string | null;
  };
  dns: {
    status: RecordStatus;
    last_sync: string | null;
    last_change: string | null;
    records: Record<string, StatusRecord>;
  };
  probes: { router: ProbeSummary; wan: ProbeSummary };
  uptime: {
    started_at: string;
    ready_since: string | null;
    availability_24h: number | null;
    availability_7d: number | null;
    availability_30d: number | null;
    outages: OutageSummary[];
  };
  recovery: RecoveryStatus;
}

/** What the services that are not DNS report; everything optional until they exist. */
export interface RuntimeStatus {
  health?: Health;
  probes?: { router: ProbeSummary; wan: ProbeSummary };
  uptime?: Partial<Omit<StatusDocument['uptime'], 'started_at'>>;
  recovery?: Partial<StatusDocument['recovery']>;
}

const UNKNOWN_PROBE: ProbeSummary = { ok: null, latency_ms: null, failure: null };

/**
 * Record keys are the record names. With `ip_version: both`, the AAAA entry of a name is keyed
 * `<name>/AAAA` (the A entry keeps the bare name).
 */
export function buildStatus(input: {
  state: PersistedState;
  mode: Config['mode'];
  version: string;
  startedAt: number;
  ipVersion: Config['ip_version'];
  runtime?: RuntimeStatus;
}): StatusDocument {
  const { state, runtime = {} } = input;
  const records: Record<string, StatusRecord> = {};
  const values = Object.values(state.dns.records);
  for (const r of values) {
    const key = input.ipVersion === 'both' && r.type === 'AAAA' ? `${r.name}/AAAA` : r.name;
    records[key] = {
      type: r.type,
      content: r.content,
      status: r.status,
      last_update: isoTimeOrNull(r.last_update),
      error: r.error,
    };
  }
  const pub = state.public_ip;
  return {
    health: runtime.health ?? 'probing',
    mode: input.mode,
    version: input.version,
    public_ip: {
      ipv4: pub.ipv4,
      ipv6: pub.ipv6,
      verified: pub.verified,
      sources_agreeing: [...pub.sources_agreeing],
      checked_at: isoTimeOrNull(pub.checked_at),
    },
    dns: {
      status: aggregateStatus(values.map((r) => r.status)),
      last_sync: isoTimeOrNull(state.dns.last_sync),
      last_change: isoTimeOrNull(state.dns.last_change),
      records,
    },
    probes: runtime.probes ?? { router: { ...UNKNOWN_PROBE }, wan: { ...UNKNOWN_PROBE } },
    uptime: {
      started_at: isoTimeOrNull(input.startedAt) ?? '',
      ready_since: runtime.uptime?.ready_since ?? null,
      availability_24h: runtime.uptime?.availability_24h ?? null,
      availability_7d: runtime.uptime?.availability_7d ?? null,
      availability_30d: runtime.uptime?.availability_30d ?? null,
      outages: runtime.uptime?.outages ?? [],
    },
    recovery: {
      enabled: runtime.recovery?.enabled ?? false,
      state: runtime.recovery?.state ?? 'disabled',
      power_cycles_total: runtime.recovery?.power_cycles_total ?? 0,
      last_power_cycle: runtime.recovery?.last_power_cycle ?? null,
      budget_remaining: runtime.recovery?.budget_remaining ?? null,
    },
  };
}
