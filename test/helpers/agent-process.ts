/**
 * The built agent (dist/bin.js `run`) as a child process that a test watches while it runs: its
 * JSON log lines as they arrive (waited on, never slept on), its resident memory from /proc, and a
 * kill that resolves once the process is gone. For the crash, secrets and storm tests, which need
 * the real process (SIGKILL, RSS), not an Agent object in the test's own process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BIN } from './env.js';

export type LogLine = Record<string, unknown> & { msg?: string; level?: string | number };

export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Date.now() when it was spawned. */
  readonly spawnedAt: number;
  /** Everything it printed on stdout, in order. */
  stdout(): string;
  stderr(): string;
  /** The stdout lines that parse as JSON (log_format json), in order. */
  logs(): LogLine[];
  /** Resolves with the first log line (already printed or still to come) that matches; rejects after `ms`. */
  waitForLog(match: (line: LogLine) => boolean, what: string, ms?: number): Promise<LogLine>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<AgentExit>;
  /** Whether it is still running. */
  running(): boolean;
  /** Sends `signal` and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<AgentExit>;
  /** Resident set size in bytes from /proc/<pid>/status, or null when it is gone (or not Linux). */
  rssBytes(): number | null;
}

export function startAgentProcess(
  env: NodeJS.ProcessEnv,
  o: { args?: string[]; nodeArgs?: string[] } = {},
): AgentProcess {
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), BIN, ...(o.args ?? ['run'])], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let partial = '';
  const lines: LogLine[] = [];
  let waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  child.stdout?.on('data', (d: Buffer) => {
    const text = String(d);
    out += text;
    partial += text;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const raw of parts) {
      if (!raw.startsWith('{')) continue;
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        continue;
      }
      lines.push(line);
      const hit = waiters.filter((w) => w.match(line));
      if (hit.length > 0) waiters = waiters.filter((w) => !hit.includes(w));
      for (const w of hit) w.resolve(line);
    }
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += String(d);
  });
  let alive = true;
  const exited = new Promise<AgentExit>((resolve) => {
    child.on('exit', (code, signal) => {
      alive = false;
      resolve({ code, signal });
    });
  });
  const pid = child.pid ?? -1;
  return {
    child,
    pid,
    spawnedAt,
    stdout: () => out,
    stderr: () => err,
    logs: () => [...lines],
    waitForLog(match, what, ms = 10_000) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise<LogLine>((resolve, reject) => {
        const waiter = {
          match,
          resolve: (l: LogLine) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(new Error(`agent pid ${pid}: no log line for ${what} within ${ms} ms`));
        }, ms);
        waiters.push(waiter);
        void exited.then(() => {
          if (!waiters.includes(waiter)) return;
          waiters = waiters.filter((w) => w !== waiter);
          clearTimeout(timer);
          reject(new Error(`agent pid ${pid} exited before ${what}; stderr: ${err.slice(-500)}`));
        });
      });
    },
    exited,
    running: () => alive,
    kill(signal = 'SIGKILL') {
      if (alive) child.kill(signal);
      return exited;
    },
    rssBytes() {
      if (!alive) return null;
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
        return kb === undefined ? null : Number(kb) * 1024;
      } catch {
        return null;
      }
    },
  };
}
