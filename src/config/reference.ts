/**
 * docs/configuration.md, generated: the hand-written text of src/config/reference.template.md
 * with the key tables rendered from the section tables (sections/*.ts). Regenerate with
 * `npm run build && node scripts/gen-config-docs.mjs`; test/config-docs.test.ts fails when the
 * file is stale. Pure: the template is passed in.
 */
import { type ConfigKeyInfo, listConfigKeys, SECTIONS } from './keys.js';

/** Where the rendered key tables go. */
export const KEYS_MARKER = '<!-- config:keys -->';
/** Where the list of secret keys goes (inside a sentence). */
export const SECRET_KEYS_MARKER = '<!-- config:secret-keys -->';

/** The command that regenerates docs/configuration.md. */
export const REGENERATE_COMMAND = 'npm run build && node scripts/gen-config-docs.mjs';

const GENERATED_NOTE = `<!-- Generated from src/config/sections/*.ts and src/config/reference.template.md: edit those, then run \`${REGENERATE_COMMAND}\`. -->`;

/** A Markdown table cell: one line, and a literal | escaped. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

function row(info: ConfigKeyInfo): string {
  const env = `\`${info.envName}\`${info.secret ? ' (`_FILE`)' : ''}`;
  return `| \`${info.key}\` | ${env} | ${cell(info.defaultText)} | ${cell(info.allowed)} | ${cell(info.doc)} |`;
}

/** The key tables: one section per table of SPEC §2, each key with its env name, default and doc. */
export function renderKeyTables(keys: readonly ConfigKeyInfo[] = listConfigKeys()): string {
  return SECTIONS.map((section) => {
    const lines = [
      `### ${section.title}`,
      '',
      '| Key | Env | Default | Allowed | Description |',
      '|---|---|---|---|---|',
      ...keys.filter((k) => k.section === section.id).map(row),
    ];
    if ('notes' in section && section.notes !== undefined) lines.push('', section.notes);
    return lines.join('\n');
  }).join('\n\n');
}

/** `a`, `b` and `c`. */
function inlineList(items: readonly string[]): string {
  const quoted = items.map((i) => `\`${i}\``);
  return quoted.length <= 1
    ? (quoted[0] ?? '')
    : `${quoted.slice(0, -1).join(', ')} and ${quoted[quoted.length - 1]}`;
}

/** docs/configuration.md: the template with its markers filled in. */
export function renderConfigReference(template: string): string {
  for (const marker of [KEYS_MARKER, SECRET_KEYS_MARKER]) {
    if (!template.includes(marker))
      throw new Error(
        `the configuration template (src/config/reference.template.md) has no ${marker} — put it back where the generated text goes`,
      );
  }
  const keys = listConfigKeys();
  const secrets = keys.filter((k) => k.secret).map((k) => k.key);
  const body = template
    .replace(KEYS_MARKER, () => renderKeyTables(keys))
    .replace(SECRET_KEYS_MARKER, () => inlineList(secrets));
  const [title = '', ...rest] = body.split('\n');
  return `${[title, '', GENERATED_NOTE, ...rest].join('\n').trimEnd()}\n`;
}

/**
 * Why `current` (docs/configuration.md as it is) is not what `template` renders to — the first
 * line that differs and the command that regenerates the file — or undefined when it is.
 */
export function configReferenceStaleness(current: string, template: string): string | undefined {
  const rendered = renderConfigReference(template);
  if (current === rendered) return undefined;
  const have = current.split('\n');
  const want = rendered.split('\n');
  let line = 0;
  while (line < have.length && line < want.length && have[line] === want[line]) line++;
  const shown = (text: string | undefined) =>
    text === undefined ? '(end of file)' : JSON.stringify(text.slice(0, 160));
  return `docs/configuration.md is stale: line ${line + 1} is ${shown(have[line])} but the key tables and src/config/reference.template.md give ${shown(want[line])} — regenerate it with: ${REGENERATE_COMMAND}`;
}
