import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { refusedHost } from './setup/loopback-only.js';

describe('the test network rule (test/setup/loopback-only.ts)', () => {
  it.each([
    ['net.connect-array/public', [[{ host: '1.1.1.1', port: 443 }, null]], '1.1.1.1'],
    ['net.connect-array/hostname', [[{ host: 'api.cloudflare.com', port: 443 }, null]], 'api.cloudflare.com'],
    ['options/private', [{ host: '192.168.1.1', port: 80 }], '192.168.1.1'],
    ['port-host/public', [443, '8.8.8.8'], '8.8.8.8'],
    ['net.connect-array/loopback', [[{ host: '127.0.0.1', port: 9 }, null]], null],
    ['options/ipv6-loopback', [{ host: '::1', port: 9 }], null],
    ['options/localhost', [{ host: 'localhost', port: 9 }], null],
    ['options/no-host-means-localhost', [{ port: 9 }], null],
    ['unix-socket', ['/tmp/sock'], null],
  ])('%s', (_n, args, expected) => {
    expect(refusedHost(args as unknown[])).toBe(expected);
  });

  it('loopback connections still work (a closed port answers ECONNREFUSED, not the guard)', async () => {
    await expect(request('http://127.0.0.1:9/', { signal: AbortSignal.timeout(2000) })).rejects.toThrow(
      /ECONNREFUSED|connect/,
    );
  });
});
