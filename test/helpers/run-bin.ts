/** Runs the built executable (dist/bin.js) as a user would, collecting its output and exit. */
import { type ChildProcess, spawn } from 'node:child_process';
import { BIN } from './env.js';

export interface BinRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function runBin(
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { nodeArgs?: string[]; onSpawn?: (c: ChildProcess) => void } = {},
): Promise<BinRun> {
  return new Promise((resolve) => {
    const start = Date.now();
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - start }));
    opts.onSpawn?.(child);
  });
}

/** Resolves when `stream` has printed text matching `pattern` (the child's own progress, not a timer). */
export function waitForOutput(stream: NodeJS.ReadableStream, pattern: RegExp): Promise<void> {
  return new Promise((resolve) => {
    let seen = '';
    const onData = (d: Buffer | string): void => {
      seen += String(d);
      if (pattern.test(seen)) {
        stream.off('data', onData);
        resolve();
      }
    };
    stream.on('data', onData);
  });
}
