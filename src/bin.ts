#!/usr/bin/env node
/**
 * The executable: runs the CLI and turns its result into the process exit code.
 *
 * SIGTERM/SIGINT handlers are installed first, before the rest of the program is loaded (that
 * takes a noticeable time on a Raspberry Pi): a signal that arrives before the agent exists ends
 * the process at once with exit 0 — nothing was started, so there is nothing to stop or save —
 * instead of killing it by the signal (exit 143). Once there is something to stop, the CLI
 * routes the signals elsewhere (main.ts for `run`).
 */
import { errorMessage } from './errors.js';
import type { SignalHandler } from './main.js';
import { redactText } from './redact.js';

/** The command, found without loading the CLI: the first argument that is not an option or its value. */
function commandOf(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '-c' || arg === '--config') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return 'run';
}

let handler: SignalHandler | undefined;
const onSignal = (signal: NodeJS.Signals): void => {
  if (handler !== undefined) {
    handler(signal);
    return;
  }
  if (commandOf(process.argv.slice(2)) === 'check') {
    // 0 would read as "in sync": an interrupted check is a runtime failure (nothing was changed).
    process.stderr.write(`Received ${signal}; check stopped before it finished (nothing was changed).\n`);
    process.exit(2);
  }
  process.stderr.write(`Received ${signal} before the agent started; nothing to stop or save.\n`);
  process.exit(0);
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

try {
  const { cli } = await import('./cli.js');
  const code = await cli(process.argv.slice(2), process.env, {
    handle: (h) => {
      handler = h;
    },
  });
  process.exitCode = code;
  // Let pending log lines flush, then leave even if a stray handle would keep us alive.
  setTimeout(() => process.exit(code), 200).unref();
} catch (err) {
  process.stderr.write(
    `ddns-watchdog stopped on an unexpected error: ${redactText(errorMessage(err))}\nPlease report this (run with LOG_LEVEL=debug for details).\n`,
  );
  process.exit(2);
}
