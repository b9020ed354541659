import { describe, expect, it } from 'vitest';
import { logSink } from './helpers/log-sink.js';

const TOKEN = 'log-test-token-0f9e8d7c6b5a4321';

describe('logger redaction', () => {
  it('secret keys are censored at any depth we log', () => {
    const sink = logSink();
    sink.logger.info({ cloudflare_api_token: TOKEN, nested: { mqtt_password: 'hunter2-secret' } }, 'config');
    sink.logger.info({ headers: { authorization: `Bearer ${TOKEN}` } }, 'request');
    expect(sink.text()).not.toContain(TOKEN);
    expect(sink.text()).not.toContain('hunter2-secret');
    expect(sink.lines()[0]?.cloudflare_api_token).toBe('[Redacted]');
  });

  it('a secret that slips into message text is scrubbed too', () => {
    const sink = logSink({ secrets: [TOKEN] });
    sink.logger.warn(`request failed for token ${TOKEN}`);
    expect(sink.text()).not.toContain(TOKEN);
    expect(sink.lines()[0]?.msg).toBe('request failed for token [Redacted]');
  });
});

describe('credentials in URLs are redacted in every log line', () => {
  const PW = 'log-pw-7c1e9b';

  it.each([
    ['parseable', `mqtt://ddns:${PW}@127.0.0.1:1883`],
    ['hash-in-password', `mqtt://ddns:${PW}#1@127.0.0.1:1883`],
    ['slash-in-password', `mqtt://ddns:${PW}/1@127.0.0.1:1883`],
    ['bad-port', `mqtts://ddns:${PW}@127.0.0.1:99999`],
    ['query-key', `http://127.0.0.1:8080/ip?key=${PW}`],
  ])('message/%s', (_name, url) => {
    const sink = logSink();
    sink.logger.warn(`Could not connect to ${url}; check mqtt_url.`);
    expect(sink.text()).not.toContain(PW);
    expect(sink.lines()[0]?.msg).toMatch(/^Could not connect to \S+; check mqtt_url\.$/);
  });

  it('fields/nested-strings-and-errors', () => {
    const sink = logSink();
    const err = new Error(`connect ECONNREFUSED mqtt://u:${PW}#@127.0.0.1:1`);
    sink.logger.error(
      { target: { url: `mqtt://u:${PW}@127.0.0.1` }, sources: [`http://127.0.0.1/ip?k=${PW}`], err },
      'failed',
    );
    expect(sink.text()).not.toContain(PW);
    expect(sink.lines()[0]?.target).toEqual({ url: 'mqtt://***@127.0.0.1' });
  });

  it('http_token/censored-by-key', () => {
    const sink = logSink();
    sink.logger.info({ http_token: PW, nested: { http_token: PW } }, 'config');
    expect(sink.text()).not.toContain(PW);
  });
});
