/**
 * Secrets (issue 11 point 6, SPEC §7 "shown redacted everywhere"): the built agent runs with every
 * feature on and every secret set to a distinct random string — the Cloudflare token, the MQTT
 * password of the embedded broker, the plug's password (an `http` plug with a Basic login and a key
 * in its URLs, a Shelly Gen2 with a digest password) or Home Assistant's token, `http_token`, a
 * heartbeat URL with a token in its path, a webhook URL with tokens in its path and query, and IP
 * sources with `?key=` — once per plug type and log format (debug level). Then every log line,
 * MQTT message, HTTP answer (the status page's files and /events included), webhook and heartbeat
 * body, `check`'s output and the state file with its `.bak` are searched for each secret (whole,
 * either half, and base64 — as a Basic header would carry it): zero hits. The run also shows that
 * each secret was really used (the plug accepted the login, the webhook got its events…), so an
 * empty search is not an empty run.
 */

import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { newSecrets, type PlugKind, type Secrets } from './fakes.js';
import { type Evidence, fullRun } from './run.js';

/** The forms in which a secret could appear: whole, either half, base64 (alone or as a Basic login). */
function forms(key: keyof Secrets, value: string): string[] {
  const out = [value, value.slice(0, 16), value.slice(16), Buffer.from(value).toString('base64')];
  if (key === 'plug_password') out.push(Buffer.from(`plugadmin:${value}`).toString('base64'));
  if (key === 'mqtt_password') out.push(Buffer.from(`ddns:${value}`).toString('base64'));
  return out;
}

/** Where each secret was found, as `secret key → places`; empty when none leaked. */
function leaks(s: Secrets, evidence: Evidence[]): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(s) as Array<[keyof Secrets, string]>) {
    for (const form of forms(key, value)) {
      for (const e of evidence) {
        const text = stripVTControlCharacters(e.text);
        const at = text.indexOf(form);
        if (at < 0) continue;
        const line = text.slice(Math.max(0, text.lastIndexOf('\n', at) + 1), at + form.length + 80);
        found[key] = [...(found[key] ?? []), `${e.where}: …${line.slice(0, 300)}`];
      }
    }
  }
  return found;
}

const CASES: Array<[PlugKind, 'json' | 'pretty']> = [
  ['http', 'json'],
  ['http', 'pretty'],
  ['shelly_rpc', 'json'],
  ['shelly_rpc', 'pretty'],
  ['homeassistant', 'json'],
  ['homeassistant', 'pretty'],
];

describe('secrets: the search', () => {
  it('finds a planted secret in a JSON log line, a colored pretty line, a header and a URL', () => {
    const s = newSecrets();
    const found = leaks(s, [
      { where: 'json', text: `{"msg":"token ${s.cloudflare_api_token}"}` },
      {
        where: 'pretty',
        text: `\u001b[32mINFO\u001b[39m: ${s.http_token.slice(0, 16)}\u001b[0m${s.http_token.slice(16)}`,
      },
      {
        where: 'basic',
        text: `Authorization: Basic ${Buffer.from(`plugadmin:${s.plug_password}`).toString('base64')}`,
      },
      { where: 'url', text: `http://127.0.0.1/hook/x?token=${s.webhook_query_token.slice(0, 16)}…` },
    ]);
    expect(Object.keys(found).sort()).toEqual([
      'cloudflare_api_token',
      'http_token',
      'plug_password',
      'webhook_query_token',
    ]);
  });
});

describe('secrets: a full run with every feature on lets no secret out', () => {
  it.each(CASES)(
    'plug %s/log format %s/zero hits in logs, MQTT, HTTP, events, state',
    async (kind, format) => {
      const s = newSecrets();
      const { evidence, seen } = await fullRun(kind, format, s);

      // The run used every secret (else an empty search proves nothing).
      expect(seen.exitCode).toBe(0);
      expect(seen.cloudflareAuth).toEqual([`Bearer ${s.cloudflare_api_token}`]);
      expect(seen.plugAccepted).toBeGreaterThan(0);
      // The plug's first request hung on purpose: the answer says so (the cycle still ran).
      expect(JSON.parse(seen.rebootAnswer)).toMatchObject({ command: 'reboot', ok: false });
      expect(
        seen.webhookUrls.every((u) => u.includes(s.webhook_path_token) && u.includes(s.webhook_query_token)),
      ).toBe(true);
      expect(seen.webhookTypes).toEqual(
        expect.arrayContaining(['ip_changed', 'dns_updated', 'power_cycle_started', 'power_cycle_finished']),
      );
      expect(seen.heartbeatUrls.length).toBeGreaterThanOrEqual(3);
      expect(seen.heartbeatUrls.every((u) => u.includes(s.heartbeat_token))).toBe(true);
      expect(seen.ipSourceUrls.some((u) => u.includes(`key=${s.ip_source_key}`))).toBe(true);
      expect(seen.mqttTopics).toEqual(
        expect.arrayContaining([
          'ddns-watchdog/state',
          'ddns-watchdog/event',
          'ddns-watchdog/command/result',
        ]),
      );
      expect(seen.sseBytes).toBeGreaterThan(0);
      expect(seen.logLines).toBeGreaterThan(50);
      expect(
        evidence.filter((e) => e.where.startsWith('state_dir/state.json')).length,
      ).toBeGreaterThanOrEqual(2);

      const count = (prefix: string) => evidence.filter((e) => e.where.startsWith(prefix)).length;
      console.log(
        `${kind}/${format}: ${seen.logLines} log lines, ${count('mqtt ')} MQTT messages, ${count('HTTP ')} HTTP answers, ${count('body of')} webhook/heartbeat bodies, ${count('state_dir/')} state files searched`,
      );
      if (process.env.SECRETS_DUMP) {
        const { writeFileSync } = await import('node:fs');
        writeFileSync(
          `${process.env.SECRETS_DUMP}/${kind}-${format}.json`,
          JSON.stringify(evidence, null, 1),
        );
      }
      expect(leaks(s, evidence)).toEqual({});
    },
    90_000,
  );
});
