/**
 * MQTT failure classification and the "each kind once per outage" rule, without a broker.
 */
import { describe, expect, it } from 'vitest';
import {
  ConnectionOutage,
  classifyFailure,
  disconnectHint,
  type FailureError,
  isProtocolRefusal,
} from '../../src/mqtt/failures.js';

const URL = 'mqtt://127.0.0.1:1883';

describe('classifyFailure', () => {
  it.each<[string, FailureError, string, RegExp]>([
    [
      'auth/3.1.1 bad user name or password/names both keys',
      { code: 4, message: 'Connection refused: Bad username or password' },
      'auth',
      /^The MQTT broker at mqtt:\/\/127\.0\.0\.1:1883 refused the login \(.*\); check mqtt_username and mqtt_password\.$/,
    ],
    [
      'auth/3.1.1 not authorized/same kind',
      { code: 5, message: 'Not authorized' },
      'auth',
      /refused the login/,
    ],
    ['auth/mqtt5 135/same kind', { code: 135, message: 'Not authorized' }, 'auth', /refused the login/],
    [
      'refused/identifier rejected/names the client id',
      { code: 2, message: 'Identifier rejected' },
      'refused-2',
      /refused the connection \(Identifier rejected\); check mqtt_url, mqtt_client_id/,
    ],
    [
      'tls/self-signed/names the CA file',
      { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' },
      'tls-DEPTH_ZERO_SELF_SIGNED_CERT',
      /TLS handshake .* failed .*check mqtt_ca_file/,
    ],
    ['tls/message only/still TLS', { message: 'certificate has expired' }, 'tls-', /TLS handshake/],
    [
      'net/refused/names the url and retries',
      { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1883' },
      'net-ECONNREFUSED',
      /^Cannot reach the MQTT broker at mqtt:\/\/127\.0\.0\.1:1883 \(ECONNREFUSED\); check mqtt_url .* Retrying in the background\.$/,
    ],
    [
      'net/no code/keyed by the message',
      { message: 'connack timeout' },
      'net-connack timeout',
      /\(connack timeout\)/,
    ],
  ])('%s', (_name, err, key, text) => {
    const kind = classifyFailure(err, URL);
    expect(kind.key).toBe(key);
    expect(kind.text).toMatch(text);
  });

  it.each<[string, FailureError, boolean]>([
    ['protocol/3.1.1 code 1/refused', { code: 1, message: 'Unacceptable protocol version' }, true],
    ['protocol/mqtt5 132/refused', { code: 132, message: 'Unsupported Protocol Version' }, true],
    ['protocol/auth code/not a protocol refusal', { code: 4, message: 'Bad username or password' }, false],
    ['protocol/socket error/not a protocol refusal', { code: 'ECONNREFUSED', message: 'x' }, false],
  ])('%s', (_name, err, expected) => {
    expect(isProtocolRefusal(err)).toBe(expected);
  });

  it.each([
    ['disconnect/session taken over/says to give each its own id', 142, /same mqtt_client_id/],
    ['disconnect/other reason/no hint', 0, /^$/],
  ])('%s', (_name, code, hint) => {
    expect(disconnectHint(code)).toMatch(hint);
  });
});

type Step = ['fail', string, number] | ['lost', number] | ['ok', number];

describe('ConnectionOutage', () => {
  it.each<[string, Step[], unknown[]]>([
    [
      'same kind/again and again/warn once, then debug',
      [
        ['fail', 'net-ECONNREFUSED', 0],
        ['fail', 'net-ECONNREFUSED', 1000],
        ['fail', 'net-ECONNREFUSED', 2000],
      ],
      ['warn', 'debug', 'debug'],
    ],
    [
      'kinds alternating/flaky name server/each kind once',
      [
        ['fail', 'net-ENOTFOUND', 0],
        ['fail', 'net-EAI_AGAIN', 1000],
        ['fail', 'net-ENOTFOUND', 2000],
        ['fail', 'net-EAI_AGAIN', 3000],
      ],
      ['warn', 'warn', 'debug', 'debug'],
    ],
    [
      'reconnect/between failures/the next outage warns again',
      [
        ['fail', 'auth', 0],
        ['ok', 5000],
        ['fail', 'auth', 6000],
      ],
      ['warn', { key: 'auth', since: 0, failures: 1, durationMs: 5000 }, 'warn'],
    ],
    [
      'session lost/then refused/the outage runs from the loss',
      [
        ['ok', 0],
        ['lost', 10_000],
        ['fail', 'net-ECONNREFUSED', 11_000],
        ['fail', 'net-ECONNREFUSED', 12_000],
        ['ok', 70_000],
      ],
      [
        null,
        undefined,
        'warn',
        'debug',
        { key: 'net-ECONNREFUSED', since: 10_000, failures: 3, durationMs: 60_000 },
      ],
    ],
    [
      'lost again/a new outage/forgets what was said',
      [
        ['lost', 0],
        ['fail', 'oversize-SUBACK', 1],
        ['lost', 2],
        ['fail', 'oversize-SUBACK', 3],
      ],
      [undefined, 'warn', undefined, 'warn'],
    ],
  ])('%s', (_name, steps, expected) => {
    const outage = new ConnectionOutage();
    const got = steps.map((s) => {
      if (s[0] === 'fail') return outage.fail(s[1], s[2]);
      if (s[0] === 'lost') return outage.lost(s[1]);
      return outage.ok(s[1]);
    });
    expect(got).toEqual(expected);
  });

  it('saidAnything/since: nothing said before a failure; since is the start of the outage', () => {
    const outage = new ConnectionOutage();
    expect(outage.saidAnything).toBe(false);
    expect(outage.since).toBeNull();
    outage.lost(500);
    expect(outage.saidAnything).toBe(false);
    expect(outage.since).toBe(500);
    outage.fail('net-ECONNREFUSED', 600);
    expect(outage.saidAnything).toBe(true);
    expect(outage.since).toBe(500);
    outage.ok(900);
    expect(outage.saidAnything).toBe(false);
    expect(outage.since).toBeNull();
  });
});
