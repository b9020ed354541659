/**
 * The watchdog's commands (SPEC §6): `reboot`, `probe` and `recovery`, each answering
 * `{ok, message}` for `<base>/command/result` and the status page. Payloads arrive parsed
 * (src/commands.ts refuses bad ones); the rules come from the pure core
 * (src/domain/recovery-commands.ts). Never: switch the plug or probe directly — the service does,
 * through the WatchdogControl it hands in.
 */
import { type HealthMachine, type ProbeSummary, probeSummary } from '../domain/health.js';
import { manualReboot, setAutoRecovery } from '../domain/recovery-commands.js';
import type { RecoveryConfig } from '../domain/recovery-policy.js';
import { noteWouldCycle, type RecoveryState } from '../domain/recovery-state.js';
import type { StepResult } from './cycle.js';

export interface CommandAnswer {
  ok: boolean;
  message: string;
}

/** The shape the MQTT bridge's CommandHandlers take for these three commands. */
export interface WatchdogCommands {
  reboot(offSeconds?: number): Promise<CommandAnswer>;
  probe(): Promise<CommandAnswer>;
  recovery(enabled: boolean): Promise<CommandAnswer>;
}

/** What the commands may see and do in the service. */
export interface WatchdogControl {
  /** Started and not stopping. */
  isRunning(): boolean;
  now(): number;
  /** The policy's config, with `plug_type: none` when no plug driver was built. */
  policyConfig(): RecoveryConfig;
  recoveryState(): RecoveryState;
  /** Replaces the recovery state and saves it at once. */
  commitRecovery(next: RecoveryState): Promise<void>;
  /** Dry-run said what it would do: the event, and the outage log's action. */
  noteWouldCycle(message: string): Promise<void>;
  /** Starts a manual power cycle; settles with the first plug command's outcome. */
  startManualCycle(offSeconds: number, reason: string): Promise<StepResult>;
  /** Runs a probe round now; null when the service stopped first. */
  probeNow(): Promise<ProbeReport | null>;
}

export interface ProbeReport {
  health: string;
  router: ProbeSummary;
  wan: ProbeSummary;
  /** WAN targets that answered, of how many. */
  wanAnswered: number;
  wanTotal: number;
}

const NOT_RUNNING = 'the watchdog is not running (the agent is starting or stopping); try again in a moment';

export function watchdogCommands(c: WatchdogControl): WatchdogCommands {
  return {
    async reboot(offSeconds) {
      if (!c.isRunning()) return { ok: false, message: `reboot refused: ${NOT_RUNNING}` };
      const now = c.now();
      const decision = manualReboot(c.recoveryState(), { config: c.policyConfig(), now, offSeconds });
      if (decision.kind === 'refused') return { ok: false, message: decision.reason };
      if (decision.dryRun) {
        await c.commitRecovery(noteWouldCycle(c.recoveryState(), now, decision.offSeconds, true));
        await c.noteWouldCycle(`Manual reboot: ${decision.message}.`);
        return { ok: true, message: decision.message };
      }
      const first = await c.startManualCycle(
        decision.offSeconds,
        `Manual reboot command: ${decision.message}.`,
      );
      if (first.ok) return { ok: true, message: `${decision.message}: ${first.message}` };
      return {
        ok: false,
        failure: 'failed',
        message: `the plug did not take the command (${first.message}); it is switched on again in ${decision.offSeconds} s to be safe — check the plug's address, login and power`,
      };
    },

    async probe() {
      if (!c.isRunning()) return { ok: false, message: `probe refused: ${NOT_RUNNING}` };
      const report = await c.probeNow();
      if (report === null) return { ok: false, message: 'the agent is stopping; no probe round ran' };
      return { ok: true, message: probeMessage(report) };
    },

    async recovery(enabled) {
      if (!c.isRunning()) return { ok: false, message: `recovery refused: ${NOT_RUNNING}` };
      const result = setAutoRecovery(c.recoveryState(), c.policyConfig(), enabled);
      if (result.kind === 'refused') return { ok: false, message: result.reason };
      await c.commitRecovery(result.state);
      return { ok: true, message: result.message };
    },
  };
}

/** What the last round saw, for the `probe` answer; null before the first round. */
export function probeReport(health: HealthMachine): ProbeReport | null {
  const round = health.lastRound;
  if (round === null) return null;
  return {
    health: health.state,
    ...probeSummary(health),
    wanAnswered: round.wan.filter((r) => r.ok).length,
    wanTotal: round.wan.length,
  };
}

/** `probe round done: health ready; router answered in 0.5 ms; WAN: 3 of 3 targets answered (median 12.1 ms)`. */
export function probeMessage(r: ProbeReport): string {
  const router =
    r.router.ok === null
      ? 'router not probed (router_host is empty)'
      : r.router.ok
        ? `router answered${ms(r.router.latency_ms, ' in')}`
        : `router did not answer (${r.router.failure ?? 'failed'})`;
  const failure = r.wan.failure === null ? '' : `; first failure: ${r.wan.failure}`;
  const wan = `WAN: ${r.wanAnswered} of ${r.wanTotal} target${r.wanTotal === 1 ? '' : 's'} answered${ms(r.wan.latency_ms, ', median')}${failure}`;
  return `probe round done: health ${r.health}; ${router}; ${wan}`;
}

function ms(latency: number | null, prefix: string): string {
  return latency === null ? '' : `${prefix} ${latency} ms`;
}
