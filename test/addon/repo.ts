/** The repository's add-on files as the tests read them: the manifest, the translations, the root. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { SchemaNode } from './supervisor-options.js';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface Manifest {
  name: string;
  version: string;
  slug: string;
  description: string;
  arch: string[];
  init?: boolean;
  ingress?: boolean;
  ingress_port?: number;
  services?: string[];
  options: Record<string, unknown>;
  schema: Record<string, SchemaNode>;
  [key: string]: unknown;
}

export function readManifest(): Manifest {
  return YAML.parse(readFileSync(join(ROOT, 'config.yaml'), 'utf8')) as Manifest;
}

export interface Translations {
  configuration?: Record<string, { name?: unknown; description?: unknown; fields?: unknown }>;
  network?: Record<string, string>;
  [key: string]: unknown;
}

export function readTranslations(lang = 'en'): Translations {
  return YAML.parse(
    readFileSync(join(ROOT, 'addon', 'translations', `${lang}.yaml`), 'utf8'),
  ) as Translations;
}

/** The config keys the add-on sets itself (the image's environment), so they are not options. */
export const ADDON_FIXED_KEYS: Readonly<Record<string, string>> = {
  state_dir: "/data is the add-on's only persistent folder (ENV STATE_DIR=/data)",
  http_port: 'the Ingress proxy connects to ingress_port (ENV HTTP_PORT, equal to it)',
  http_host: 'the Ingress proxy connects from 172.30.32.2 (ENV HTTP_HOST=0.0.0.0)',
};
