/**
 * The Home Assistant add-on schema type of each configuration value (the `schema:` section of
 * config.yaml), recorded by the schema builders as they build a key's zod schema, so the range
 * in `int(1,86400)` is written once, in the zod schema. Types as the Supervisor reads them
 * (developers.home-assistant.io, "Add-on configuration" → "Options / Schema"): `str`, `bool`,
 * `int(min,max)`, `url`, `password`, `port`, `list(a|b|c)`; a list of values is a one-element
 * YAML list such as `[str]`. A trailing `?` makes the option optional. Pure: zod only.
 */
import { z } from 'zod';

/** One element type, without the optional mark: `str`, `int(0,100)`, `list(ipv4|ipv6)`, … */
export type ManifestElement = string;

/** A key's type in the add-on schema: an element, or a list of one element (`[str]`). */
export type ManifestType = ManifestElement | readonly [ManifestElement];

const registry = z.registry<{ manifest: ManifestType }>();

/** Records `type` as the add-on schema type of `schema`, and returns `schema`. */
export function withManifest<S extends z.ZodType>(schema: S, type: ManifestType): S {
  registry.add(schema, { manifest: type });
  return schema;
}

/** The add-on schema type recorded for `schema` (without `?`), or undefined. */
export function manifestOf(schema: z.ZodType): ManifestType | undefined {
  return registry.get(schema)?.manifest;
}

/**
 * The optional form of a type, as used for a key left out of `options`: `int(1,60)` →
 * `int(1,60)?`, `[str]` → `[str?]` (for a list, the element's `?` makes the list optional).
 */
export function optionalManifest(type: ManifestType): ManifestType {
  if (typeof type === 'string') return type.endsWith('?') ? type : `${type}?`;
  return [optionalManifest(type[0]) as ManifestElement];
}

/** The same type without the optional mark, for a key that `options` lists. */
export function requiredManifest(type: ManifestType): ManifestType {
  if (typeof type === 'string') return type.replace(/\?$/, '');
  return [requiredManifest(type[0]) as ManifestElement];
}

const ELEMENT =
  /^(?:str|bool|email|url|password|port|(?:str|int|float)(?:\(-?\d*(?:\.\d+)?,-?\d*(?:\.\d+)?\))?|list\([^|()]+(?:\|[^|()]+)*\)|match\(.+\))\??$/;

/** True when `type` is written in the Supervisor's schema syntax. */
export function isManifestType(type: unknown): type is ManifestType {
  if (typeof type === 'string') return ELEMENT.test(type);
  return Array.isArray(type) && type.length === 1 && typeof type[0] === 'string' && ELEMENT.test(type[0]);
}
