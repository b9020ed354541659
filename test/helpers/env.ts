import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The built executable that a user runs (`npm test` builds it first). */
export const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin.js');

/**
 * A loopback-only environment for a spawned agent: every endpoint it could reach (Cloudflare,
 * DoH, IP sources, router, WAN) points at 127.0.0.1 port 9 (nothing listens: refused at once),
 * with a fresh state directory. `extra` overrides.
 */
export function loopbackEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ROUTER_HOST: '',
    WAN_TARGETS: '127.0.0.1:9',
    CLOUDFLARE_API_URL: 'http://127.0.0.1:9/client/v4',
    DOH_URL: 'http://127.0.0.1:9/dns-query',
    IP_SOURCES: 'http://127.0.0.1:9/ip',
    IP_SOURCES_V6: 'http://127.0.0.1:9/ip',
    STATE_DIR: mkdtempSync(join(tmpdir(), 'ddnsw-env-')),
    LOG_FORMAT: 'json',
    ...extra,
  };
}
