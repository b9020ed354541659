#!/usr/bin/env node
// Writes docs/configuration.md from the configuration tables (src/config/sections/*.ts) and the
// hand-written template (src/config/reference.template.md). Runs the built code: npm run build first.
// With --check, writes nothing and exits 1 when the file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { configReferenceStaleness, renderConfigReference } = await import(new URL('../dist/config/reference.js', import.meta.url).href);
const template = readFileSync(`${root}src/config/reference.template.md`, 'utf8');
const target = `${root}docs/configuration.md`;
const rendered = renderConfigReference(template);
const current = readFileSync(target, 'utf8');
if (process.argv.includes('--check')) {
  const stale = configReferenceStaleness(current, template);
  if (stale !== undefined) {
    process.stderr.write(`${stale}\n`);
    process.exit(1);
  }
  process.stdout.write('docs/configuration.md is up to date\n');
} else if (current === rendered) {
  process.stdout.write('docs/configuration.md is up to date\n');
} else {
  writeFileSync(target, rendered);
  process.stdout.write('docs/configuration.md written\n');
}
