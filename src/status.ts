/**
 * The §6 state document (`<base>/state`, `GET /state`): the whole picture as stable JSON. Every
 * key is always present (`null` when unknown), numbers are numbers, times are ISO 8601 with an
 * offset. Pure: built from the persisted state plus what the running services report.
 */
import { isoTimeOrNull } from './clock.js';
import { aggregateStatus } from './domain/dns-plan.js';
import { type PersistedState, type RecordStatus, recordStatusSchema } from './state/schema.js';

export const HEALTH_VALUES = [
  'probing',
  'ready',
  'degraded',
  'wan_down',
  'router_down',
  'self_down',
  'intercepted',
  'recovering',
] as const;
export type Health = (typeof HEALTH_VALUES)[number];

export const DNS_STATUS_VALUES: readonly RecordStatus[] = recordStatusSchema.options;

export const RECOVERY_STATE_VALUES = [
  'disabled',
  'idle',
  'waiting',
  'cycling',
  'grace',
  'exhausted',
] as const;
export type RecoveryState = (typeof RECOVERY_STATE_VALUES)[number];

export interface ProbeSummary {
  ok: boolean | null;
  latency_ms: number | null;
  failure: string | null;
}

export interface StatusRecord {
  type: 'A' | 'AAAA';
  content: string | null;
  status: RecordStatus;
  last_update: string | null;
  error: string | null;
}

export interface StatusDocument {
  health: Health;
  mode: 'enforce' | 'dry-run';
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
    outages: Array<{ start: string; end: string | null; class: string; action: string | null }>;
  };
  recovery: {
    enabled: boolean;
    state: RecoveryState;
    power_cycles_total: number;
    last_power_cycle: string | null;
    budget_remaining: number | null;
  };
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
  mode: 'enforce' | 'dry-run';
  version: string;
  startedAt: number;
  ipVersion: 'ipv4' | 'ipv6' | 'both';
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
