import { isoTimeOrNull } from '../clock.js';
import {
  enterRecovering,
  type HealthMachine,
  type HealthStep,
  initialHealth,
  maxRoundGapMs,
  probeSummary,
  readySince,
  stepHealth,
} from '../domain/health.js';
import { type RecoveryConfig, recoveryRound, recoveryStatus } from '../domain/recovery-policy.js';
import {
  FUTURE_CYCLES_WARNING,
  finishCycle,
  freshRecovery,
  type RecoveryState,
  resumeRecovery,
  startCycle,
} from '../domain/recovery-state.js';
import {
  freshUptime,
  noteOutageAction,
  type OutageAction,
  observeUptime,
  type UptimeState,
  uptimeSummary,
} from '../domain/uptime.js';
import { errorMessage } from '../errors.js';
import type { PlugDriver } from '../plugs/plug-driver.js';
import { type ProbeRoundOutcome, runProbeRound } from '../probes/round.js';
import { Scheduler } from '../scheduler.js';
import { SAVE_AT_LEAST_EVERY_MS } from '../state/holder.js';
import { announceHealth, resyncDns } from './announce.js';
import { type ProbeReport, probeReport, type WatchdogCommands, watchdogCommands } from './commands.js';
import { type CycleContext, carryOutCycle, type RunningCycle, resumeUnfinishedCycle } from './cycle.js';
import { inRecovery, loadSections, settleClockBack } from './sections.js';
import type { WatchdogDeps, WatchdogStatus } from './types.js';

export type { WatchdogConfig, WatchdogDeps, WatchdogStatus } from './types.js';

/** Minimum gap between probe rounds run for `probe` commands; commands within it share the next round. */
export const PROBE_TRIGGER_GAP_MS = 2000;

export class WatchdogService {
  readonly #d: WatchdogDeps;
  readonly #stop = new AbortController();
  #scheduler: Scheduler | null = null;
  #health: HealthMachine;
  #uptime: UptimeState = freshUptime();
  #recovery: RecoveryState = freshRecovery();
  #startedAt = 0;
  #started = false;
  #stopped: Promise<void> | null = null;
  #cycle: RunningCycle | null = null;
  #restartOn: Promise<void> | null = null;
  /** A power cycle ran and DNS awaits the WAN's first answer (before the grace ends; manual too). */
  #resyncAfterCycle = false;
  #lastTickAt: number | null = null;
  #rounds = 0;
  #uptimeWrittenAt = Number.NEGATIVE_INFINITY;
  #lastNone: string | null = null;
  readonly #said = new Set<string>();
  /** The `reboot`, `probe` and `recovery` command handlers. */
  readonly commands: WatchdogCommands;

  constructor(deps: WatchdogDeps) {
    this.#d = deps;
    this.#health = initialHealth(deps.clock.now());
    this.commands = watchdogCommands({
      isRunning: () => this.running,
      now: () => deps.clock.now(),
      policyConfig: () => this.#policyConfig,
      recoveryState: () => this.#recovery,
      commitRecovery: (next) => this.#commit(() => next),
      noteWouldCycle: (message) => this.#noteSkipped(message, 'would_cycle', 'info'),
      startManualCycle: (off, reason) => this.#beginCycle(off, true, reason).started,
      probeNow: () => this.#probeNow(),
    });
  }

  /** When the last probe round ended (ms), null before the first: /healthz tells a stuck loop by it. */
  get lastTickAt(): number | null {
    return this.#lastTickAt;
  }

  /** A loop whose last round ended longer ago than this is stuck: three intervals plus a deadline. */
  get maxTickGapMs(): number {
    return 3 * this.#d.config.probe_interval_seconds * 1000 + this.#d.config.probe_timeout_ms;
  }

  get rounds(): number {
    return this.#rounds;
  }

  get running(): boolean {
    return this.#started && !this.#stop.signal.aborted;
  }

  /** The published `health`. */
  get health(): HealthMachine['state'] {
    return this.#health.state;
  }

  /** Loads the saved sections, makes sure an unfinished cycle ends with the plug on, starts the loop. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const { clock, logger, state } = this.#d;
    const now = clock.now();
    this.#startedAt = this.#d.startedAt ?? now;
    this.#health = initialHealth(now);
    ({ uptime: this.#uptime, recovery: this.#recovery } = loadSections(state.state, now, logger));
    this.#writeSections(now);

    const resumed = resumeUnfinishedCycle(this.#recovery, now, this.#d.plug, logger, (plug) =>
      this.#cycleContext(plug),
    );
    this.#restartOn = resumed.task;
    if (resumed.task !== null) this.#resyncAfterCycle = true;
    // After the unfinished cycle was read (a start in the future: switched on at once).
    const clamped = resumeRecovery(resumed.state, now);
    this.#recovery = clamped.state;
    if (clamped.clamped) logger.warn(FUTURE_CYCLES_WARNING);
    this.#writeSections(now);
    void this.#d.state.persist();

    const interval = this.#d.config.probe_interval_seconds * 1000;
    this.#scheduler = new Scheduler({
      clock,
      random: () => 0.5,
      intervalMs: interval,
      jitterMs: 0,
      // `probe` commands coalesce like `sync` (SPEC §6): a flood never becomes a flood of handshakes.
      triggerGapMs: this.#d.probeTriggerGapMs ?? PROBE_TRIGGER_GAP_MS,
      logger,
      run: async () => {
        const at = clock.now();
        await this.#round();
        return { retryAt: at + interval };
      },
    });
    this.#scheduler.start();
    const { enabled, state: recovery } = recoveryStatus(this.#policyInput(now));
    logger.info(
      { plug: this.#d.plug?.label ?? null, auto_recovery: enabled, recovery },
      `Watchdog started: probing the router and the WAN every ${interval / 1000} s; Auto recovery is ${enabled ? 'on' : 'off'}.`,
    );
  }

  /**
   * Stops the loop. A running agent_timed cycle switches the plug on before this resolves; a
   * self-timed one is left to the plug (and the next start). Saves the state. Never throws.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stopNow();
    return this.#stopped;
  }

  async #stopNow(): Promise<void> {
    this.#stop.abort();
    if (!this.#started) return;
    try {
      await this.#scheduler?.stop();
      await this.#cycle?.done;
      await this.#restartOn;
      const now = this.#d.clock.now();
      this.#uptime = observeUptime(this.#uptime, now, this.#health.state, this.#gap());
      this.#writeSections(now);
      await this.#d.state.persist();
    } catch (err) {
      this.#d.logger.error(
        { err: errorMessage(err) },
        `The watchdog did not stop cleanly: ${errorMessage(err)}.`,
      );
    }
  }

  /** The §6 `health`, `probes`, `uptime` and `recovery` parts of the state document. */
  status(): WatchdogStatus {
    const now = this.#d.clock.now();
    const { outages, ...availability } = uptimeSummary(this.#uptime, now);
    return {
      health: this.#health.state,
      probes: probeSummary(this.#health),
      uptime: { ready_since: isoTimeOrNull(readySince(this.#health)), ...availability, outages },
      recovery: recoveryStatus(this.#policyInput(now)),
    };
  }

  get #policyConfig(): RecoveryConfig {
    const c = this.#d.config;
    return this.#d.plug === null && c.plug_type !== 'none' ? { ...c, plug_type: 'none' } : c;
  }

  #policyInput(now: number) {
    return {
      state: this.#recovery,
      config: this.#policyConfig,
      health: this.#health.state,
      healthSince: this.#health.since,
      startedAt: this.#startedAt,
      now,
    };
  }

  #gap() {
    return { maxGapMs: maxRoundGapMs(this.#d.config.probe_interval_seconds) };
  }

  async #probeNow(): Promise<ProbeReport | null> {
    const ran = (await this.#scheduler?.trigger('probe command')) ?? false;
    return ran && !this.#stop.signal.aborted ? probeReport(this.#health) : null;
  }

  /** One probe round and everything that follows from it. Never throws. */
  async #round(): Promise<void> {
    const { clock, logger, config } = this.#d;
    try {
      const outcome = await runProbeRound(this.#d.probes, {
        timeoutMs: config.probe_timeout_ms,
        clock,
        signal: this.#stop.signal,
      });
      if (this.#stop.signal.aborted) return;
      await this.#judge(outcome);
    } catch (err) {
      logger.error(
        { err: errorMessage(err) },
        `A watchdog probe round failed unexpectedly: ${errorMessage(err)}. The next one runs on schedule; please report this if it repeats.`,
      );
    } finally {
      this.#lastTickAt = clock.now();
      this.#rounds++;
    }
  }

  async #judge(outcome: ProbeRoundOutcome): Promise<void> {
    const { clock, logger } = this.#d;
    for (const notice of outcome.notices) {
      if (this.#said.has(notice.id)) continue;
      this.#said.add(notice.id);
      logger.warn({ code: notice.code }, notice.message);
    }
    const round = outcome.round;
    const before = { uptime: this.#uptime, recovery: this.#recovery };
    this.#settleClockBack(round.at);
    const step = stepHealth(this.#health, round, {
      recovering: inRecovery(this.#recovery, this.#d.config.boot_grace_seconds, round.at),
      ...this.#gap(),
    });
    this.#uptime = observeUptime(this.#uptime, round.at, step.health.state, this.#gap());
    this.#apply(step);
    if (this.#resyncAfterCycle && this.#recovery.current === null && round.wan.some((p) => p.ok)) {
      this.#resyncAfterCycle = false;
      logger.info('The internet answers again after the power cycle: syncing DNS now (the IP may be new).');
      resyncDns(this.#d);
    }

    const now = clock.now();
    const { state, decision } = recoveryRound(this.#policyInput(now));
    this.#recovery = state;
    if (decision.kind !== 'none') this.#lastNone = null;
    switch (decision.kind) {
      case 'cycle':
        await this.#beginCycle(decision.offSeconds, false, decision.message).started;
        break;
      case 'would_cycle':
        await this.#noteSkipped(decision.message, 'would_cycle', 'info');
        break;
      case 'exhausted':
        await this.#noteSkipped(decision.message, 'exhausted', 'warn');
        break;
      case 'skip':
        await this.#noteSkipped(decision.message, 'skipped', 'warn');
        break;
      case 'none':
        if (decision.reason !== this.#lastNone) logger.debug({ reason: decision.reason }, decision.message);
        this.#lastNone = decision.reason;
        break;
    }
    const meaningful =
      step.transitions.length > 0 ||
      this.#recovery !== before.recovery ||
      this.#uptime.outages !== before.uptime.outages;
    if (meaningful || now - this.#uptimeWrittenAt >= SAVE_AT_LEAST_EVERY_MS) await this.#save();
    this.#d.state.changed();
  }

  /** The wall clock went back while running: see sections.ts settleClockBack. */
  #settleClockBack(now: number): void {
    this.#startedAt = Math.min(this.#startedAt, now);
    this.#recovery = settleClockBack(this.#recovery, now, this.#d.logger);
  }

  #apply(step: HealthStep): void {
    this.#health = step.health;
    announceHealth(step, this.#d);
  }

  /**
   * Starts a power cycle: saved (`phase: off`) before the plug hears anything, announced, health
   * to `recovering`, then carried out in the background. Callers have checked that none is running.
   */
  #beginCycle(offSeconds: number, manual: boolean, reason: string): RunningCycle {
    const plug = this.#d.plug;
    if (plug === null || this.#recovery.current !== null) {
      const message = plug === null ? 'no plug is configured' : 'a power cycle is already running';
      return { started: Promise.resolve({ ok: false, message }), done: Promise.resolve() };
    }
    const { clock, events, logger } = this.#d;
    const now = clock.now();
    const cycle = { plug: this.#d.config.plug_type, offSeconds, manual, reason };
    this.#recovery = startCycle(this.#recovery, now, cycle);
    const current = this.#recovery.current!;
    this.#uptime = noteOutageAction(this.#uptime, 'power_cycle');
    const saved = this.#save();
    const chain = (async (): Promise<RunningCycle> => {
      if (!(await saved)) {
        logger.warn(
          'The power cycle could not be saved before it started (see the state error above): if the agent is killed before the plug is back on, it cannot finish the cycle at its next start.',
        );
      }
      if (this.#stop.signal.aborted) {
        await this.#commit((s, at) => finishCycle(s, at, null));
        const message = 'the agent is stopping; the power cycle was not started';
        return { started: Promise.resolve({ ok: false, message }), done: Promise.resolve() };
      }
      events.emit('power_cycle_started', { plug: plug.label, off_seconds: offSeconds, reason });
      this.#resyncAfterCycle = true;
      logger[manual ? 'info' : 'warn']({ plug: plug.label, off_seconds: offSeconds, manual }, reason);
      // Health is `recovering` from now on, between rounds if need be (a round may have run meanwhile).
      const at = clock.now();
      const entered = enterRecovering(this.#health, at);
      this.#uptime = observeUptime(this.#uptime, at, entered.health.state, this.#gap());
      this.#apply(entered);
      this.#d.state.changed();
      return carryOutCycle(this.#cycleContext(plug), current);
    })();
    const running: RunningCycle = {
      started: chain.then((r) => r.started),
      done: chain.then((r) => r.done),
    };
    this.#cycle = running;
    void running.done.finally(() => {
      if (this.#cycle === running) this.#cycle = null;
    });
    return running;
  }

  async #noteSkipped(reason: string, action: OutageAction, level: 'info' | 'warn'): Promise<void> {
    this.#d.events.emit('power_cycle_skipped', { reason });
    this.#d.logger[level]({ action }, reason);
    this.#uptime = noteOutageAction(this.#uptime, action);
    await this.#save();
  }

  #cycleContext(plug: PlugDriver): CycleContext {
    const { clock, logger, events } = this.#d;
    return {
      plug,
      clock,
      logger,
      events,
      stop: this.#stop.signal,
      commit: (change) => this.#commit(change),
    };
  }

  async #commit(change: (state: RecoveryState, now: number) => RecoveryState): Promise<void> {
    this.#recovery = change(this.#recovery, this.#d.clock.now());
    await this.#save();
    this.#d.state.changed();
  }

  /** Writes both sections into the state and saves it (a failure is logged by the holder). */
  #save(): Promise<boolean> {
    this.#writeSections(this.#d.clock.now());
    return this.#d.state.persist();
  }

  #writeSections(now: number): void {
    const s = this.#d.state.state;
    s.uptime = this.#uptime;
    s.recovery = this.#recovery;
    this.#uptimeWrittenAt = now;
  }
}
