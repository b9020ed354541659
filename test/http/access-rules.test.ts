import { describe, expect, it } from 'vitest';
import {
  type AccessRequest,
  bearerToken,
  decideAccess,
  FailureLimiter,
  hostName,
  isLoopbackAddress,
  isLoopbackHost,
  originProblem,
  readCookie,
  SessionCookies,
  tokenMatches,
} from '../../src/http/auth.js';
import { Liveness } from '../../src/http/liveness.js';
import { ManualClock } from '../fakes/clock.js';

const TOKEN = 'rules-test-token-0123456789';
const sessions = new SessionCookies(Buffer.alloc(32, 7));
const NOW = Date.parse('2026-03-01T00:00:00Z');

function req(over: Partial<AccessRequest>): AccessRequest {
  return {
    addon: false,
    token: undefined,
    client: '127.0.0.1',
    path: '/state',
    host: '127.0.0.1:8080',
    authorization: undefined,
    cookie: undefined,
    public: false,
    now: NOW,
    ...over,
  };
}

type Expect = { kind: 'allow'; via: string; canAct: boolean } | { kind: 'deny'; status: number };

const cases: Array<[string, Partial<AccessRequest>, Expect]> = [
  ['no token/loopback/reads and acts', {}, { kind: 'allow', via: 'loopback', canAct: true }],
  [
    'no token/loopback, localhost Host/acts',
    { host: 'localhost:8080' },
    { kind: 'allow', via: 'loopback', canAct: true },
  ],
  [
    'no token/loopback, [::1] Host/acts',
    { client: '::1', host: '[::1]:8080' },
    { kind: 'allow', via: 'loopback', canAct: true },
  ],
  [
    'no token/loopback, foreign Host/reads only',
    { host: 'rebind.example' },
    { kind: 'allow', via: 'loopback', canAct: false },
  ],
  ['no token/LAN/reads only', { client: '192.168.1.5' }, { kind: 'allow', via: 'open', canAct: false }],
  [
    'no token/LAN mapped to IPv6/reads only',
    { client: '::ffff:10.0.0.2' },
    { kind: 'allow', via: 'open', canAct: false },
  ],
  ['token/nothing/401', { token: TOKEN }, { kind: 'deny', status: 401 }],
  [
    'token/loopback is no exception/401',
    { token: TOKEN, client: '127.0.0.1' },
    { kind: 'deny', status: 401 },
  ],
  [
    'token/bearer/acts',
    { token: TOKEN, authorization: `Bearer ${TOKEN}` },
    { kind: 'allow', via: 'bearer', canAct: true },
  ],
  [
    'token/bearer, lower-case scheme/acts',
    { token: TOKEN, authorization: `bearer ${TOKEN}` },
    { kind: 'allow', via: 'bearer', canAct: true },
  ],
  ['token/basic auth/401', { token: TOKEN, authorization: `Basic ${TOKEN}` }, { kind: 'deny', status: 401 }],
  ['token/wrong bearer/401', { token: TOKEN, authorization: 'Bearer nope' }, { kind: 'deny', status: 401 }],
  [
    'token/valid cookie/acts',
    { token: TOKEN, cookie: `a=b; ddns_watchdog_session=${sessions.issue(NOW)}` },
    { kind: 'allow', via: 'cookie', canAct: true },
  ],
  [
    'token/healthz/public',
    { token: TOKEN, path: '/healthz', public: true },
    { kind: 'allow', via: 'public', canAct: false },
  ],
  [
    'addon/ingress/acts',
    { addon: true, client: '172.30.32.2' },
    { kind: 'allow', via: 'ingress', canAct: true },
  ],
  [
    'addon/ingress on a dual-stack socket/acts',
    { addon: true, client: '::ffff:172.30.32.2' },
    { kind: 'allow', via: 'ingress', canAct: true },
  ],
  [
    'addon/ingress, token set/no token needed',
    { addon: true, token: TOKEN, client: '172.30.32.2' },
    { kind: 'allow', via: 'ingress', canAct: true },
  ],
  [
    'addon/Supervisor bridge gateway/403',
    { addon: true, client: '172.30.32.1' },
    { kind: 'deny', status: 403 },
  ],
  [
    'addon/LAN with the token/403',
    { addon: true, token: TOKEN, client: '192.168.1.5', authorization: `Bearer ${TOKEN}` },
    { kind: 'deny', status: 403 },
  ],
  [
    'addon/loopback healthz/reads',
    { addon: true, path: '/healthz', public: true },
    { kind: 'allow', via: 'loopback', canAct: false },
  ],
  ['addon/loopback state/403', { addon: true }, { kind: 'deny', status: 403 }],
];

describe('decideAccess', () => {
  it.each(cases)('%s', (_name, over, expected) => {
    const access = decideAccess(req(over), sessions, new FailureLimiter());
    if (expected.kind === 'deny') {
      expect(access).toMatchObject({ kind: 'deny', status: expected.status });
      expect((access as { message: string }).message).not.toContain(TOKEN);
    } else {
      expect(access).toMatchObject({ kind: 'allow', via: expected.via });
      expect(access.kind === 'allow' && access.cannotAct === null).toBe(expected.canAct);
    }
  });
});

describe('originProblem', () => {
  const cases: Array<[string, Parameters<typeof originProblem>[0], boolean]> = [
    ['same host and port/ok', { origin: 'http://pi.local:8080', host: 'pi.local:8080', via: 'bearer' }, true],
    [
      'default port omitted by the browser/ok',
      { origin: 'https://ddns.example', host: 'ddns.example:443', via: 'cookie' },
      true,
    ],
    ['case differs/ok', { origin: 'http://PI.local:8080', host: 'pi.local:8080', via: 'cookie' }, true],
    ['other port/refused', { origin: 'http://pi.local:9999', host: 'pi.local:8080', via: 'cookie' }, false],
    ['other site/refused', { origin: 'http://evil.example', host: 'pi.local:8080', via: 'bearer' }, false],
    ['null/refused', { origin: 'null', host: 'pi.local:8080', via: 'loopback' }, false],
    ['not http/refused', { origin: 'file://', host: 'pi.local:8080', via: 'loopback' }, false],
    ['absent, bearer/ok', { origin: undefined, host: 'pi.local', via: 'bearer' }, true],
    ['absent, loopback script/ok', { origin: undefined, host: '127.0.0.1', via: 'loopback' }, true],
    ['absent, cookie/refused', { origin: undefined, host: 'pi.local', via: 'cookie' }, false],
    [
      'ingress, X-Forwarded-Host matches/ok',
      {
        origin: 'http://ha.local:8123',
        host: '172.30.33.4:8099',
        forwardedHost: 'ha.local:8123',
        via: 'ingress',
      },
      true,
    ],
    [
      'not ingress, X-Forwarded-Host matches/refused',
      {
        origin: 'http://ha.local:8123',
        host: '10.0.0.2:8080',
        forwardedHost: 'ha.local:8123',
        via: 'cookie',
      },
      false,
    ],
  ];
  it.each(cases)('origin/%s', (_name, input, ok) => {
    expect(originProblem(input) === null).toBe(ok);
  });
});

describe('small rules', () => {
  it('tokens/compare equal only when equal, whatever the length', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(tokenMatches(TOKEN.slice(0, -1), TOKEN)).toBe(false);
    expect(tokenMatches('', TOKEN)).toBe(false);
  });

  it('headers/bearer and cookie values are read exactly', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('Bearer a b')).toBeNull();
    expect(bearerToken(undefined)).toBeNull();
    expect(readCookie('x=1; ddns_watchdog_session=v1.a.b', 'ddns_watchdog_session')).toBe('v1.a.b');
    expect(readCookie('xddns_watchdog_session=1', 'ddns_watchdog_session')).toBeNull();
  });

  it('addresses/loopback and host names', () => {
    expect(isLoopbackAddress('127.8.9.10')).toBe(true);
    expect(isLoopbackAddress('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('128.0.0.1')).toBe(false);
    expect(hostName('[::1]:8080')).toBe('::1');
    expect(hostName('Pi.Local:80')).toBe('pi.local');
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('127.0.0.1.nip.io')).toBe(false);
    expect(isLoopbackHost(undefined)).toBe(false);
  });

  it('sessions/a cookie from another key (an earlier run) is refused', () => {
    const other = new SessionCookies(Buffer.alloc(32, 8));
    expect(sessions.verify(other.issue(NOW), NOW)).toBe(false);
    expect(sessions.verify(sessions.issue(NOW), NOW)).toBe(true);
    expect(sessions.verify('garbage', NOW)).toBe(false);
  });

  it('limiter/remembers a bounded number of addresses', () => {
    const limiter = new FailureLimiter(2, 60_000, 3);
    for (const ip of ['a', 'b', 'c', 'd']) {
      limiter.fail(ip, NOW);
      limiter.fail(ip, NOW);
    }
    expect(limiter.blockedFor('a', NOW)).toBe(0); // forgotten, the oldest
    expect(limiter.blockedFor('d', NOW)).toBe(60_000);
    expect(limiter.blockedFor('d', NOW + 60_000)).toBe(0);
  });
});

describe('Liveness', () => {
  it.each([
    ['liveness/just started/ok', 0, true],
    ['liveness/within 3× interval + slack/ok', 3 * 60_000 + 60_000, true],
    ['liveness/past 3× interval + slack/stuck', 3 * 60_000 + 60_001, false],
  ])('%s', async (_name, silentMs, ok) => {
    const clock = new ManualClock(NOW);
    const live = new Liveness(clock);
    live.register('DNS', { intervalMs: 60_000 });
    await clock.advance(silentMs);
    expect(live.health().ok).toBe(ok);
  });

  it('liveness/an interval that changes at run time/is read at each check', async () => {
    const clock = new ManualClock(NOW);
    const live = new Liveness(clock, { slackMs: 0 });
    let interval = 10_000;
    live.register('probe', { intervalMs: () => interval });
    await clock.advance(40_000);
    expect(live.health().ok).toBe(false);
    interval = 60_000;
    expect(live.health().ok).toBe(true);
    live.unregister('probe');
    interval = 1;
    expect(live.health().ok).toBe(true);
  });
});
