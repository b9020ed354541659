/**
 * A YAML options file read as the user wrote it (SPEC §2). Loaded by config/load.ts only when
 * there is a YAML file to read (docs/benchmarks.md).
 *
 * - A plain scalar YAML reads as a number keeps its source text (`0x00158d0001a2b3c4`, `0123`,
 *   `1.0`, a 20-digit token): a text key gets exactly what was written, and the number keys read
 *   digit strings as they read the environment's (values.ts `coerceNumber`).
 * - A syntax error on a line holding `[`, `]` or `::` (an IPv6 address, `[addr]:port`, `::`) says
 *   to quote the value: unquoted, these are YAML syntax.
 */
import YAML from 'yaml';

/** `quote`: the error is on a line holding [ ] or ::, which needs quotes (`QUOTE_HINT`). */
export type YamlRead = { ok: true; data: unknown } | { ok: false; reason: string; quote: boolean };

export const QUOTE_HINT =
  "put values holding [ ] or :: in quotes, e.g. - '[2606:4700:4700::1111]:443' or http_host: '::'";

export function readYaml(text: string): YamlRead {
  const doc = YAML.parseDocument(text);
  const error = doc.errors[0];
  if (error !== undefined) {
    const reason = (error.message.split('\n')[0] ?? 'parse error').replace(/:\s*$/, '');
    const line = error.linePos?.[0]?.line;
    const source = line === undefined ? '' : (text.split(/\r?\n/)[line - 1] ?? '');
    return { ok: false, reason, quote: /[[\]]|::/.test(source) };
  }
  YAML.visit(doc, {
    Scalar(_key, node) {
      const kept = node.source;
      if ((typeof node.value === 'number' || typeof node.value === 'bigint') && typeof kept === 'string') {
        node.value = kept;
      }
    },
  });
  return { ok: true, data: doc.toJS() };
}
