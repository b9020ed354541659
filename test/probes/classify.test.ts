import { describe, expect, it } from 'vitest';
import { PROBE_FAILURES, type ProbeFailure } from '../../src/domain/probe-result.js';
import { classifyFailure, type FailureFacts } from '../../src/probes/classify.js';
import { judgePing, type PingVerdict, parsePingLatency } from '../../src/probes/ping-output.js';
import { formatTarget, parseTarget } from '../../src/probes/target.js';

describe('classifyFailure', () => {
  const cases: Array<[string, FailureFacts, ProbeFailure]> = [
    ['refused/fast', { code: 'ECONNREFUSED', elapsedMs: 0.4, timedOut: false }, 'refused'],
    ['refused/slow is still refused', { code: 'ECONNREFUSED', elapsedMs: 900, timedOut: false }, 'refused'],
    ['unreachable/net fast', { code: 'ENETUNREACH', elapsedMs: 0.2, timedOut: false }, 'unreachable'],
    ['unreachable/host fast', { code: 'EHOSTUNREACH', elapsedMs: 12, timedOut: false }, 'unreachable'],
    [
      'unreachable/host slow is a slow_fail',
      { code: 'EHOSTUNREACH', elapsedMs: 3000, timedOut: false },
      'slow_fail',
    ],
    [
      'unreachable/at the 50 ms line is slow',
      { code: 'ENETUNREACH', elapsedMs: 50, timedOut: false },
      'slow_fail',
    ],
    ['timeout/deadline', { code: null, elapsedMs: 2000, timedOut: true }, 'timeout'],
    ['timeout/deadline wins over a code', { code: 'ECONNRESET', elapsedMs: 2000, timedOut: true }, 'timeout'],
    ['timeout/kernel ETIMEDOUT', { code: 'ETIMEDOUT', elapsedMs: 1500, timedOut: false }, 'timeout'],
    [
      'tls/unknown issuer',
      { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', elapsedMs: 30, timedOut: false },
      'tls_error',
    ],
    ['tls/expired', { code: 'CERT_HAS_EXPIRED', elapsedMs: 300, timedOut: false }, 'tls_error'],
    ['tls/self-signed', { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', elapsedMs: 5, timedOut: false }, 'tls_error'],
    [
      'tls/self-signed in chain',
      { code: 'SELF_SIGNED_CERT_IN_CHAIN', elapsedMs: 5, timedOut: false },
      'tls_error',
    ],
    ['tls/wrong name', { code: 'ERR_TLS_CERT_ALTNAME_INVALID', elapsedMs: 5, timedOut: false }, 'tls_error'],
    [
      'tls/protocol error is not a certificate',
      { code: 'ERR_SSL_WRONG_VERSION_NUMBER', elapsedMs: 5, timedOut: false },
      'fast_fail',
    ],
    ['other/reset fast', { code: 'ECONNRESET', elapsedMs: 3, timedOut: false }, 'fast_fail'],
    ['other/reset slow', { code: 'ECONNRESET', elapsedMs: 400, timedOut: false }, 'slow_fail'],
    ['other/no code fast', { code: null, elapsedMs: 49.9, timedOut: false }, 'fast_fail'],
    ['other/ping exit 2 slow', { code: 'EXIT_2', elapsedMs: 120, timedOut: false }, 'slow_fail'],
  ];
  it.each(cases)('%s', (_name, facts, expected) => {
    expect(classifyFailure(facts)).toBe(expected);
  });

  it('every class of the core vocabulary is reachable', () => {
    const seen = new Set(cases.map(([, , f]) => f));
    expect([...seen].sort()).toEqual([...PROBE_FAILURES].sort());
  });
});

const IPUTILS_REPLY = [
  'PING 192.168.1.1 (192.168.1.1) 56(84) bytes of data.',
  '64 bytes from 192.168.1.1: icmp_seq=1 ttl=64 time=0.512 ms',
  '',
  '--- 192.168.1.1 ping statistics ---',
  '1 packets transmitted, 1 received, 0% packet loss, time 0ms',
  'rtt min/avg/max/mdev = 0.512/0.512/0.512/0.000 ms',
].join('\n');
const BUSYBOX_REPLY = [
  'PING 192.168.1.1 (192.168.1.1): 56 data bytes',
  '64 bytes from 192.168.1.1: seq=0 ttl=64 time=12.75 ms',
  '',
  '--- 192.168.1.1 ping statistics ---',
  '1 packets transmitted, 1 packets received, 0% packet loss',
  'round-trip min/avg/max = 12.75/12.75/12.75 ms',
].join('\n');

describe('parsePingLatency', () => {
  it.each([
    ['iputils/reply line', IPUTILS_REPLY, 0.512],
    ['busybox/reply line', BUSYBOX_REPLY, 12.75],
    ['iputils/integer time', '64 bytes from ::1: icmp_seq=1 ttl=64 time=3 ms', 3],
    ['old style/time below 1 ms', '64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time<1 ms', 1],
    ['no reply line/null', '1 packets transmitted, 0 received, 100% packet loss, time 0ms', null],
    ['statistics only/null', 'rtt min/avg/max/mdev = 0.512/0.512/0.512/0.000 ms', null],
  ])('%s', (_name, output, expected) => {
    expect(parsePingLatency(output)).toBe(expected);
  });
});

describe('judgePing', () => {
  const cases: Array<[string, { exitCode: number | null; signal?: string; output: string }, PingVerdict]> = [
    ['iputils/reply', { exitCode: 0, output: IPUTILS_REPLY }, { kind: 'reply', latencyMs: 0.512 }],
    ['busybox/reply', { exitCode: 0, output: BUSYBOX_REPLY }, { kind: 'reply', latencyMs: 12.75 }],
    [
      'exit 0/unreadable output is still a reply',
      { exitCode: 0, output: 'garbage' },
      { kind: 'reply', latencyMs: null },
    ],
    [
      'exit 1/no reply',
      { exitCode: 1, output: '1 packets transmitted, 0 received, 100% packet loss, time 0ms' },
      { kind: 'no_reply', code: 'EXIT_1' },
    ],
    [
      'iputils/no capability',
      { exitCode: 2, output: 'ping: socket: Operation not permitted' },
      { kind: 'unavailable', code: 'EPERM', detail: 'ping: socket: Operation not permitted' },
    ],
    [
      'iputils/socket permission denied',
      { exitCode: 2, output: 'ping: socket: Permission denied' },
      { kind: 'unavailable', code: 'EPERM', detail: 'ping: socket: Permission denied' },
    ],
    [
      'busybox/not root',
      { exitCode: 1, output: 'ping: permission denied (are you root?)' },
      { kind: 'unavailable', code: 'EPERM', detail: 'ping: permission denied (are you root?)' },
    ],
    [
      'no route/network unreachable',
      { exitCode: 2, output: 'ping: connect: Network is unreachable' },
      { kind: 'error', code: 'ENETUNREACH' },
    ],
    [
      'no route/host unreachable',
      { exitCode: 1, output: 'From 192.168.1.7 icmp_seq=1 Destination Host Unreachable' },
      { kind: 'error', code: 'EHOSTUNREACH' },
    ],
    [
      'old iputils/no -6 option',
      { exitCode: 2, output: "ping: invalid option -- '6'\nUsage: ping [-LRUbdfnqrvVaAD] destination" },
      { kind: 'unsupported', code: 'EXIT_2' },
    ],
    [
      'exit 2/other error',
      { exitCode: 2, output: 'ping: sendmsg: No buffer space available' },
      { kind: 'error', code: 'EXIT_2' },
    ],
    [
      'signal/killed by someone else',
      { exitCode: null, signal: 'SIGTERM', output: '' },
      { kind: 'error', code: 'SIGTERM' },
    ],
  ];
  it.each(cases)('%s', (_name, run, expected) => {
    expect(judgePing(run)).toEqual(expected);
  });
});

describe('probe targets', () => {
  it.each([
    ['v4/with port', '1.1.1.1:443', { host: '1.1.1.1', port: 443 }],
    ['v6/bracketed', '[2606:4700::1111]:443', { host: '2606:4700::1111', port: 443 }],
    ['v6/canonicalised', '[2606:4700:0::1111]:853', { host: '2606:4700::1111', port: 853 }],
    ['v6/unbracketed is refused', '2606:4700::1111:443', null],
    ['v4/bracketed is refused', '[1.1.1.1]:443', null],
    ['name/refused (no DNS)', 'one.one.one.one:443', null],
    ['port/zero refused', '1.1.1.1:0', null],
    ['port/too big refused', '1.1.1.1:65536', null],
    ['port/missing refused', '1.1.1.1', null],
  ])('%s', (_name, text, expected) => {
    expect(parseTarget(text)).toEqual(expected);
  });

  it.each([
    ['v4/host only', '192.168.1.1', undefined, '192.168.1.1'],
    ['v4/with port', '192.168.1.1', 80, '192.168.1.1:80'],
    ['v6/bracketed with port', '::1', 443, '[::1]:443'],
  ])('format/%s', (_name, host, port, expected) => {
    expect(formatTarget(host, port)).toBe(expected);
  });
});
