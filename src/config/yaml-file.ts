/**
 * A YAML options file read as the user wrote it (SPEC §2). Loaded by config/load.ts only when
 * there is a YAML file to read (docs/benchmarks.md).
 *
 * - A plain scalar YAML reads as a number keeps its source text (`0x00158d0001a2b3c4`, `0123`,
 *   `1.0`, a 20-digit token): a text key gets exactly what was written, and the number keys read
 *   digit strings as they read the environment's (values.ts `coerceNumber`).
 */
import YAML from 'yaml';

export type YamlRead = { ok: true; data: unknown } | { ok: false; reason: string; fix: string };

export function readYaml(text: string): YamlRead {
  const doc = YAML.parseDocument(text);
  const error = doc.errors[0];
  if (error !== undefined) {
    const reason = (error.message.split('\n')[0] ?? 'parse error').replace(/:\s*$/, '');
    return { ok: false, reason, fix: 'fix the file' };
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
