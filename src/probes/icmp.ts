/**
 * Router ICMP probe through the system `ping` (SPEC §4): spawned with an argument array (no
 * shell), `LC_ALL=C`, one echo (`-c 1 -W <s>`), and killed — with its whole process group — at
 * the deadline. Judged by exit code first, `time=` for latency (ping-output.ts). An IPv6 literal
 * uses `ping -6`, or `ping6` where `ping` does not know `-6`.
 *
 * When ping cannot run here (no binary: ENOENT; no permission: EACCES/EPERM or "Operation not
 * permitted"), `ping()` answers `unavailable` instead of a result, so the router probe can fall
 * back to TCP (router.ts). Never: log, decide health.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { ProbeResult } from '../domain/probe-result.js';
import { classifyFailure, errorCode } from './classify.js';
import { judgePing } from './ping-output.js';

export interface PingProbeOptions {
  /** An IP literal (no brackets). */
  host: string;
  /** Seconds for ping's own `-W` wait: the deadline rounded up, at least 1. */
  timeoutMs: number;
  /** The environment for the child (its PATH finds `ping`). Default process.env. LC_ALL=C is forced. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Default `ping`; `ping6` is tried for IPv6 when this one does not know `-6`. */
  command?: string;
}

export type PingRun =
  | { kind: 'result'; result: ProbeResult }
  /** ping cannot run here; `detail` says why (for the once-only notice). */
  | { kind: 'unavailable'; code: string; detail: string };

/** Bytes of output kept per run; a reply line is far shorter. */
const MAX_OUTPUT = 16 * 1024;
/** After SIGKILL, how long to wait for the child to be reaped before giving up on it. */
const REAP_GRACE_MS = 1000;

interface SpawnOutcome {
  /** `spawn` failed (ENOENT, EACCES, EPERM). */
  spawnError: string | null;
  exitCode: number | null;
  signal: string | null;
  output: string;
  /** This process killed it at the deadline. */
  killed: boolean;
  /** From the child's start (the `spawn` event) to its exit, so process start-up is not counted as network time. */
  elapsedMs: number;
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

function runOnce(
  command: string,
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  signal: AbortSignal,
): Promise<SpawnOutcome> {
  return new Promise<SpawnOutcome>((resolve) => {
    let started = performance.now();
    let output = '';
    let killed = false;
    let settled = false;
    let reapTimer: NodeJS.Timeout | undefined;
    const elapsed = () => performance.now() - started;

    const child = spawn(command, args, {
      env: { ...env, LC_ALL: 'C', LANG: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: false,
      // Its own process group, so a deadline kills anything it started too.
      detached: true,
      windowsHide: true,
    });

    const finish = (o: Omit<SpawnOutcome, 'output' | 'killed' | 'elapsedMs'>) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (reapTimer) clearTimeout(reapTimer);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({ ...o, output, killed, elapsedMs: elapsed() });
    };
    const onAbort = () => {
      killed = true;
      killGroup(child);
      // SIGKILL cannot be ignored; this only covers a child that is never reaped.
      reapTimer = setTimeout(
        () => finish({ spawnError: null, exitCode: null, signal: 'SIGKILL' }),
        REAP_GRACE_MS,
      );
    };

    const collect = (chunk: Buffer) => {
      if (output.length < MAX_OUTPUT) output += chunk.toString('utf8').slice(0, MAX_OUTPUT - output.length);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('spawn', () => {
      started = performance.now();
    });
    child.once('error', (err) => {
      // Only a failed spawn reaches here in practice; a kill error is ignored in killGroup.
      finish({ spawnError: errorCode(err) ?? 'ESPAWN', exitCode: null, signal: null });
    });
    child.once('close', (exitCode, sig) => finish({ spawnError: null, exitCode, signal: sig }));

    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

const SPAWN_UNAVAILABLE = new Set(['ENOENT', 'EACCES', 'EPERM']);

export class PingProbe {
  readonly #o: PingProbeOptions;
  readonly #v6: boolean;
  /** Set once `ping -6` turned out unknown: IPv6 goes through `ping6` from then on. */
  #usePing6 = false;

  constructor(o: PingProbeOptions) {
    this.#o = o;
    this.#v6 = o.host.includes(':');
  }

  get target(): string {
    return this.#o.host;
  }

  #waitSeconds(): string {
    return String(Math.max(1, Math.ceil(this.#o.timeoutMs / 1000)));
  }

  /** One echo request; never rejects. */
  async ping(signal: AbortSignal): Promise<PingRun> {
    const command = this.#o.command ?? 'ping';
    const env = this.#o.env ?? process.env;
    const common = ['-c', '1', '-W', this.#waitSeconds(), this.#o.host];
    if (this.#v6 && !this.#usePing6) {
      const first = await runOnce(command, ['-6', ...common], env, signal);
      const verdict = this.#judge(first, `${command} -6`);
      if (verdict.kind !== 'unsupported') return verdict.run;
      // An old iputils: `ping` is IPv4 only and `ping6` does IPv6.
      this.#usePing6 = true;
    }
    const cmd = this.#v6 ? `${command}6` : command;
    const run = await runOnce(cmd, common, env, signal);
    const verdict = this.#judge(run, cmd);
    if (verdict.kind === 'unsupported') return { kind: 'result', result: this.#failed(run, verdict.code) };
    return verdict.run;
  }

  #judge(
    run: SpawnOutcome,
    what: string,
  ): { kind: 'unsupported'; code: string } | { kind: 'unavailable' | 'done'; run: PingRun } {
    if (run.spawnError !== null) {
      if (SPAWN_UNAVAILABLE.has(run.spawnError)) {
        const why = run.spawnError === 'ENOENT' ? 'is not installed' : 'may not be run by this user';
        return {
          kind: 'unavailable',
          run: { kind: 'unavailable', code: run.spawnError, detail: `${what} ${why} (${run.spawnError})` },
        };
      }
      return { kind: 'done', run: { kind: 'result', result: this.#failed(run, run.spawnError) } };
    }
    // Killed at the deadline (a reply that won the race still counts).
    if (run.killed && run.exitCode !== 0) {
      return { kind: 'done', run: { kind: 'result', result: this.#timeout(null) } };
    }
    const verdict = judgePing(run);
    switch (verdict.kind) {
      case 'reply':
        return {
          kind: 'done',
          run: {
            kind: 'result',
            result: {
              target: this.target,
              kind: 'icmp',
              ok: true,
              latencyMs: verdict.latencyMs ?? run.elapsedMs,
              failure: null,
              code: null,
            },
          },
        };
      case 'no_reply':
        return { kind: 'done', run: { kind: 'result', result: this.#timeout(verdict.code) } };
      case 'unavailable':
        return {
          kind: 'unavailable',
          run: {
            kind: 'unavailable',
            code: verdict.code,
            detail: `${what} may not send ICMP here ("${verdict.detail}")`,
          },
        };
      case 'unsupported':
        return { kind: 'unsupported', code: verdict.code };
      case 'error':
        return { kind: 'done', run: { kind: 'result', result: this.#failed(run, verdict.code) } };
    }
  }

  #timeout(code: string | null): ProbeResult {
    return { target: this.target, kind: 'icmp', ok: false, latencyMs: null, failure: 'timeout', code };
  }

  #failed(run: SpawnOutcome, code: string): ProbeResult {
    // ping's own "Network is unreachable" is this host's routing table speaking (a remote router
    // says "Destination Net Unreachable" instead): local whatever the time ping took to start,
    // which on a loaded Pi can pass FAST_FAIL_MS. Other failures keep the timing rule.
    const elapsedMs = code === 'ENETUNREACH' ? 0 : run.elapsedMs;
    return {
      target: this.target,
      kind: 'icmp',
      ok: false,
      latencyMs: null,
      failure: classifyFailure({ code, elapsedMs, timedOut: false }),
      code,
    };
  }
}
