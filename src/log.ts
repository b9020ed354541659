/**
 * The root pino logger. Secrets are redacted three ways, so no line can carry one (SPEC §7):
 * the secret keys of src/redact.ts are censored by path at any depth we log; every URL in a line
 * (message, field, error, stack) loses its user info and query string, parseable or not; and the
 * configured secret values are replaced wherever they appear.
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import { REDACTED, redactText, SECRET_KEYS } from './redact.js';

export type { Logger } from 'pino';

/** Key names that hold a secret whatever module logs them. */
const GENERIC_SECRET_KEYS = ['token', 'password', 'authorization'] as const;

/** Every path that can hold a secret, at any depth we log. */
export const REDACT_PATHS: readonly string[] = [
  ...[...SECRET_KEYS, ...GENERIC_SECRET_KEYS].flatMap((key) => [key, `*.${key}`]),
  'headers.authorization',
  '*.headers.authorization',
];

export interface LogOptions {
  level?: string;
  format?: 'pretty' | 'json';
  /** Where lines go; tests pass an in-memory sink. Defaults to stdout. */
  destination?: DestinationStream;
  /** Secret values to scrub from any text too (belt and braces). */
  secrets?: readonly string[];
}

/**
 * Redacts one finished JSON line: URLs and secret values, the latter also in their JSON-escaped
 * form (a secret holding `"` or `\` is written escaped).
 */
export function redactLine(line: string, secrets: readonly string[]): string {
  const forms = secrets.flatMap((s) => {
    const escaped = JSON.stringify(s).slice(1, -1);
    return escaped === s ? [s] : [s, escaped];
  });
  return redactText(line, forms);
}

export function createLogger(options: LogOptions = {}): Logger {
  const format = options.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
  const base = {
    level: options.level ?? 'info',
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    hooks: {
      streamWrite: (line: string) => redactLine(line, secrets),
    },
    formatters: {
      level: (label: string) => ({ level: label }),
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.destination) return pino(base, options.destination);
  if (format === 'pretty') {
    return pino({
      ...base,
      formatters: {},
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:standard', ignore: 'pid,hostname' },
      },
    });
  }
  return pino(base);
}

/** A logger that drops everything (for library use and tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
