/**
 * The shape of the configuration tables (sections/*.ts): one entry per key, holding everything
 * the rest of the code derives — the zod schema, the default, the add-on schema type, the label
 * and the documentation. Types only.
 */
import type { z } from 'zod';
import type { ManifestType } from './manifest.js';

/** The sections of SPEC §2, in the order the docs show them and the keys are checked. */
export type SectionId = 'dns' | 'ip' | 'mqtt' | 'probes' | 'recovery' | 'service';

export interface KeySpec {
  /** Coerces a raw value from a file or the environment; rejects it with `<fault> — <fix>`. */
  readonly schema: z.ZodType;
  /** The fixed default, as a user would write it (it goes into DEFAULTS and the add-on options). */
  readonly default?: unknown;
  /**
   * A default that is not a fixed value. `parse`: worked out by parseConfig from other keys or
   * the context (the key is always set in Config); `run`: left unset in Config and found at run
   * time (the default gateway, the zone the token can see). `text` is shown in the docs.
   */
  readonly computed?: { readonly by: 'parse' | 'run'; readonly text: string };
  /** How the docs show the default when the value alone would mislead (Markdown). */
  readonly shown?: string;
  /** A short name, as the add-on's Configuration tab shows it. */
  readonly label: string;
  /** The values allowed, short (Markdown). */
  readonly allowed: string;
  /** One paragraph (Markdown): what the key does, when to change it, an example. */
  readonly doc: string;
  /** The add-on schema type when it is not the one the schema builder recorded (e.g. `port`). */
  readonly manifest?: ManifestType;
}

export interface Section<K extends Readonly<Record<string, KeySpec>> = Readonly<Record<string, KeySpec>>> {
  readonly id: SectionId;
  readonly title: string;
  /** Markdown shown after the section's table: rules shared by several of its keys. */
  readonly notes?: string;
  readonly keys: K;
}
