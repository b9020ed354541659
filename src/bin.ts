#!/usr/bin/env node
/** The executable: runs the CLI and turns its result into the process exit code. */
import { cli, EXIT } from './cli.js';
import { errorMessage } from './errors.js';

cli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Let pending log lines flush, then leave even if a stray handle would keep us alive.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err) => {
    process.stderr.write(
      `ddns-watchdog stopped on an unexpected error: ${errorMessage(err)}\nPlease report this.\n`,
    );
    process.exit(EXIT.runtime);
  },
);
