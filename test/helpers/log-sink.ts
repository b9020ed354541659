import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

/** A pino logger writing JSON lines to memory, so tests assert on what the user reads. */
export function logSink(options: { level?: string; secrets?: string[] } = {}): {
  logger: Logger;
  lines: () => Array<Record<string, unknown>>;
  text: () => string;
  /** Forgets what was logged so far (long benchmarks). */
  clear: () => void;
} {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({
    level: options.level ?? 'debug',
    format: 'json',
    destination,
    secrets: options.secrets ?? [],
  });
  const text = () => chunks.join('');
  const lines = () =>
    text()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, text, clear: () => chunks.splice(0) };
}
