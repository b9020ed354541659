import { describe, expect, it } from 'vitest';
import {
  DigestUnsupportedError,
  digestAuthorization,
  digestResponse,
  pickDigestChallenge,
} from '../../src/plugs/digest.js';

// RFC 7616 §3.9.1: the worked example, answered with SHA-256 and with MD5.
const RFC_CHALLENGE = (algorithm: string) =>
  `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`;
const RFC_ANSWER = {
  username: 'Mufasa',
  password: 'Circle of Life',
  method: 'GET',
  uri: '/dir/index.html',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  nc: 1,
};

describe('digest authentication (RFC 7616)', () => {
  it.each([
    [
      'rfc7616/sha-256/known answer',
      'SHA-256',
      '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    ],
    ['rfc7616/md5/known answer', 'MD5', '8ca523f5e9506fed4657c9700eebdbec'],
  ])('%s', (_name, algorithm, expected) => {
    const c = pickDigestChallenge(RFC_CHALLENGE(algorithm));
    expect(c).toMatchObject({ realm: 'http-auth@example.org', qop: 'auth', algorithm });
    if (!c) throw new Error('no challenge');
    expect(digestResponse(c, RFC_ANSWER)).toBe(expected);
    const header = digestAuthorization(c, RFC_ANSWER);
    expect(header).toContain(`response="${expected}"`);
    expect(header).toContain('nc=00000001');
    expect(header).toContain('opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"');
    expect(header).toContain('uri="/dir/index.html"');
    expect(header).not.toContain('Circle of Life');
  });

  it('shelly/challenge/realm is the device id, algorithm unquoted', () => {
    const c = pickDigestChallenge(
      'Digest qop="auth", realm="shellyplus1pm-441793d69718", nonce="1716556501", algorithm=SHA-256',
    );
    expect(c).toEqual({
      realm: 'shellyplus1pm-441793d69718',
      nonce: '1716556501',
      algorithm: 'SHA-256',
      qop: 'auth',
      opaque: undefined,
    });
  });

  it('several challenges/the strongest digest wins; Basic is not digest', () => {
    const c = pickDigestChallenge([
      'Basic realm="x"',
      'Digest realm="r", nonce="n1", algorithm=MD5, qop="auth", Digest realm="r", nonce="n2", algorithm=SHA-256, qop="auth"',
    ]);
    expect(c).toMatchObject({ nonce: 'n2', algorithm: 'SHA-256' });
    expect(pickDigestChallenge('Basic realm="only basic"')).toBeUndefined();
    expect(pickDigestChallenge(undefined)).toBeUndefined();
  });

  it('quoted values/commas and escaped quotes survive', () => {
    const c = pickDigestChallenge('Digest realm="a, \\"b\\"", nonce="x,y", qop="auth"');
    expect(c).toMatchObject({ realm: 'a, "b"', nonce: 'x,y', algorithm: 'MD5' });
  });

  it('unsupported/auth-int only or an unknown hash is refused with the reason', () => {
    expect(() => pickDigestChallenge('Digest realm="r", nonce="n", qop="auth-int"')).toThrow(
      DigestUnsupportedError,
    );
    expect(() => pickDigestChallenge('Digest realm="r", nonce="n", algorithm=SHA-512-256')).toThrow(
      /algorithm SHA-512-256/,
    );
  });

  it('no qop (RFC 2069)/response without nc and cnonce', () => {
    const c = pickDigestChallenge('Digest realm="r", nonce="n"');
    if (!c) throw new Error('no challenge');
    const header = digestAuthorization(c, { username: 'u', password: 'p', method: 'GET', uri: '/' });
    expect(header).not.toContain('qop=');
    expect(header).not.toContain('cnonce=');
  });
});
