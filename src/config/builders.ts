/**
 * Builders for the per-key zod schemas of the section tables (sections/*.ts): each coerces a raw
 * value from a file or the environment, rejects it with one `<fault> — <fix>` message, and
 * records its add-on schema type (manifest.ts). Pure: zod only.
 */
import { z } from 'zod';
import { type ManifestElement, manifestOf, withManifest } from './manifest.js';
import {
  coerceBoolean,
  coerceList,
  coerceNumber,
  coerceText,
  count,
  MQTT_MAX_BYTES,
  mqttStringFault,
  notANumber,
  quoteHintFor,
  show,
  showUrl,
  type UrlRules,
  urlProblem,
} from './values.js';

export type Problem = string | undefined;

export function refine(check: (value: string) => Problem) {
  return (value: string, ctx: z.RefinementCtx): void => {
    const problem = check(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  };
}

function missingOr(input: unknown, otherwise: string): string {
  return input === undefined ? 'is missing' : otherwise;
}

/** A non-empty text value; `check` returns a whole "what — fix" message. */
export function text(fix: string, check?: (value: string) => Problem) {
  return withManifest(
    z.preprocess(
      coerceText,
      z
        .string({ error: (iss) => `${missingOr(iss.input, `${show(iss.input)} is not text`)} — ${fix}` })
        .superRefine(refine((s) => (s === '' ? `is empty — ${fix}` : check?.(s)))),
    ),
    'str',
  );
}

/** A file path: text only — a YAML number or list is refused, not turned into a file name. */
export function filePath(fix: string) {
  const schema = z.preprocess(
    (v) => (typeof v === 'string' ? v.trim() : v),
    z
      .string({
        error: (iss) => {
          const input = iss.input;
          if (input === undefined) return `is missing — ${fix}`;
          if (typeof input === 'number' || typeof input === 'boolean') {
            return `${show(input)} is a ${typeof input}, not a path — ${fix} (put a name that looks like a ${typeof input} in quotes)`;
          }
          return `${show(input)} is not a path — ${fix}`;
        },
      })
      .superRefine(refine((s) => (s === '' ? `is empty — ${fix}` : undefined))),
  );
  return withManifest(schema, 'str');
}

class FieldFailure extends Error {}

/**
 * A string that may turn into something else (normalised) or fail; `str` in the add-on unless
 * `manifest` says otherwise. With `quoteHint` (keys holding addresses), a list or mapping — what
 * YAML makes of an unquoted `[fe80::1]` — is refused saying to quote it.
 */
export function textTo<T>(
  fix: string,
  convert: (value: string, fail: (message: string) => never) => T,
  manifest: ManifestElement = 'str',
  options: { quoteHint?: boolean } = {},
) {
  const schema = z.preprocess(
    coerceText,
    z
      .string({
        error: (iss) =>
          `${missingOr(iss.input, `${show(iss.input)} is not text`)} — ${fix}${options.quoteHint ? quoteHintFor(iss.input) : ''}`,
      })
      .transform((s, ctx): T => {
        try {
          return convert(s, (message) => {
            throw new FieldFailure(message);
          });
        } catch (err) {
          if (!(err instanceof FieldFailure)) throw err;
          ctx.addIssue({ code: 'custom', message: err.message });
          return z.NEVER;
        }
      }),
  );
  return withManifest(schema, manifest);
}

export function int(min: number, max: number, allowed = `a whole number from ${min} to ${max}`) {
  const schema = z.preprocess(
    coerceNumber,
    z.number({ error: (iss) => notANumber(iss.input, allowed) }).superRefine((n, ctx) => {
      if (!Number.isInteger(n))
        ctx.addIssue({ code: 'custom', message: `${n} is not a whole number — use ${allowed}` });
      else if (n < min || n > max)
        ctx.addIssue({ code: 'custom', message: `${n} is not allowed — use ${allowed}` });
    }),
  );
  return withManifest(schema, `int(${min},${max})`);
}

const TTL_ALLOWED = '1 (automatic) or a value from 60 to 86400';

/** 1 (automatic) or 60..86400; the add-on can only say int(1,86400), and the agent refuses 2..59. */
export function ttl() {
  const schema = z.preprocess(
    (v) => (typeof v === 'string' && v.trim().toLowerCase() === 'auto' ? 1 : coerceNumber(v)),
    z.number({ error: (iss) => notANumber(iss.input, TTL_ALLOWED) }).superRefine((n, ctx) => {
      if (!(n === 1 || (Number.isInteger(n) && n >= 60 && n <= 86400))) {
        ctx.addIssue({ code: 'custom', message: `${n} is not allowed — use ${TTL_ALLOWED}` });
      }
    }),
  );
  return withManifest(schema, 'int(1,86400)');
}

export function bool() {
  return withManifest(
    z.preprocess(
      coerceBoolean,
      z.boolean({ error: (iss) => `${show(iss.input)} is not true or false — use true or false` }),
    ),
    'bool',
  );
}

export function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
  normalise = (s: string) => s.toLowerCase(),
) {
  const allowed = values.length === 2 ? values.join(' or ') : `one of ${values.join(', ')}`;
  return withManifest(
    z.preprocess(
      (v) => (typeof v === 'string' ? normalise(v.trim()) : v),
      z.enum(values, { error: (iss) => `${show(iss.input)} is not allowed — use ${allowed}` }),
    ),
    `list(${values.join('|')})`,
  );
}

export function url(rules: UrlRules & { trimSlash?: boolean; allowEmpty?: boolean }) {
  return textTo(
    `write a URL, e.g. ${rules.example}`,
    (s, fail) => {
      if (s === '' && rules.allowEmpty) return '';
      if (s === '') fail(`is empty — write a URL, e.g. ${rules.example}`);
      const problem = urlProblem(s, rules);
      if (problem !== undefined) fail(problem);
      return rules.trimSlash ? s.replace(/(?<=\/\/.+)\/+$/, '') : s;
    },
    'url',
  );
}

export function list<T extends z.ZodType>(item: T, what: string, duplicateHint?: string) {
  const element = manifestOf(item);
  const schema = z.preprocess(
    coerceList,
    z
      .array(item, {
        error: (iss) => `${show(iss.input)} is not a list — give ${what} as a list, or comma-separated`,
      })
      .superRefine((items, ctx) => {
        if (duplicateHint === undefined) return;
        const seen = new Set<unknown>();
        items.forEach((value, index) => {
          if (seen.has(value)) {
            const shown = typeof value === 'string' ? showUrl(value) : show(value);
            ctx.addIssue({
              code: 'custom',
              path: [index],
              message: `${shown} is listed twice — ${duplicateHint}`,
            });
          }
          seen.add(value);
        });
      }),
  );
  return withManifest(schema, [typeof element === 'string' ? element : 'str']);
}

/**
 * Bytes the agent may add to a topic key when it builds the topics it uses (`/command/result`,
 * `cmnd/…/POWER`, discovery object ids): a topic key leaves this much of MQTT's 65,535 bytes free.
 */
export const TOPIC_ROOM_BYTES = 256;

/** A topic to publish to or build on: no wildcards, no NUL, not `$…`, short enough for MQTT. */
export function topic(fix: string) {
  return text(fix, (s) => {
    const fault = mqttStringFault(s, MQTT_MAX_BYTES - TOPIC_ROOM_BYTES);
    if (fault?.endsWith('bytes long')) {
      return `${fault} — MQTT topics are at most ${count(MQTT_MAX_BYTES)} bytes, and the agent adds up to ${TOPIC_ROOM_BYTES} bytes to it; ${fix}`;
    }
    if (fault !== undefined) return `${show(s)} ${fault} — remove it; ${fix}`;
    if (/[+#]/.test(s)) return `${show(s)} contains + or # — MQTT wildcards cannot be used here; ${fix}`;
    if (s.startsWith('$')) {
      return `${show(s)} starts with $ — topics starting with $ belong to the broker ($SYS); ${fix}`;
    }
    if (s.startsWith('/') || s.endsWith('/')) {
      return `${show(s)} starts or ends with / — remove the leading or trailing slash`;
    }
    return undefined;
  });
}

/** An MQTT string other than a topic (client id, user name). */
export function mqttText(fix: string, lengthHint = '') {
  return text(fix, (s) => {
    const fault = mqttStringFault(s);
    if (fault === undefined) return undefined;
    if (fault.endsWith('bytes long'))
      return `${fault} — MQTT allows at most ${count(MQTT_MAX_BYTES)}${lengthHint}; ${fix}`;
    return `${show(s)} ${fault} — remove it; ${fix}`;
  });
}
