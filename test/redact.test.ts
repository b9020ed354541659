import { describe, expect, it } from 'vitest';
import { redactText, redactUrl, SECRET_KEYS, secretValues, urlOrigin } from '../src/redact.js';

const PW = 'Pw-5d2c8e';

describe('redactUrl hides user info and query strings, parseable or not', () => {
  it.each([
    [
      'parseable/password',
      `mqtts://ddns:${PW}@broker.example.com:8883`,
      'mqtts://***@broker.example.com:8883',
    ],
    ['parseable/token-as-user', `https://${PW}@git.example.com/x`, 'https://***@git.example.com/x'],
    ['unparseable/hash', `mqtt://u:${PW}#1@127.0.0.1:1883`, 'mqtt://***@127.0.0.1:1883'],
    ['unparseable/slash', `mqtt://u:${PW}/1@127.0.0.1:1883`, 'mqtt://***@127.0.0.1:1883'],
    ['unparseable/question-mark', `mqtt://u:${PW}?1@127.0.0.1:1883`, 'mqtt://***@127.0.0.1:1883'],
    ['unparseable/percent', `mqtt://u:${PW}%zz@127.0.0.1:1883`, 'mqtt://***@127.0.0.1:1883'],
    ['unparseable/bad-port', `mqtt://u:${PW}@127.0.0.1:99999`, 'mqtt://***@127.0.0.1:99999'],
    ['unparseable/at-in-password', `mqtt://u:${PW}@x@127.0.0.1`, 'mqtt://***@127.0.0.1'],
    ['parseable-but-misread/at-after-host', `mqtt://u:12/${PW}@127.0.0.1`, 'mqtt://***@127.0.0.1'],
    ['no-scheme/user-info', `u:${PW}@127.0.0.1:1883`, '***@127.0.0.1:1883'],
    ['query/key', `http://127.0.0.1:8080/ip?key=${PW}`, 'http://127.0.0.1:8080/ip?***'],
    ['query/bare-value', `http://127.0.0.1/ip?${PW}`, 'http://127.0.0.1/ip?***'],
    ['fragment', `http://127.0.0.1/ip#${PW}`, 'http://127.0.0.1/ip#***'],
    ['both', `http://u:${PW}@127.0.0.1/p?t=${PW}`, 'http://***@127.0.0.1/p?***'],
  ])('%s', (_name, input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });

  it.each([
    ['plain', 'https://cloudflare.com/cdn-cgi/trace'],
    ['local-source', 'local:eth0'],
    ['host-port', 'core-mosquitto:1883'],
    ['empty', ''],
  ])('nothing-to-hide/%s/unchanged', (_name, input) => {
    expect(redactUrl(input)).toBe(input);
  });

  it('is idempotent', () => {
    const once = redactUrl(`mqtt://u:${PW}#@127.0.0.1?x=${PW}`);
    expect(redactUrl(once)).toBe(once);
  });

  it.each([
    ['path-is-secret', `https://hc-ping.com/${PW}`, 'https://hc-ping.com/…'],
    ['with-user-info', `https://u:${PW}#@hc-ping.com/${PW}?x`, 'https://***@hc-ping.com/…'],
  ])('origin/%s', (_name, input, expected) => {
    expect(urlOrigin(input)).toBe(expected);
  });
});

describe('an @ in the query or fragment is not user info (SPEC §7)', () => {
  it.each([
    // The user info is looked for before the first ? or #; everything after them is masked.
    ['query/email-then-key', `http://127.0.0.1/ip?email=me@example.com&key=${PW}`, 'http://127.0.0.1/ip?***'],
    ['query/email-then-key/no-path', `http://h?email=me@example.com&key=${PW}`, 'http://h?***'],
    [
      'query/user-info-and-email',
      `http://u:${PW}@127.0.0.1/ip?email=me@example.com&key=${PW}`,
      'http://***@127.0.0.1/ip?***',
    ],
    // Passwords holding / ? # (unescaped): still masked whole.
    ['password/slash', `mqtt://u:${PW}/x@127.0.0.1:1883`, 'mqtt://***@127.0.0.1:1883'],
    ['password/question-mark', `mqtt://u:${PW}?x@127.0.0.1:1883`, 'mqtt://***@127.0.0.1:1883'],
    ['password/hash', `mqtt://u:${PW}#x@127.0.0.1:1883`, 'mqtt://***@127.0.0.1:1883'],
    ['password/slash-and-question-mark', `mqtt://u:a/${PW}?x@127.0.0.1:1883`, 'mqtt://***@127.0.0.1:1883'],
    ['password/hash-then-query', `http://u:${PW}#x@127.0.0.1/ip?k=${PW}`, 'http://***@127.0.0.1/ip?***'],
    // Both readings possible (a password starting with digits, or a token as user name, then ? or
    // #; or a query or fragment whose @ is followed by a host-like word): nothing after :// shown.
    ['ambiguous/digit-password-hash', `mqtt://u:1234#${PW}@127.0.0.1:1883`, 'mqtt://***'],
    ['ambiguous/token-user-question-mark', `https://${PW}?x@127.0.0.1/ip`, 'https://***'],
    ['ambiguous/digit-password-slash-question-mark', `mqtt://u:12/${PW}?x@127.0.0.1`, 'mqtt://***'],
    ['ambiguous/fragment-at-host-like', `https://ip.example/ip#${PW}@frag`, 'https://***'],
    ['ambiguous/query-email-last', `https://hc.example/ping/${PW}?from=me@x.org`, 'https://***'],
    ['ambiguous/user-info-and-query-at', `https://u:${PW}@h/p?x=a@b`, 'https://***'],
    ['ambiguous/query-at-then-path-like', `https://h/ip?a=b@c/d&k=${PW}`, 'https://***'],
  ])('%s', (_name, input, expected) => {
    const out = redactUrl(input);
    expect(out).toBe(expected);
    expect(out).not.toContain(PW);
    expect(redactText(`failed: ${input}.`)).toBe(`failed: ${expected}.`);
    expect(urlOrigin(input)).not.toContain(PW);
  });

  it.each([
    ['query-email', `https://hc.example/ping/${PW}?email=me@x.org&k=1`, 'https://hc.example/…'],
    ['ambiguous', `https://hc.example/ping/${PW}?from=me@x.org`, 'https://***/…'],
  ])('origin/%s', (_name, input, expected) => {
    expect(urlOrigin(input)).toBe(expected);
  });

  it.each([
    `http://127.0.0.1/ip?email=me@example.com&key=${PW}`,
    `mqtt://u:1234#${PW}@127.0.0.1:1883`,
    `mqtt://u:${PW}?x@127.0.0.1:1883`,
  ])('is idempotent/%s', (input) => {
    const once = redactUrl(input);
    expect(redactUrl(once)).toBe(once);
  });
});

describe('redactText finds URLs in prose and JSON', () => {
  it.each([
    [
      'sentence',
      `Could not connect to mqtt://u:${PW}#@127.0.0.1:1883.`,
      'Could not connect to mqtt://***@127.0.0.1:1883.',
    ],
    ['parenthesis', `(see http://127.0.0.1/ip?key=${PW})`, '(see http://127.0.0.1/ip?***)'],
    ['quoted', `'mqtt://u:${PW}@127.0.0.1' is not a URL`, "'mqtt://***@127.0.0.1' is not a URL"],
    ['two-urls', `a http://u:${PW}@h1 b https://h2/?k=${PW}`, 'a http://***@h1 b https://h2/?***'],
    [
      'json-escaped-quote',
      `{"msg":"x \\"http://h/?k=${PW}\\" y","n":1}`,
      '{"msg":"x \\"http://h/?***\\" y","n":1}',
    ],
  ])('%s', (_name, input, expected) => {
    const out = redactText(input);
    expect(out).toBe(expected);
    expect(out).not.toContain(PW);
  });

  it('json-lines/stay-valid-json', () => {
    const line = JSON.stringify({ msg: `failed: "mqtt://u:${PW}\\"@h"`, url: `http://h/p?a=${PW}` });
    const out = redactText(line);
    expect(() => JSON.parse(out)).not.toThrow();
    expect(out).not.toContain(PW);
  });

  it('secret-values/replaced/short-ones-left-alone', () => {
    expect(redactText(`token ${PW} and abc`, [PW, 'abc'])).toBe('token [Redacted] and abc');
  });

  it.each([
    ['glued-to-a-word', `key_https://u:${PW}@h/`, 'key_https://***@h/'],
    ['digit-before-scheme', `3https://h/?k=${PW}`, '3https://h/?***'],
    ['scheme-longer-than-32', `${'a'.repeat(40)}https://u:${PW}@h`, `${'a'.repeat(40)}https://***@h`],
    ['no-scheme', `1://u:${PW}@h and ://u:${PW}@h`, `1://u:${PW}@h and ://u:${PW}@h`],
    ['backslash-at-end', `http://h/?k=${PW}\\`, 'http://h/?***\\'],
  ])('edges/%s', (_name, input, expected) => {
    expect(redactText(input)).toBe(expected);
  });
});

/**
 * Linear time (it runs on every log line and on config values of any length). Before the fix the
 * URL pattern was quadratic: 50 KB of `x.x.x.…` took 2.6 s, and a URL followed by 50,000 dots
 * 10 s (its trailing-punctuation pattern), so each 1 MiB case below would run for many minutes
 * and fail on the test timeout. No timing is asserted here; bench/redact.bench.ts compares sizes.
 */
describe('redactText on megabytes', () => {
  const MIB = 1024 * 1024;
  it.each([
    ['host-like text, no URL', 'x.'.repeat(MIB / 2), null],
    ['a-a-a…, no URL', 'a-'.repeat(MIB / 2), null],
    ['scheme characters then a URL', `${'a'.repeat(MIB)}://u:${PW}@h`, `${'a'.repeat(MIB)}://***@h`],
    [
      'host-like text then a URL',
      `${'x.'.repeat(MIB / 2)} https://u:${PW}@h`,
      `${'x.'.repeat(MIB / 2)} https://***@h`,
    ],
    ['a URL then a megabyte of dots', `https://h/p?k=${PW}${'.'.repeat(MIB)}x`, 'https://h/p?***'],
    [
      'a URL then a megabyte of dots ending a sentence',
      `https://h/p?k=${PW}${'.'.repeat(MIB)}`,
      `https://h/p?***${'.'.repeat(MIB)}`,
    ],
    ['a URL of escaped quotes', `https://h/p?k=${PW}${'\\"'.repeat(MIB / 2)}x`, 'https://h/p?***'],
    [
      'ten megabytes of one URL',
      `https://h/${'a'.repeat(10 * MIB)}?k=${PW}`,
      `https://h/${'a'.repeat(10 * MIB)}?***`,
    ],
  ])('%s/redacted/never a stack overflow', (_name, input, expected) => {
    const out = redactText(input);
    expect(out === (expected ?? input)).toBe(true); // not toBe: a failure would print megabytes
    expect(out.includes(PW)).toBe(false);
  });
});

describe('the one list of secrets', () => {
  it('secret-keys/cover-every-credential-key', () => {
    expect([...SECRET_KEYS].sort()).toEqual(
      ['cloudflare_api_token', 'ha_token', 'http_token', 'mqtt_password', 'plug_password'].sort(),
    );
  });

  it('secret-values/set-ones-longest-first', () => {
    expect(
      secretValues({ mqtt_password: 'short-pw', http_token: `long-${PW}-token`, ha_token: 'x' }),
    ).toEqual([`long-${PW}-token`, 'short-pw']);
  });
});
