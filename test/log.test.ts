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
