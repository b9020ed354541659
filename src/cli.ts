/**
 * The command line: `ddns-watchdog [run|check|demo] [--config FILE]`, `--help`, `--version`.
 * Exit codes: 0 clean stop (check: in sync), 1 configuration error, 2 runtime failure (check:
 * also when interrupted), 3 (check only) changes pending. Everything it prints about the
 * configuration goes through src/redact.ts.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { ConfigError, errorMessage } from './errors.js';
import type { ProcessSignals } from './main.js';
import { redactText, secretValues } from './redact.js';
import { VERSION } from './version.js';

export const EXIT = { ok: 0, config: 1, runtime: 2, pending: 3 } as const;

const HELP = `ddns-watchdog ${VERSION}
Keeps Cloudflare DNS pointed at this network's public IP, watches the router and the WAN, and
publishes everything on MQTT for Home Assistant and Node-RED.

Usage: ddns-watchdog [command] [--config FILE]

Commands:
  run     run the agent until stopped (default)
  check   validate the configuration, verify the token on each zone, detect the public IP and
          print what would change per record; exit 0 in sync, 3 changes pending,
          1 configuration error, 2 runtime failure
  demo    run against a simulated world on loopback (no account, no network)

Options:
  -c, --config FILE   options file (YAML or JSON); also CONFIG_FILE
  -h, --help          show this help
  -v, --version       print the version
      --forever       (demo) keep the simulated world running after the story, until Ctrl+C

Every option can also be set in the environment in UPPER_SNAKE_CASE (RECORDS=home.example.com,
CLOUDFLARE_API_TOKEN=…, or CLOUDFLARE_API_TOKEN_FILE=/run/secrets/token). See docs/configuration.md.
`;

/**
 * Runs one command. What a command does not need is never loaded (the agent and its dependencies
 * for `--help`, a bad option or a configuration error; the `check` code for `run`; the demo for
 * both), so each starts as fast as it can (docs/benchmarks.md). bin.ts passes the signal
 * handlers it installed first; without them (`given`), handlers are installed now
 * (src/main.ts `processSignals`).
 */
export async function cli(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  given?: ProcessSignals,
): Promise<number> {
  const signals = given ?? (await import('./main.js')).processSignals();
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        forever: { type: 'boolean' },
      },
    });
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\nRun ddns-watchdog --help for usage.\n`);
    return EXIT.config;
  }
  if (parsed.values.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  if (parsed.values.version) {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  const command = parsed.positionals[0] ?? 'run';
  if (!['run', 'check', 'demo'].includes(command) || parsed.positionals.length > 1) {
    process.stderr.write(
      `Unknown command "${parsed.positionals.join(' ')}". Use run, check or demo; see --help.\n`,
    );
    return EXIT.config;
  }
  if (parsed.values.forever && command !== 'demo') {
    process.stderr.write('--forever only applies to demo: run ddns-watchdog demo --forever.\n');
    return EXIT.config;
  }
  if (command === 'demo') {
    const { runDemo } = await import('./demo.js');
    return runDemo({ env, forever: parsed.values.forever === true, signals });
  }

  if (command === 'check') {
    // check only reads: stopping it changes nothing, but its exit code must not say "in sync".
    signals.handle((signal) => {
      process.stderr.write(`Received ${signal}; check stopped before it finished (nothing was changed).\n`);
      process.exit(EXIT.runtime);
    });
  }

  let config: Config;
  try {
    const configPath = typeof parsed.values.config === 'string' ? parsed.values.config : undefined;
    const loaded = await loadConfig({
      ...(configPath ? { argvConfigPath: configPath } : {}),
      env,
      isTTY: Boolean(process.stdout.isTTY),
    });
    config = loaded.config;
  } catch (err) {
    if (err instanceof ConfigError) {
      const n = err.problems.length;
      // Problem lines never quote a secret; redacting URLs here too costs nothing.
      process.stderr.write(
        `The configuration has ${n} problem${n === 1 ? '' : 's'}:\n${err.problems.map((p) => `  - ${redactText(p)}`).join('\n')}\n${n === 1 ? 'Fix it' : 'Fix them'} and start again (docs/configuration.md lists every key).\n`,
      );
      return EXIT.config;
    }
    process.stderr.write(`Could not read the configuration: ${redactText(errorMessage(err))}\n`);
    return EXIT.config;
  }

  const secrets = secretValues(config);
  if (command === 'check') {
    // check prints source URLs and errors itself: the same redaction as every log line.
    const out = (line: string): void => {
      process.stdout.write(`${redactText(line, secrets)}\n`);
    };
    const { runCheck } = await import('./check.js');
    return runCheck(config, { secrets, out });
  }
  const [{ createLogger }, { runAgent }] = await Promise.all([import('./log.js'), import('./main.js')]);
  const logger = createLogger({ level: config.log_level, format: config.log_format, secrets });
  return runAgent(config, logger, signals);
}
