/** The watchdog service's ports and the shapes it reports (kept apart so service.ts holds the loop only). */
import type { Clock } from '../clock.js';
import type { RecoveryConfig } from '../domain/recovery-policy.js';
import type { EventBus } from '../events.js';
import type { Logger } from '../log.js';
import type { PlugDriver } from '../plugs/plug-driver.js';
import type { ProbeSet } from '../probes/round.js';
import type { StateHolder } from '../state/holder.js';
import type { RuntimeStatus, StatusDocument } from '../status.js';

/** The config keys the watchdog reads: the probe cadence, and the recovery policy's keys. */
export interface WatchdogConfig extends RecoveryConfig {
  probe_interval_seconds: number;
  probe_timeout_ms: number;
}

export interface WatchdogDeps {
  config: WatchdogConfig;
  probes: ProbeSet;
  /** Null without a plug (`plug_type: none`): recovery only watches. */
  plug: PlugDriver | null;
  state: StateHolder;
  events: EventBus;
  clock: Clock;
  logger: Logger;
  /**
   * The WAN came back: the agent runs a DNS cycle at once (the IP has likely changed). Not awaited;
   * a throw or a rejected promise is logged.
   */
  onWanRestored?: () => unknown;
  /** Minimum gap between rounds run for `probe` commands (default PROBE_TRIGGER_GAP_MS; tests pass 0). */
  probeTriggerGapMs?: number;
  /** When the agent started (its start grace counts from here). Default: the time of start(). */
  startedAt?: number;
}

/** The §6 parts the watchdog owns; a RuntimeStatus for src/status.ts `buildStatus`. */
export interface WatchdogStatus extends RuntimeStatus {
  health: StatusDocument['health'];
  probes: StatusDocument['probes'];
  uptime: Omit<StatusDocument['uptime'], 'started_at'>;
  recovery: StatusDocument['recovery'];
}
