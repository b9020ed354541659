/**
 * docs/configuration.md is generated from the configuration tables (src/config/sections/*.ts) and
 * src/config/reference.template.md; this test fails when it is stale and names the command that
 * regenerates it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listConfigKeys } from '../src/config/keys.js';
import {
  configReferenceStaleness,
  KEYS_MARKER,
  REGENERATE_COMMAND,
  renderConfigReference,
  SECRET_KEYS_MARKER,
} from '../src/config/reference.js';
import { SECRET_KEYS } from '../src/redact.js';

const read = (path: string): string => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const template = read('src/config/reference.template.md');
const docs = read('docs/configuration.md');

describe('docs/configuration.md', () => {
  it('docs/up-to-date/matches-the-key-tables-and-the-template', () => {
    const stale = configReferenceStaleness(docs, template);
    expect(stale, stale).toBeUndefined();
  });

  it('docs/edited-by-hand/reported-with-the-line-and-the-command', () => {
    const rendered = renderConfigReference(template);
    const edited = rendered.replace('| `ttl` | `TTL` | `60` |', '| `ttl` | `TTL` | `300` |');
    expect(edited).not.toBe(rendered);
    const stale = configReferenceStaleness(edited, template);
    expect(stale).toContain('docs/configuration.md is stale: line ');
    expect(stale).toMatch(/line \d+ is /);
    expect(stale).toContain('is "| `ttl` | `TTL` | `300` |');
    expect(stale).toContain('give "| `ttl` | `TTL` | `60` |');
    expect(stale).toContain(REGENERATE_COMMAND);
  });

  it.each(listConfigKeys().map((k) => [k.key, k] as const))(
    'docs/key/%s/has-one-row-with-its-env-name-default-and-description',
    (key, info) => {
      const rows = docs.split('\n').filter((line) => line.startsWith(`| \`${key}\` |`));
      expect(rows).toHaveLength(1);
      const env = info.secret ? `\`${info.envName}\` (\`_FILE\`)` : `\`${info.envName}\``;
      expect(rows[0]).toContain(`| ${env} | ${info.defaultText} |`);
      expect(rows[0]).toContain(info.doc.split('\n')[0]!.replace(/\|/g, '\\|'));
    },
  );

  it('docs/sections/one-heading-per-table-in-order', () => {
    const keys = docs.slice(docs.indexOf('\n## Keys\n'), docs.indexOf('\n## Choices\n'));
    const headings = keys.split('\n').filter((line) => line.startsWith('### '));
    expect(headings).toEqual([
      '### DNS',
      '### Public IP detection',
      '### MQTT',
      '### Probes and health',
      '### Recovery (power-cycling the router through a smart plug)',
      '### Service',
    ]);
  });

  it('docs/secrets/every-secret-named-with-the-_FILE-rule', () => {
    const sentence = docs.slice(docs.indexOf('### Secrets and `_FILE`'), docs.indexOf('```sh'));
    for (const key of SECRET_KEYS) expect(sentence).toContain(`\`${key}\``);
    expect(sentence).toContain('`<NAME>_FILE` in\nthe environment');
  });

  it('docs/precedence/defaults-then-file-then-environment', () => {
    const section = docs.slice(
      docs.indexOf('## Where settings come from'),
      docs.indexOf('### Value formats'),
    );
    const order = ['**Built-in defaults**', '**One options file**', '**Environment variables**'].map((s) =>
      section.indexOf(s),
    );
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(section).toContain('Later sources win');
  });

  it('docs/recovery/the token-less default dry-run still cycles the plug (SPEC §5)', () => {
    // Only an explicit `mode: dry-run` keeps recovery from switching the plug.
    const flat = docs.replace(/\s+/g, ' ');
    expect(flat).not.toMatch(/only cycled in `enforce` mode/);
    expect(flat).toContain('a watchdog without a Cloudflare token still power-cycles');
    const mode = docs.split('\n').find((line) => line.startsWith('| `mode` |'));
    expect(mode).toContain('Set explicitly, `dry-run` also keeps recovery from switching the plug');
  });

  it('docs/yaml/IPv6 values are shown quoted, as YAML needs them', () => {
    const row = (key: string) => docs.split('\n').find((line) => line.startsWith(`| \`${key}\` |`));
    expect(row('wan_targets')).toContain("`- '[2606:4700:4700::1111]:443'`");
    expect(row('http_host')).toContain("`http_host: '::'`");
  });

  it('docs/hand-written-sections/kept', () => {
    for (const heading of ['## Problems', '## Choices', '## Stopping', '#### Passwords inside URLs']) {
      expect(docs).toContain(`\n${heading}\n`);
    }
  });

  it.each([KEYS_MARKER, SECRET_KEYS_MARKER])(
    'render/template-without-%s/refused-naming-the-marker',
    (marker) => {
      expect(() => renderConfigReference(template.replace(marker, ''))).toThrow(marker);
    },
  );
});
