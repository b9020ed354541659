/**
 * The add-on's translations (addon/translations/en.yaml, reached by the Supervisor through the root
 * `translations` link): a label and a help text for every option, in the shape the Supervisor reads
 * (supervisor/apps/validate.py: SCHEMA_APP_TRANSLATIONS — `configuration: <key>: {name, description}`).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, readManifest, readTranslations } from './repo.js';

const manifest = readManifest();
const en = readTranslations('en');
const schemaKeys = Object.keys(manifest.schema);

describe('translations/en.yaml', () => {
  it('has only the keys the Supervisor reads (configuration, network)', () => {
    expect(Object.keys(en).filter((k) => k !== 'configuration' && k !== 'network')).toEqual([]);
  });

  it('labels exactly the schema’s keys: none missing, none left over from a removed option', () => {
    expect(Object.keys(en.configuration ?? {}).sort()).toEqual([...schemaKeys].sort());
  });

  it.each(schemaKeys)('%s has a short label and a help text', (key) => {
    const entry = en.configuration?.[key];
    expect(typeof entry?.name).toBe('string');
    expect(String(entry?.name).trim()).not.toBe('');
    expect(String(entry?.name).length).toBeLessThanOrEqual(60);
    expect(typeof entry?.description).toBe('string');
    expect(String(entry?.description).trim().length).toBeGreaterThan(10);
  });

  it('names a default that matches the option shown, where the help text states one', () => {
    for (const [key, value] of Object.entries(manifest.options)) {
      const stated = /Default: ([^.,(]+?)(?:[.,(]| with |$)/.exec(
        String(en.configuration?.[key]?.description),
      );
      if (stated === null || value === '' || Array.isArray(value)) continue;
      const shown = typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value);
      expect([key, stated[1]?.trim()]).toEqual([key, shown]);
    }
  });

  it('dry-run/the help texts do not say a token-less add-on leaves the router alone (SPEC §5)', () => {
    // Without a token DNS runs in dry-run, but recovery still power-cycles; only Mode: dry-run stops it.
    const text = (key: string): string => String(en.configuration?.[key]?.description);
    expect(text('cloudflare_api_token')).toMatch(/recovery still power-cycles/);
    expect(text('mode')).toMatch(/Set to dry-run, recovery too only reports/);
  });

  it('http_token/the help text says what the add-on does with it: nothing, as only Ingress is served', () => {
    // src/http/auth.ts: in the add-on the Ingress proxy gets in without the token, and no one else does.
    const text = String(en.configuration?.http_token?.description);
    expect(text).not.toMatch(/Bearer|needs it/);
    expect(text).toMatch(/^No effect in the add-on: the page is reached through Ingress only/);
  });

  it('every language file is YAML next to en.yaml (the Supervisor reads *.yaml, *.yml, *.json)', () => {
    for (const file of readdirSync(join(ROOT, 'translations')))
      expect(file).toMatch(/^[a-z]{2}(-[A-Z]{2})?\.yaml$/);
  });
});
