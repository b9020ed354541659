/** What the composition root is built from (src/agent.ts re-exports these types). */
import type { Dispatcher } from 'undici';
import type { Clock, Random } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { DnsProvider, DohResolver } from '../dns/dns-provider.js';
import type { StaticAsset } from '../http/server.js';
import type { IpSource } from '../ip/ip-source.js';
import type { Logger } from '../log.js';
import type { PersistedState } from '../state/schema.js';
import type { StateStore } from '../state/store.js';
import type { MqttTarget } from '../supervisor.js';
import type { ProbeTestOptions } from './watchdog.js';

export interface AgentOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  random?: Random;
  /** Used for every outbound HTTP request (tests pass loopback-only agents). */
  dispatcher?: Dispatcher;
  /** Overrides the state file store (tests); by default a JsonFileStore in state_dir. */
  store?: StateStore<PersistedState> | null;
  /** Overrides adapters (tests, `check`). */
  provider?: DnsProvider | null;
  doh?: DohResolver;
  sources?: { 4: IpSource[]; 6: IpSource[] };
  /** false: no MQTT at all (check); a target: skip the Supervisor/embedded resolution (tests). */
  mqtt?: false | MqttTarget;
  /** Environment for add-on detection (SUPERVISOR_TOKEN); defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Minimum gap between triggered DNS cycles (default 5 s, DEFAULT_TRIGGER_GAP_MS; tests pass 0). */
  triggerGapMs?: number;
  /** Test-only probe settings (a test CA, ping stand-ins, a routing table); never user keys. */
  probes?: ProbeTestOptions;
  /** The status page's files (tests); default: read from the build at start; null: none. */
  pageAssets?: ReadonlyMap<string, StaticAsset> | null;
}

/** How a stop ended: `saved` is false when the final state save failed (the reason is logged). */
export interface StopOutcome {
  saved: boolean;
}
