/**
 * What each command does (SPEC §6), for both faces: the MQTT bridge and `POST /api/command/<name>`.
 * `sync` runs a DNS cycle through the scheduler, so it never overlaps the loop's own (and keeps the
 * trigger gap, whichever face it came from), and answers with that cycle's result; `reboot`,
 * `probe` and `recovery` are the watchdog service's (src/watchdog/commands.ts). Payloads are parsed
 * by src/commands.ts — `runCommandPayload` is that parser, the dispatch and the log line in one
 * call for the HTTP face. Never: run DNS, probe or switch a plug itself — it calls what the agent
 * hands in.
 */
import {
  type Command,
  type CommandAnswer,
  type CommandHandlers,
  type CommandName,
  dispatchCommand,
  type ParsedCommand,
  parseCommand,
} from './commands.js';
import type { Config } from './config/schema.js';
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';
import type { CycleResult } from './reconciler/reconciler.js';
import type { WatchdogCommands } from './watchdog/commands.js';

export interface CommandDeps {
  config: Pick<Config, 'records' | 'mode'>;
  /** Runs a DNS cycle now (through the scheduler); false when the agent is stopping. */
  sync(reason: string, records?: readonly string[]): Promise<boolean>;
  /** The result of the last finished DNS cycle. */
  lastCycle(): CycleResult | null;
  /**
   * The watchdog's `reboot`, `probe` and `recovery`: the commands themselves, or a function that
   * returns them once the watchdog runs (null while it does not: the agent is starting, or `check`).
   */
  watchdog: WatchdogCommands | (() => WatchdogCommands | null) | null;
}

/** The answer while the watchdog is not running (the agent is starting up). */
export const WATCHDOG_NOT_RUNNING =
  'the watchdog is not running yet (the agent is starting); try again in a moment';

export function commandHandlers(deps: CommandDeps): CommandHandlers {
  const current = (): WatchdogCommands | null =>
    typeof deps.watchdog === 'function' ? deps.watchdog() : deps.watchdog;
  const refused = async (command: string): Promise<CommandAnswer> => ({
    ok: false,
    message: `${command} refused: ${WATCHDOG_NOT_RUNNING}`,
  });
  return {
    sync: (records) => syncCommand(deps, records),
    reboot: (offSeconds) => current()?.reboot(offSeconds) ?? refused('reboot'),
    probe: () => current()?.probe() ?? refused('probe'),
    recovery: (enabled) => current()?.recovery(enabled) ?? refused('recovery'),
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
    failure: 'failed',
    message: `DNS sync finished with problems: ${last.summary.slice(0, 5).join('; ')}`,
  };
}

/**
 * The §6 answer `{command, ok, message, transaction?}`, and for the HTTP face how it failed:
 * `invalid` (the payload was refused by the parser), `refused` (the handler said no), `failed`
 * (the handler ran and it did not work, or it threw).
 */
export interface CommandOutcome {
  command: string;
  ok: boolean;
  message: string;
  transaction?: string;
  failure?: 'invalid' | 'refused' | 'failed';
}

/**
 * One command from its raw payload: parsed by the same parser as an MQTT payload, run on the same
 * handlers, logged with the same lines (plus `via`). Never throws.
 */
export function runCommandPayload(
  handlers: CommandHandlers,
  name: CommandName,
  payload: Buffer,
  o: { logger: Logger; via: string },
): Promise<CommandOutcome> {
  return runParsedCommand(handlers, parseCommand(name, payload), o);
}

/** A command already parsed (the MQTT face parses first: the response topic may refuse it). */
export async function runParsedCommand(
  handlers: CommandHandlers,
  parsed: ParsedCommand,
  o: { logger: Logger; via: string },
): Promise<CommandOutcome> {
  const name = parsed.kind === 'ok' ? parsed.value.command : parsed.command;
  if (parsed.kind === 'invalid') {
    o.logger.warn(
      { command: name, via: o.via, reason: parsed.reason },
      `Refused the ${name} command: ${parsed.reason}.`,
    );
    return {
      command: parsed.command,
      ok: false,
      message: parsed.reason,
      failure: 'invalid',
      ...(parsed.transaction !== undefined ? { transaction: parsed.transaction } : {}),
    };
  }
  const cmd: Command = parsed.value;
  const transaction = cmd.transaction !== undefined ? { transaction: cmd.transaction } : {};
  let answer: CommandAnswer;
  try {
    answer = await dispatchCommand(handlers, cmd);
  } catch (err) {
    o.logger.error(
      { err: errorMessage(err), command: cmd.command, via: o.via },
      `The ${cmd.command} command failed: ${errorMessage(err)}`,
    );
    return {
      command: cmd.command,
      ok: false,
      message: `failed: ${errorMessage(err)}`,
      failure: 'failed',
      ...transaction,
    };
  }
  const failure = answer.ok ? undefined : (answer.failure ?? 'refused');
  o.logger.info(
    { command: cmd.command, ok: answer.ok, via: o.via },
    `${cmd.command} command ${failure ?? 'done'}: ${answer.message}`,
  );
  return {
    command: cmd.command,
    ok: answer.ok,
    message: answer.message,
    ...(failure ? { failure } : {}),
    ...transaction,
  };
}
