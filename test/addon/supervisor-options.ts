/**
 * How the Home Assistant Supervisor reads an add-on's `schema` and checks the user's options
 * against it, ported for the tests: `RE_SCHEMA_ELEMENT` and `AppOptions` of
 * supervisor/apps/options.py, and the shape rule `SCHEMA_ELEMENT` of supervisor/apps/validate.py
 * (a list holds one element or one dict, never another list). Only what this add-on's schema
 * can use is ported (no `device`, no `!secret` lookup, no `float` coercion quirks).
 *
 * Source: https://github.com/home-assistant/supervisor at 090ef31ec024952c2469ed5a7c9f3ce8c1a5499e.
 */

/** `RE_SCHEMA_ELEMENT` with Python's `(?P<name>…)` groups written the JavaScript way. */
export const RE_SCHEMA_ELEMENT = new RegExp(
  '^(?:' +
    '|bool' +
    '|email' +
    '|url' +
    '|port' +
    '|device(?:\\((?<filter>subsystem=[a-z]+)\\))?' +
    '|str(?:\\((?<s_min>\\d+)?,(?<s_max>\\d+)?\\))?' +
    '|password(?:\\((?<p_min>\\d+)?,(?<p_max>\\d+)?\\))?' +
    '|int(?:\\((?<i_min>-?\\d+)?,(?<i_max>-?\\d+)?\\))?' +
    '|float(?:\\((?<f_min>-?\\d*\\.?\\d+)?,(?<f_max>-?\\d*\\.?\\d+)?\\))?' +
    '|match\\((?<match>.*)\\)' +
    '|list\\((?<list>.+)\\)' +
    ')\\??$',
);

export type ElementKind =
  | 'str'
  | 'password'
  | 'int'
  | 'float'
  | 'bool'
  | 'email'
  | 'url'
  | 'port'
  | 'match'
  | 'list'
  | 'device';

export interface Element {
  kind: ElementKind;
  optional: boolean;
  min?: number;
  max?: number;
  /** list(a|b): the allowed values. */
  values?: string[];
  /** match(…): the regular expression. */
  regex?: string;
}

/** One schema element (`int(1,65535)?` …), or undefined when the Supervisor would refuse it. */
export function parseElement(text: string): Element | undefined {
  const m = RE_SCHEMA_ELEMENT.exec(text);
  if (m === null) return undefined;
  const kind = (
    ['password', 'device', 'match', 'email', 'float', 'bool', 'list', 'port', 'url', 'str', 'int'] as const
  ).find((k) => text.startsWith(k));
  if (kind === undefined) return undefined;
  const g = m.groups ?? {};
  const num = (...names: string[]) => {
    const v = names.map((n) => g[n]).find((x) => x !== undefined && x !== '');
    return v === undefined ? undefined : Number(v);
  };
  const element: Element = { kind, optional: text.endsWith('?') };
  const min = num('i_min', 'f_min', 's_min', 'p_min');
  const max = num('i_max', 'f_max', 's_max', 'p_max');
  if (min !== undefined) element.min = min;
  if (max !== undefined) element.max = max;
  if (kind === 'port') {
    element.min = 1;
    element.max = 65535;
  }
  if (g.list !== undefined) element.values = g.list.split('|');
  if (g.match !== undefined) element.regex = g.match;
  return element;
}

export type SchemaNode = string | SchemaNode[] | { [key: string]: SchemaNode };

/** `SCHEMA_ELEMENT` of validate.py: every problem with the schema's shape or element syntax. */
export function schemaProblems(schema: { [key: string]: SchemaNode }, path = ''): string[] {
  const problems: string[] = [];
  for (const [key, node] of Object.entries(schema)) {
    const where = path === '' ? key : `${path}.${key}`;
    if (typeof node === 'string') {
      if (parseElement(node) === undefined) problems.push(`${where}: '${node}' is not a schema type`);
    } else if (Array.isArray(node)) {
      if (node.length !== 1) problems.push(`${where}: a list holds exactly one element`);
      const [inner] = node;
      if (Array.isArray(inner)) problems.push(`${where}: a list may not directly contain another list`);
      else if (typeof inner === 'string') {
        if (parseElement(inner) === undefined) problems.push(`${where}: '${inner}' is not a schema type`);
      } else if (inner !== undefined) problems.push(...schemaProblems(inner, where));
    } else {
      problems.push(...schemaProblems(node, where));
    }
  }
  return problems;
}

/** voluptuous `Coerce(int)`: Python's int() of an int, a float (truncated), a bool or a numeric string. */
function coerceInt(value: unknown): number | undefined {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) return Number(value);
  return undefined;
}

/** voluptuous `Boolean()`. */
function coerceBool(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') {
    const v = value.toLowerCase();
    if (['1', 'true', 'yes', 'on', 'enable'].includes(v)) return true;
    if (['0', 'false', 'no', 'off', 'disable'].includes(v)) return false;
  }
  return undefined;
}

/** Python `str()` of a JSON value, as `vol.In(...)(str(value))` and `vol.Match(...)(str(value))` see it. */
function pyStr(value: unknown): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return String(value);
}

/** `_single_validate`: the checked value, or a problem. */
function validateSingle(
  typeText: string,
  value: unknown,
  key: string,
): { value: unknown } | { problem: string } {
  if (value === null || value === undefined) return { problem: `Missing required option '${key}'` };
  const el = parseElement(typeText);
  if (el === undefined) return { problem: `Unknown type '${typeText}'` };
  const range = (n: number) => (el.min === undefined || n >= el.min) && (el.max === undefined || n <= el.max);
  switch (el.kind) {
    case 'str':
    case 'password':
      if (typeof value !== 'string') return { problem: `${key}: expected str` };
      if (!range(value.length)) return { problem: `${key}: length out of range` };
      return { value };
    case 'int':
    case 'port': {
      const n = coerceInt(value);
      if (n === undefined) return { problem: `${key}: expected int` };
      if (!range(n)) return { problem: `${key}: value must be in ${el.min}..${el.max}` };
      return { value: n };
    }
    case 'bool': {
      const b = coerceBool(value);
      return b === undefined ? { problem: `${key}: expected boolean` } : { value: b };
    }
    case 'url': {
      // vol.Url(): urlparse() must find a scheme and a network location.
      if (typeof value !== 'string' || !/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]+/.test(value)) {
        return { problem: `${key}: expected a URL` };
      }
      return { value };
    }
    case 'list':
      return el.values?.includes(pyStr(value))
        ? { value: pyStr(value) }
        : { problem: `${key}: value must be one of ${el.values?.join(', ')}` };
    case 'match':
      // vol.Match uses re.match: anchored at the start only.
      return new RegExp(`^(?:${el.regex})`).test(pyStr(value))
        ? { value: pyStr(value) }
        : { problem: `${key}: does not match regular expression` };
    default:
      return { problem: `${key}: type ${el.kind} is not ported to the tests` };
  }
}

export interface OptionsCheck {
  problems: string[];
  /** The options the add-on would receive in /data/options.json. */
  options: Record<string, unknown>;
  /** Keys the Supervisor would drop with a warning (not in the schema). */
  dropped: string[];
}

/** `AppOptions.__call__`: checks the options against the schema, as the Supervisor does before a start. */
export function checkOptions(
  schema: { [key: string]: SchemaNode },
  struct: Record<string, unknown>,
): OptionsCheck {
  const problems: string[] = [];
  const options: Record<string, unknown> = {};
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(struct)) {
    const typ = schema[key];
    if (typ === undefined) {
      dropped.push(key);
      continue;
    }
    if (Array.isArray(typ)) {
      if (!Array.isArray(value)) {
        problems.push(`Invalid list for option '${key}'`);
        continue;
      }
      const inner = typ[0];
      if (typeof inner !== 'string') {
        problems.push(`${key}: nested dicts are not ported to the tests`);
        continue;
      }
      const out: unknown[] = [];
      for (const item of value) {
        const r = validateSingle(inner, item, key);
        if ('problem' in r) problems.push(r.problem);
        else out.push(r.value);
      }
      options[key] = out;
    } else if (typeof typ === 'string') {
      const r = validateSingle(typ, value, key);
      if ('problem' in r) problems.push(r.problem);
      else options[key] = r.value;
    } else {
      problems.push(`${key}: nested dicts are not ported to the tests`);
    }
  }
  // _check_missing_options: a missing key is fine only when its type (or its list's) ends with '?'.
  for (const [key, typ] of Object.entries(schema)) {
    if (key in options || problems.some((p) => p.includes(`'${key}'`) || p.startsWith(`${key}:`))) continue;
    const t = Array.isArray(typ) ? typ[0] : typ;
    if (typeof t === 'string' && t.endsWith('?')) continue;
    problems.push(`Missing option '${key}' in root`);
  }
  return { problems, options, dropped };
}
