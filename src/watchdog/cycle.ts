/**
 * Carrying out one power cycle (SPEC §5) through the PlugDriver port, and the first act after a
 * restart that found a cycle unfinished. The recovery policy decided and the service saved the
 * cycle (`phase: off`) before calling in here; this module only switches the plug, waits on the
 * injected clock, and ends the cycle. Never: decide whether to cycle.
 *
 * The router is never left off by this code: an `agent_timed` cycle always ends with an `on`
 * attempt — after a failed `off`, after the wait, and at once when the service stops during it —
 * and an `on` that fails is retried (1 s doubling to 60 s) until the plug takes it. Only when the
 * service stops before the plug answers is the cycle left in the state file, so the next start
 * switches the plug on first (`resumeAfterRestart`).
 */
import type { Clock } from '../clock.js';
import type { CurrentCycle, RecoveryState } from '../domain/recovery-state.js';
import { cycleOnSent, finishCycle, resumeAfterRestart } from '../domain/recovery-state.js';
import { errorMessage } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Logger } from '../log.js';
import type { PlugDriver, PlugOutcome } from '../plugs/plug-driver.js';

export interface CycleContext {
  readonly plug: PlugDriver;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events: EventBus;
  /** Aborted when the service stops. */
  readonly stop: AbortSignal;
  /** Applies a change to the recovery state in memory and saves it at once. */
  commit(change: (state: RecoveryState, now: number) => RecoveryState): Promise<void>;
}

/** What one plug command (or the whole cycle) achieved, for a command answer or an event. */
export interface StepResult {
  readonly ok: boolean;
  readonly message: string;
  /** Sent, but the state report the driver waits for did not come (PlugOutcome.unanswered). */
  readonly unanswered?: boolean;
}

/**
 * How many times `on` is sent when the plug does not report that it is on (a device that was
 * still reconnecting to a broker that just came back never saw the first one); then the cycle
 * ends as "not confirmed".
 */
export const ON_UNANSWERED_TRIES = 5;

/** The first wait between `on` attempts; it doubles up to ON_RETRY_MAX_MS. */
export const ON_RETRY_FIRST_MS = 1000;
export const ON_RETRY_MAX_MS = 60_000;
/** When the agent stops during a cycle, the last `on` gets this long (SPEC §7: exit within 5 s). */
export const STOP_ON_TIMEOUT_MS = 2500;

export interface RunningCycle {
  /** Settles with the first plug command's outcome (the `off`, or the self-timed cycle command). */
  readonly started: Promise<StepResult>;
  /** Settles when the cycle ended, or was left in the state file for the next start. Never rejects. */
  readonly done: Promise<void>;
}

/** Carries out the saved cycle `cycle` with the plug's own timing. */
export function carryOutCycle(ctx: CycleContext, cycle: CurrentCycle): RunningCycle {
  let announce: (r: StepResult) => void = () => {};
  const started = new Promise<StepResult>((resolve) => {
    announce = resolve;
  });
  const run = ctx.plug.timing === 'self_timed' && ctx.plug.cycle ? selfTimed : agentTimed;
  const done = run(ctx, cycle, announce)
    .catch((err) => {
      ctx.logger.error(
        { err: errorMessage(err) },
        `The power cycle stopped unexpectedly: ${errorMessage(err)}. Check that the router has power; this is a bug, please report it with this line.`,
      );
    })
    .finally(() => announce({ ok: false, message: 'the power cycle ended before the plug was switched' }));
  return { started, done };
}

/**
 * At start, a cycle the last run left unfinished: with a plug, it is switched on in the background
 * (ensureOnAfterRestart); without one there is nothing to switch, so that is said and the cycle
 * closed. Returns the recovery state to keep and the background task, if any.
 */
export function resumeUnfinishedCycle(
  state: RecoveryState,
  now: number,
  plug: PlugDriver | null,
  logger: Logger,
  context: (plug: PlugDriver) => CycleContext,
): { state: RecoveryState; task: Promise<void> | null } {
  const action = resumeAfterRestart(state, now);
  if (action.kind === 'none') return { state, task: null };
  if (plug !== null) return { state, task: ensureOnAfterRestart(context(plug), action) };
  logger.error(
    `A power cycle (plug ${action.cycle.plug}) was unfinished when the agent stopped, but no plug is configured now, so the agent cannot switch it back on: check that the router has power.`,
  );
  return { state: finishCycle(state, now, null), task: null };
}

/**
 * After a restart with a cycle unfinished: switch the plug on at `at` (now, or the end of the
 * planned off time), retrying until it works, then end the cycle. Never rejects.
 */
export async function ensureOnAfterRestart(
  ctx: CycleContext,
  action: { at: number; cycle: CurrentCycle; message: string },
): Promise<void> {
  try {
    ctx.logger.warn({ plug: ctx.plug.label, phase: action.cycle.phase }, action.message);
    const wait = action.at - ctx.clock.now();
    if (wait > 0) await ctx.clock.sleep(wait, ctx.stop);
    if (ctx.stop.aborted) return;
    const on = await switchOn(ctx, { lastTryOnStop: false });
    if (on === null) return;
    await finish(ctx, {
      recordOk: null,
      eventOk: true,
      message: `A power cycle left unfinished by a restart was completed: the plug is on (${on.message}).`,
    });
  } catch (err) {
    ctx.logger.error(
      { err: errorMessage(err) },
      `Could not complete the power cycle left unfinished by a restart: ${errorMessage(err)}. Check that the router has power; this is a bug, please report it with this line.`,
    );
  }
}

async function selfTimed(ctx: CycleContext, cycle: CurrentCycle, announce: (r: StepResult) => void) {
  const offSeconds = cycle.off_seconds;
  const first = await command(ctx, (signal) => ctx.plug.cycle!(offSeconds, signal));
  announce(first);
  if (!first.ok) {
    ctx.logger.warn(
      { plug: ctx.plug.label },
      `The plug did not take the power-cycle command: ${first.message}. The agent switches it on in ${offSeconds} s to be safe; check the plug's address and power.`,
    );
  }
  // The plug switches itself back on after the off time; the cycle ends then.
  await ctx.clock.sleep(offSeconds * 1000, ctx.stop);
  if (ctx.stop.aborted) {
    ctx.logger.info(
      { plug: ctx.plug.label },
      'The agent is stopping during a power cycle: the plug switches itself back on, and the next start makes sure of it. Nothing to do.',
    );
    return;
  }
  if (first.ok) {
    await finish(ctx, {
      recordOk: true,
      eventOk: true,
      message: `The router was power-cycled: off for ${offSeconds} s, switched back on by the plug itself (${first.message}).`,
    });
    return;
  }
  // The cycle command failed: whether the plug is off is unknown, so it is switched on to be safe.
  const on = await switchOn(ctx, { lastTryOnStop: false });
  if (on === null) return;
  await finish(ctx, {
    recordOk: false,
    eventOk: false,
    message: `The plug did not take the power-cycle command (${first.message}), so the router was probably not power-cycled; the plug was switched on to be safe. Check the plug's address, login and power.`,
  });
}

async function agentTimed(ctx: CycleContext, cycle: CurrentCycle, announce: (r: StepResult) => void) {
  const offSeconds = cycle.off_seconds;
  const off = await command(ctx, (signal) => ctx.plug.off(signal));
  announce(off);
  if (!off.ok) {
    ctx.logger.warn(
      { plug: ctx.plug.label },
      `The plug did not take the off command: ${off.message}. The agent still switches it on in ${offSeconds} s to be safe; check the plug's address and power.`,
    );
  }
  // A stop during the wait ends it at once: the router is switched on before the agent exits.
  const offAt = ctx.clock.now();
  if (!ctx.stop.aborted) await ctx.clock.sleep(offSeconds * 1000, ctx.stop);
  const cutShort = ctx.stop.aborted;
  if (!cutShort) await ctx.commit((s) => cycleOnSent(s));
  const on = await switchOn(ctx, { lastTryOnStop: true });
  if (on === null) return;
  const offFor = cutShort
    ? `off for ${Math.round((ctx.clock.now() - offAt) / 1000)} s instead of ${offSeconds} s, as the agent is stopping`
    : `off for ${offSeconds} s`;
  await finish(ctx, {
    recordOk: off.ok,
    eventOk: off.ok,
    message: off.ok
      ? `The router was power-cycled: ${offFor}, then switched on by the agent (${on.message}).`
      : `The plug did not take the off command (${off.message}), so the router was probably not power-cycled; it was switched on to be safe (${on.message}). Check the plug's address, login and power.`,
  });
}

/**
 * Switches the plug on, retrying with a doubling wait until it works. When the service stops:
 * with `lastTryOnStop`, one last attempt within STOP_ON_TIMEOUT_MS; null when the plug could not
 * be switched on before the stop (the cycle stays in the state file for the next start).
 */
async function switchOn(ctx: CycleContext, o: { lastTryOnStop: boolean }): Promise<StepResult | null> {
  let wait = ON_RETRY_FIRST_MS;
  for (let attempt = 1; ; attempt++) {
    const stopping = ctx.stop.aborted;
    if (stopping && (!o.lastTryOnStop || attempt > 1)) return leftForNextStart(ctx, null);
    const signal = stopping ? AbortSignal.timeout(STOP_ON_TIMEOUT_MS) : ctx.stop;
    const on = await command(ctx, (s) => ctx.plug.on(s), signal);
    if (on.ok && on.unanswered && attempt < ON_UNANSWERED_TRIES && !stopping && !ctx.stop.aborted) {
      if (attempt === 1) {
        ctx.logger.warn(
          { plug: ctx.plug.label, attempt },
          `The plug did not report that it is on (${on.message}); sending on again, up to ${ON_UNANSWERED_TRIES} times in all.`,
        );
      }
      await ctx.clock.sleep(wait, ctx.stop);
      wait = Math.min(wait * 2, ON_RETRY_MAX_MS);
      continue;
    }
    if (on.ok) {
      if (attempt > 1)
        ctx.logger.info({ plug: ctx.plug.label, attempt }, `The plug is on again: ${on.message}.`);
      return on;
    }
    if (stopping || ctx.stop.aborted) return leftForNextStart(ctx, on.message);
    // Said at attempts 1, 2, 4, 8, …: enough to follow, not a line a minute for ever.
    if ((attempt & (attempt - 1)) === 0) {
      ctx.logger[attempt === 1 ? 'warn' : 'error'](
        { plug: ctx.plug.label, attempt },
        `Could not switch the plug on (attempt ${attempt}): ${on.message}. Retrying in ${Math.round(wait / 1000)} s; the router may be without power — check the plug's power and network, or switch it on by hand.`,
      );
    }
    await ctx.clock.sleep(wait, ctx.stop);
    wait = Math.min(wait * 2, ON_RETRY_MAX_MS);
  }
}

function leftForNextStart(ctx: CycleContext, error: string | null): null {
  ctx.logger.error(
    { plug: ctx.plug.label },
    `The agent stopped before the plug could be switched back on${error === null ? '' : ` (${error})`}: the router may be without power. The next start switches it on first; if the agent is not restarted, switch the plug on by hand.`,
  );
  return null;
}

async function finish(
  ctx: CycleContext,
  o: { recordOk: boolean | null; eventOk: boolean; message: string },
): Promise<void> {
  await ctx.commit((s, now) => finishCycle(s, now, o.recordOk));
  ctx.events.emit('power_cycle_finished', { plug: ctx.plug.label, ok: o.eventOk, message: o.message });
  if (o.eventOk) ctx.logger.info({ plug: ctx.plug.label }, o.message);
  else ctx.logger.warn({ plug: ctx.plug.label }, o.message);
}

/**
 * One plug command; a throw becomes `ok: false` with the driver's message. Messages lose their
 * final full stop: they are set inside the cycle's own sentences ("…: <message>. Retrying in 1 s").
 */
async function command(
  ctx: CycleContext,
  send: (signal: AbortSignal) => Promise<PlugOutcome>,
  signal: AbortSignal = ctx.stop,
): Promise<StepResult> {
  const clause = (text: string) => text.replace(/\.+$/, '');
  try {
    const outcome = await send(signal);
    const unconfirmed = outcome.confirmed
      ? ''
      : '; not confirmed by the plug, which is expected when it is reached through the router';
    return {
      ok: true,
      message: `${clause(outcome.message)}${unconfirmed}`,
      ...(outcome.unanswered ? { unanswered: true } : {}),
    };
  } catch (err) {
    return { ok: false, message: clause(errorMessage(err)) };
  }
}
