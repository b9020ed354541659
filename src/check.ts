/**
 * `ddns-watchdog check`: validates the configuration (already done by the caller), proves the
 * token can list each zone and its records, detects the public IP and prints the plan per record.
 * Writes nothing. Exit 0 in sync, 3 changes pending, 2 runtime failure.
 */

import { pino } from 'pino';
import { Agent, type AgentOptions } from './agent.js';
import type { Config } from './config/schema.js';
import type { DnsProvider, Zone } from './dns/dns-provider.js';
import { pickZone } from './domain/dns-plan.js';
import { errorMessage } from './errors.js';
import { createLogger, type Logger } from './log.js';
import type { RecordState } from './state/schema.js';

export interface CheckOptions {
  secrets?: readonly string[];
  out?: (line: string) => void;
  /** Test hooks. */
  agentOptions?: Partial<AgentOptions>;
  logger?: Logger;
}

export async function runCheck(config: Config, options: CheckOptions = {}): Promise<number> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const logger =
    options.logger ??
    createLogger({
      level: 'warn',
      format: 'json',
      destination: pino.destination(2),
      secrets: options.secrets ?? [],
    });
  out(
    `Configuration is valid. Mode: ${config.mode}. Records: ${config.records.map((r) => r.name).join(', ') || 'none'}.`,
  );
  // Plan in dry-run with a state that is never saved: check changes nothing.
  const agent = await Agent.create({
    // No heartbeat or webhook: check is not a run of the agent (no "up" ping, no events posted).
    config: {
      ...config,
      mode: 'dry-run',
      min_update_interval_seconds: 0,
      delete_on_stop: false,
      heartbeat_url: undefined,
      webhook_url: undefined,
    },
    logger,
    store: null,
    mqtt: false,
    ...options.agentOptions,
  });
  let runtimeFailure = false;

  if (agent.provider) {
    const ok = await verifyToken(agent.provider, config, out);
    if (!ok) runtimeFailure = true;
  } else {
    out('No cloudflare_api_token: observing through DoH only (dry-run).');
  }

  const result = await agent.reconciler.runCycle({ reason: 'check' });
  const pub = agent.state.state.public_ip;
  if (!result.ipVerified) {
    out(`Public IP: not verified — ${pub.error ?? 'no quorum'}`);
    runtimeFailure = true;
  } else {
    const ips = [pub.ipv4 && `IPv4 ${pub.ipv4}`, pub.ipv6 && `IPv6 ${pub.ipv6}`].filter(Boolean).join(', ');
    out(`Public IP: ${ips} (agreed by ${pub.sources_agreeing.join(', ')})`);
  }

  let pending = 0;
  out('Plan:');
  const types: Array<'A' | 'AAAA'> =
    config.ip_version === 'both' ? ['A', 'AAAA'] : config.ip_version === 'ipv6' ? ['AAAA'] : ['A'];
  for (const rc of config.records) {
    for (const type of types) {
      const st = agent.state.state.dns.records[`${rc.name}/${type}`];
      if (!st) {
        pending++;
        out(`  ${rc.name} ${type}: not checked (no verified public IPv${type === 'A' ? 4 : 6})`);
        continue;
      }
      out(`  ${rc.name} ${type}: ${describe(st)}`);
    }
  }
  if (config.records.length === 0) out('  (no records configured)');
  await agent.stop({ graceMs: 0 });
  if (runtimeFailure) {
    out('Result: failed (see above).');
    return 2;
  }
  if (pending > 0) {
    out(`Result: ${pending} change${pending === 1 ? '' : 's'} pending.`);
    return 3;
  }
  out('Result: everything is in sync.');
  return 0;

  function describe(st: RecordState): string {
    let line: string;
    if (st.status === 'in_sync') line = `in sync (${st.content})`;
    else if (st.status === 'updating') line = `in sync, propagating (${st.message})`;
    else if (st.status === 'dry_run') {
      pending++;
      line = st.message ?? 'would change';
    } else if (st.status === 'error') {
      runtimeFailure = true;
      line = `error: ${st.error}`;
    } else {
      pending++;
      line = st.message ?? st.status;
    }
    return line;
  }
}

/** Lists each zone the records need and its records: proof of Zone·Zone·Read and DNS read. */
async function verifyToken(
  provider: DnsProvider,
  config: Config,
  out: (l: string) => void,
): Promise<boolean> {
  let zones: Zone[];
  try {
    zones = await provider.listZones();
  } catch (err) {
    out(`Token: cannot list zones — ${errorMessage(err)}`);
    return false;
  }
  const needed = new Map<string, Zone | null>();
  for (const rc of config.records) {
    const want = rc.zone ?? config.zone;
    const zone = pickZone(zones, rc.name, want);
    needed.set(zone?.name ?? `(none for ${rc.name})`, zone ?? null);
  }
  let ok = true;
  for (const [name, zone] of needed) {
    if (!zone) {
      out(`Zone ${name}: not visible to the token — add the zone to the token's Zone Resources or set zone.`);
      ok = false;
      continue;
    }
    try {
      const records = await provider.listRecords(zone.id);
      out(`Zone ${zone.name}: token can read the zone and its ${records.length} records.`);
    } catch (err) {
      out(`Zone ${zone.name}: cannot list records — ${errorMessage(err)}`);
      ok = false;
    }
  }
  if (ok && needed.size > 0)
    out('Note: write permission (Zone · DNS · Edit) is only proven by a write; run the agent to apply.');
  return ok;
}
