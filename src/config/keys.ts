/**
 * Every configuration key, from the section tables of SPEC §2 (sections/*.ts), where each key is
 * defined once: its zod schema, default, add-on schema type, label and documentation. The
 * `Config` type, `DEFAULTS`, the key list, the environment names and docs/configuration.md are
 * all derived from those tables. Pure: zod and the core only.
 */
import type { z } from 'zod';
import type { KeySpec, SectionId } from './key-spec.js';
import { type ManifestType, manifestOf, optionalManifest } from './manifest.js';
import { DNS } from './sections/dns.js';
import { IP } from './sections/ip.js';
import { MQTT } from './sections/mqtt.js';
import { PROBES } from './sections/probes.js';
import { RECOVERY } from './sections/recovery.js';
import { SERVICE } from './sections/service.js';
import { envName } from './values.js';

export type { RecordConfig, RouterProbe } from './fields.js';
export { DEFAULT_IP_SOURCES, DEFAULT_IP_SOURCES_V6 } from './sections/ip.js';
export { DEFAULT_WAN_TARGETS } from './sections/probes.js';

/** The sections in the order the docs show them and `parseConfig` checks their keys. */
export const SECTIONS = [DNS, IP, MQTT, PROBES, RECOVERY, SERVICE] as const;

type Specs = typeof DNS.keys &
  typeof IP.keys &
  typeof MQTT.keys &
  typeof PROBES.keys &
  typeof RECOVERY.keys &
  typeof SERVICE.keys;

/** A key a user can set. */
export type ConfigKey = keyof Specs & string;

/** Every key's table entry, in section order. */
export const KEY_SPECS: { readonly [K in ConfigKey]: Specs[K] } = Object.assign(
  {},
  ...SECTIONS.map((section) => section.keys),
);

/** Every key a user can set, in section order (the order problems are reported in). */
export const KEY_NAMES = Object.keys(KEY_SPECS) as readonly ConfigKey[];

type Output<K extends ConfigKey> = z.output<Specs[K]['schema']>;

/** Keys with a fixed default. */
type FixedKeys = { [K in ConfigKey]: Specs[K] extends { default: unknown } ? K : never }[ConfigKey];
/** Keys without a fixed value that parseConfig always works out (mode, ip_quorum, …). */
export type ComputedKeys = {
  [K in ConfigKey]: Specs[K] extends { computed: { by: 'parse' } } ? K : never;
}[ConfigKey];
type OptionalKeys = Exclude<ConfigKey, FixedKeys | ComputedKeys>;

/** The resolved configuration: every key of the tables, plus two values derived from them. */
export type Config = { [K in FixedKeys | ComputedKeys]: Output<K> } & {
  [K in OptionalKeys]?: Exclude<Output<K>, undefined>;
} & {
  /** True when the user set `ttl`: updates then also write it, not only creates. */
  ttl_explicit: boolean;
  /**
   * True when the user set `mode`. The token-less default dry-run is about DNS only: recovery keeps
   * to saying what it would do only when `mode: dry-run` was set explicitly (SPEC §5).
   */
  mode_explicit: boolean;
  /** Derived, not a user key: the quorum applied to ip_sources_v6 (ip_quorum capped at its length). */
  ip_quorum_v6: number;
};

export type PlugType = Config['plug_type'];
export type LogLevel = Config['log_level'];

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') Object.values(value).forEach(deepFreeze);
  return Object.isFrozen(value) ? value : Object.freeze(value);
}

/**
 * The fixed defaults, from the tables. Keys missing here have no default (unset) or one worked
 * out from other keys or at run time: `computed` in their table entry.
 */
export const DEFAULTS = deepFreeze(
  Object.fromEntries(
    KEY_NAMES.flatMap((key) => {
      const spec: KeySpec = KEY_SPECS[key];
      return 'default' in spec ? [[key, spec.default]] : [];
    }),
  ),
) as { readonly [K in FixedKeys]: Readonly<Output<K>> };

/**
 * One line of the configuration reference. `listConfigKeys()` returns one per key, in section
 * order, for the docs generator (reference.ts) and for the add-on's tests, which compare the
 * manifest (config.yaml `options`/`schema`) and its translations against it:
 * - `manifestType`: the add-on schema type for a key left out of `options`, so ending in `?`
 *   (`int(1,86400)?`, `password?`, `[str?]` for a list); a key listed in `options` takes the same
 *   type without the `?` (`requiredManifest` in manifest.ts).
 * - `default`: the value to write under `options`, as the agent reads it; undefined when the key
 *   has no fixed default (unset, or worked out at start or run time: see `defaultText`).
 * - `label` and `description` (plain text) are what the add-on's translations show.
 */
export interface ConfigKeyInfo {
  section: SectionId;
  sectionTitle: string;
  key: ConfigKey;
  /** The environment variable: `cloudflare_api_token` → `CLOUDFLARE_API_TOKEN`. */
  envName: string;
  /** A secret: never shown, and also read from `<envName>_FILE`. */
  secret: boolean;
  manifestType: ManifestType;
  default: unknown;
  /** The default as the docs show it (Markdown), or '—' when unset. */
  defaultText: string;
  label: string;
  /** The values allowed (Markdown). */
  allowed: string;
  /** The documentation paragraph (Markdown). */
  doc: string;
  /** The documentation paragraph as plain text (no Markdown marks). */
  description: string;
}

/** The add-on schema type a key's table entry gives, without `?`. */
export function manifestTypeOf(spec: KeySpec): ManifestType | undefined {
  return spec.manifest ?? manifestOf(spec.schema);
}

/** A default value as the docs show it: `60`, `` `ipv4` ``, a list of values, `[]`. */
export function formatDefault(value: unknown): string {
  if (Array.isArray(value))
    return value.length === 0 ? '`[]`' : value.map((v) => `\`${String(v)}\``).join(', ');
  return `\`${String(value)}\``;
}

function defaultText(spec: KeySpec): string {
  if (spec.shown !== undefined) return spec.shown;
  if (spec.computed !== undefined) return spec.computed.text;
  if ('default' in spec) return formatDefault(spec.default);
  return '—';
}

/** Markdown to plain text: code marks, emphasis and link targets dropped. */
export function plainText(markdown: string): string {
  return markdown
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/`([^`]+)`/g, '$1')
    .replace(/\[([^\]]+)\]\([^)]+\)/g, '$1');
}

/** Every configuration key with what the docs and the add-on need to know of it (see ConfigKeyInfo). */
export function listConfigKeys(): ConfigKeyInfo[] {
  return SECTIONS.flatMap((section) =>
    Object.entries(section.keys as Readonly<Record<string, KeySpec>>).map(([key, spec]): ConfigKeyInfo => {
      const type = manifestTypeOf(spec);
      if (type === undefined) throw new Error(`config key ${key} has no add-on schema type`);
      const value = 'default' in spec ? spec.default : undefined;
      return {
        section: section.id,
        sectionTitle: section.title,
        key: key as ConfigKey,
        envName: envName(key),
        secret: type === 'password',
        manifestType: optionalManifest(type),
        default: Array.isArray(value) ? [...value] : value,
        defaultText: defaultText(spec),
        label: spec.label,
        allowed: spec.allowed,
        doc: spec.doc,
        description: plainText(spec.doc),
      };
    }),
  );
}
