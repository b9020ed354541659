/**
 * What each command does (SPEC §6), for the MQTT bridge (and the status page). `sync` runs a DNS
 * cycle through the scheduler, so it never overlaps the loop's own, and answers with that cycle's
 * result; `reboot`, `probe` and `recovery` are the watchdog service's (src/watchdog/commands.ts),
 * refused while that service is not wired. Payloads arrive parsed (src/commands.ts).
 * Never: run DNS, probe or switch a plug itself — it calls what the agent hands in.
 */
import type { CommandAnswer, CommandHandlers } from './commands.js';
import type { Config } from './config/schema.js';
import type { CycleResult } from './reconciler/reconciler.js';
import type { WatchdogCommands } from './watchdog/commands.js';

export interface CommandDeps {
  config: Pick<Config, 'records' | 'mode'>;
  /** Runs a DNS cycle now (through the scheduler); false when the agent is stopping. */
  sync(reason: string, records?: readonly string[]): Promise<boolean>;
  /** The result of the last finished DNS cycle. */
  lastCycle(): CycleResult | null;
  /** The watchdog's `reboot`, `probe` and `recovery`; null while that service is not wired. */
  watchdog: WatchdogCommands | null;
}

const NO_WATCHDOG: WatchdogCommands = {
  reboot: async () => ({ ok: false, message: 'recovery is not configured' }),
  probe: async () => ({ ok: false, message: 'recovery is not configured' }),
  recovery: async () => ({ ok: false, message: 'recovery is not configured' }),
};

export function commandHandlers(deps: CommandDeps): CommandHandlers {
  const watchdog = deps.watchdog ?? NO_WATCHDOG;
  return {
    sync: (records) => syncCommand(deps, records),
    reboot: (offSeconds) => watchdog.reboot(offSeconds),
    probe: () => watchdog.probe(),
    recovery: (enabled) => watchdog.recovery(enabled),
  };
}

/** `sync`: every record, or the named ones (which must be configured). */
async function syncCommand(deps: CommandDeps, records: string[] | undefined): Promise<CommandAnswer> {
  const { config } = deps;
  const known = new Set(config.records.map((r) => r.name));
  const wanted = records?.map((r) => r.toLowerCase().replace(/\.$/, ''));
  const unknown = wanted?.filter((r) => !known.has(r)) ?? [];
  if (unknown.length > 0) {
    return { ok: false, message: `not a configured record: ${unknown.join(', ')}` };
  }
  if (config.records.length === 0) {
    return { ok: false, message: 'no records are configured: set records to manage DNS' };
  }
  const ran = await deps.sync('command', wanted);
  const last = deps.lastCycle();
  if (!ran || !last) return { ok: false, message: 'the agent is stopping; the sync did not run' };
  if (last.ok) {
    const what =
      last.changes > 0
        ? `${last.changes} change(s) ${config.mode === 'dry-run' ? 'would be made (dry-run)' : 'made'}`
        : 'nothing to change';
    return { ok: true, message: `DNS sync done: ${what}` };
  }
  return {
    ok: false,
    message: `DNS sync finished with problems: ${last.summary.slice(0, 5).join('; ')}`,
  };
}
