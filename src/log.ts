/**
 * The root pino logger. Secrets are redacted by path wherever they appear, and no module logs a
 * configuration object without going through here.
 */
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Every key that can hold a secret, at any depth we log. */
export const REDACT_PATHS = [
  'cloudflare_api_token',
  'mqtt_password',
  'plug_password',
  'ha_token',
  'token',
  'password',
  'authorization',
  'headers.authorization',
  '*.cloudflare_api_token',
  '*.mqtt_password',
  '*.plug_password',
  '*.ha_token',
  '*.token',
  '*.password',
  '*.authorization',
  '*.headers.authorization',
  'config.*',
];

export interface LogOptions {
  level?: string;
  format?: 'pretty' | 'json';
  /** Where lines go; tests pass an in-memory sink. Defaults to stdout. */
  destination?: DestinationStream;
  /** Secret values to scrub from any message text too (belt and braces). */
  secrets?: readonly string[];
}

export function createLogger(options: LogOptions = {}): Logger {
  const format = options.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
  const scrub = (text: string): string => secrets.reduce((t, s) => t.split(s).join('[Redacted]'), text);
  const base = {
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS.filter((p) => p !== 'config.*'), censor: '[Redacted]' },
    hooks: {
      logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void) {
        if (secrets.length > 0) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? scrub(a) : a)),
          );
          return;
        }
        method.apply(this, args);
      },
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
