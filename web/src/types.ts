/**
 * The §6 state document and events as the page receives them over `GET /events` (the same JSON as
 * `<base>/state` and `<base>/event` on MQTT; the server's types are in src/status.ts and
 * src/events.ts). Every field is read defensively: a newer agent may add keys.
 */
export type RecordStatus = 'in_sync' | 'out_of_sync' | 'updating' | 'error' | 'dry_run' | 'disabled';

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

export interface Outage {
  start: string;
  end: string | null;
  class: string;
  action: string | null;
}

export interface StatusDocument {
  health: string;
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
    outages: Outage[];
  };
  recovery: {
    enabled: boolean;
    state: string;
    power_cycles_total: number;
    last_power_cycle: string | null;
    budget_remaining: number | null;
  };
}

/** A §6 event: `{type, at, ...}`. */
export interface AgentEvent {
  type: string;
  at: string;
  [key: string]: unknown;
}

/** A command's answer (`POST api/command/<name>`): §6 `{command, ok, message, transaction?}`. */
export interface CommandAnswer {
  command?: string;
  ok: boolean;
  message: string;
}
