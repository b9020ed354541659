/**
 * The official Home Assistant add-on linter, frenck/action-addon-linter, ported to TypeScript for
 * the tests (no Python or container here). Its two parts are reproduced:
 *
 * - `src/config.schema.json` — copied verbatim to addon-linter.schema.json beside this file (from
 *   the commit below) — checked the way its `src/lint.py` does: Draft 7 JSON Schema plus an extra
 *   rule that reports every property equal to its schema `default` ("'X' should be removed, it uses
 *   a default value"). Only the keywords that schema uses are implemented: type, enum, pattern,
 *   properties, additionalProperties, items, required, minimum, maximum, anyOf, oneOf (`format` is
 *   not checked by jsonschema's default validator either).
 * - the checks written out in `lint.py`: deprecated arches, `webui` with Ingress, `ingress_port: 0`,
 *   `full_access` with device keys, `auto_uart`, old `devices` and `tmpfs` forms, cold backups with
 *   pre/post commands, `watchdog`, `codenotary`, the old `config` map — and, when a build.yaml /
 *   build.json exists, its own checks. The brief for this project adds one rule of its own: no build
 *   file at all (the base image and labels live in the Dockerfile; the Supervisor warns that
 *   build.yaml is deprecated: supervisor/apps/build.py).
 *
 * Source: https://github.com/frenck/action-addon-linter at f995494fd84fae6310d23617e66d0e37de4f14eb
 * (src/lint.py, src/config.schema.json).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { [key: string]: Json };

export const LINTER_SCHEMA = JSON.parse(
  readFileSync(join(import.meta.dirname, 'addon-linter.schema.json'), 'utf8'),
) as Schema;

/** Python's repr() of a JSON value, as jsonschema quotes it in its messages. */
function pyRepr(value: Json): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `'${k}': ${pyRepr(v)}`)
      .join(', ')}}`;
  }
  return String(value);
}

function jsonType(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(value: Json, type: string): boolean {
  const actual = jsonType(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

/** Python's `==` on JSON values (what lint.py's default check uses). */
function pyEqual(a: Json | undefined, b: Json): boolean {
  if (a === undefined) return false;
  if (typeof a === 'boolean' || typeof b === 'boolean') return a === b;
  return JSON.stringify(a) === JSON.stringify(b);
}

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Python `re` named groups `(?P<name>…)` → JavaScript `(?<name>…)`; jsonschema uses re.search. */
function pattern(source: string): RegExp {
  return new RegExp(source.replaceAll('(?P<', '(?<'), 'u');
}

function validate(schema: Schema, value: Json, path: string): string[] {
  const errors: string[] = [];
  const at = path === '' ? '' : ` (at ${path})`;
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => typeMatches(value, t))) {
      return [`${pyRepr(value)} is not of type ${types.map((t) => `'${t}'`).join(', ')}${at}`];
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => pyEqual(value, e))) {
    errors.push(`${pyRepr(value)} is not one of ${pyRepr(schema.enum)}${at}`);
  }
  if (
    typeof schema.pattern === 'string' &&
    typeof value === 'string' &&
    !pattern(schema.pattern).test(value)
  ) {
    errors.push(`'${value}' does not match '${schema.pattern}'${at}`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) {
      errors.push(`${value} is less than the minimum of ${schema.minimum}${at}`);
    }
    if (typeof schema.maximum === 'number' && value > schema.maximum) {
      errors.push(`${value} is greater than the maximum of ${schema.maximum}${at}`);
    }
  }
  if (Array.isArray(value) && isObject(schema.items)) {
    value.forEach((item, i) => {
      errors.push(...validate(schema.items as Schema, item, `${path}[${i}]`));
    });
  }
  if (isObject(value)) {
    const properties = isObject(schema.properties) ? schema.properties : {};
    if (Array.isArray(schema.required)) {
      for (const key of schema.required as string[]) {
        if (!(key in value)) errors.push(`'${key}' is a required property${at}`);
      }
    }
    for (const [key, sub] of Object.entries(properties)) {
      if (!isObject(sub) || !(key in value)) continue;
      // lint.py's extension: a property equal to its default should be removed.
      if ('default' in sub && pyEqual(value[key], sub.default as Json)) {
        errors.push(`'${key}' should be removed, it uses a default value`);
      }
      errors.push(...validate(sub, value[key] as Json, path === '' ? key : `${path}.${key}`));
    }
    for (const [key, item] of Object.entries(value)) {
      if (key in properties) continue;
      if (schema.additionalProperties === false) {
        errors.push(`Additional properties are not allowed ('${key}' was unexpected)${at}`);
      } else if (isObject(schema.additionalProperties)) {
        errors.push(...validate(schema.additionalProperties, item, path === '' ? key : `${path}.${key}`));
      }
    }
  }
  if (Array.isArray(schema.anyOf)) {
    const ok = (schema.anyOf as Schema[]).some((s) => validate(s, value, path).length === 0);
    if (!ok) errors.push(`${pyRepr(value)} is not valid under any of the given schemas${at}`);
  }
  if (Array.isArray(schema.oneOf)) {
    const passing = (schema.oneOf as Schema[]).filter((s) => validate(s, value, path).length === 0).length;
    if (passing !== 1) {
      errors.push(
        passing === 0
          ? `${pyRepr(value)} is not valid under any of the given schemas${at}`
          : `${pyRepr(value)} is valid under each of several given schemas${at}`,
      );
    }
  }
  return errors;
}

/** The errors (not warnings) lint.py would print for a manifest, in its order. */
export function lintManifest(config: { [key: string]: Json }): string[] {
  const errors = validate(LINTER_SCHEMA, config, '').sort();
  const devicesUseOldForm =
    Array.isArray(config.devices) && config.devices.some((d) => typeof d === 'string' && d.includes(':'));
  const map = Array.isArray(config.map) ? config.map : [];
  const mapHas = (type: string) => [type, `${type}:rw`, `${type}:ro`].some((t) => map.includes(t));
  if (config.ingress === true) {
    if (config.webui) errors.push("'webui' should be removed, Ingress is enabled.");
    if (config.host_network !== true && (config.ingress_port ?? 8099) === 0) {
      errors.push(
        "'ingress_port' this does not run on the host network. In Ingress port doesn't have to be randomized (not 0).",
      );
    }
  }
  if (config.full_access === true && ['devices', 'gpio', 'uart', 'usb'].some((k) => k in config)) {
    errors.push("'full_access', don't add 'devices', 'uart', 'usb' or 'gpio' this is not needed");
  }
  if ('auto_uart' in config) errors.push("'auto_uart' is deprecated, use 'uart' instead.");
  if (devicesUseOldForm)
    errors.push("'devices' uses a deprecated format, the new format uses a list of paths only.");
  if ('tmpfs' in config && typeof config.tmpfs !== 'boolean') {
    errors.push("'tmpfs' use a deprecated format, it is a boolean now.");
  }
  if ((config.backup ?? 'hot') === 'cold') {
    for (const key of ['backup_pre', 'backup_post']) {
      if (key in config) errors.push(`'${key}' is not valid when using cold backups.`);
    }
  }
  if (config.watchdog)
    errors.push("'watchdog', is obsolete. Use the native Docker HEALTHCHECK directive instead.");
  if ('codenotary' in config)
    errors.push("'codenotary' is deprecated and no longer used. Please remove this field.");
  if (mapHas('config') && mapHas('homeassistant_config')) {
    errors.push("'map' contains both the 'config' and 'homeassistant_config' folder, which are conflicting.");
  }
  if (mapHas('config') && mapHas('addon_config')) {
    errors.push("'map' contains both the 'config' and 'addon_config' folder, which are conflicting.");
  }
  return errors;
}

/** The warnings lint.py prints (they do not fail it). */
export function lintWarnings(config: { [key: string]: Json }): string[] {
  const warnings: string[] = [];
  const arch = Array.isArray(config.arch) ? config.arch : [];
  for (const a of arch) {
    if (a === 'armhf' || a === 'armv7' || a === 'i386') warnings.push(`Architecture '${a}' is deprecated`);
  }
  if (config.full_access) warnings.push("'full_access' consider using other options instead, like 'devices'");
  if (config.advanced) warnings.push("'advanced' flag is not recommended.");
  return warnings;
}

/** The manifest file the Supervisor and the linter look for in an add-on folder. */
export function findManifest(dir: string): string | undefined {
  return ['json', 'yaml', 'yml'].map((ext) => join(dir, `config.${ext}`)).find((p) => existsSync(p));
}

/** Lints an add-on folder: its manifest, and — this project's rule — the absence of a build file. */
export function lintAddonFolder(dir: string): string[] {
  const manifest = findManifest(dir);
  if (manifest === undefined) return [`Add-on configuration file not found in '${dir}'`];
  const text = readFileSync(manifest, 'utf8');
  const parsed = (manifest.endsWith('.json') ? JSON.parse(text) : YAML.parse(text)) as Json;
  if (!isObject(parsed)) return [`${manifest} does not hold a mapping`];
  const errors = lintManifest(parsed);
  for (const ext of ['json', 'yaml', 'yml']) {
    if (existsSync(join(dir, `build.${ext}`))) {
      errors.push(`build.${ext} should be removed: FROM, ARG and LABEL live in the Dockerfile`);
    }
  }
  return errors;
}
