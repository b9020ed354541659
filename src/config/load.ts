/**
 * The only reader of configuration files and the environment (SPEC §2). Merges the sources —
 * built-in defaults < options file < environment — and hands the raw values to `parseConfig`.
 * Every problem, from any source, ends up in one ConfigError; no secret value is ever quoted.
 */
import { extname } from 'node:path';
import { ConfigError } from '../errors.js';
import {
  redactUrl,
  SECRET_KEYS,
  SECRET_PATH_URL_KEYS,
  URL_KEYS,
  URL_LIST_KEYS,
  urlOrigin,
} from '../redact.js';
import { MAX_CA_FILE_BYTES, MAX_OPTIONS_BYTES, MAX_SECRET_BYTES, readSmallFile } from './files.js';
import { CONFIG_KEYS, type Config, envName, isConfigKey, parseConfig } from './schema.js';

export interface LoadOptions {
  /** `--config FILE` from the command line; wins over CONFIG_FILE and the add-on's options. */
  argvConfigPath?: string;
  env: NodeJS.ProcessEnv;
  /** stdout is a terminal: log_format defaults to pretty. */
  isTTY: boolean;
  /** Where the add-on's options live (default /data/options.json); read only when SUPERVISOR_TOKEN is set. */
  addonOptionsPath?: string;
}

export interface LoadedConfig {
  config: Config;
  /** Where values came from, lowest precedence first, e.g. ['defaults', 'file:/x.yaml', 'env']. */
  sources: string[];
  /** Running as a Home Assistant add-on (SUPERVISOR_TOKEN set). */
  addon: boolean;
}

export const ADDON_OPTIONS_PATH = '/data/options.json';

interface OptionsFile {
  path: string;
  /** How the user named it, for problem lines: --config, CONFIG_FILE, or the add-on options. */
  via: string;
  /** The add-on's options.json: absent is fine, and '' means "not set" for every key. */
  addon: boolean;
}

type FileRead =
  | { kind: 'values'; values: Record<string, unknown> }
  | { kind: 'missing' }
  | { kind: 'problem'; problem: string };

/**
 * Read, merge and validate the configuration. Throws ConfigError listing every problem found in
 * the file, the environment and the values themselves.
 */
export async function loadConfig(opts: LoadOptions): Promise<LoadedConfig> {
  const { env } = opts;
  const addon = isSet(env.SUPERVISOR_TOKEN);
  const problems: string[] = [];
  const sources = ['defaults'];
  const raw: Record<string, unknown> = {};
  const origins: Record<string, string> = {};

  const file = chooseFile(opts, addon);
  if (file !== undefined) {
    const read = await readOptionsFile(file);
    if (read.kind === 'problem') problems.push(read.problem);
    if (read.kind === 'missing' && !file.addon) {
      problems.push(`${file.via}: ${file.path} does not exist — check the path`);
    }
    if (read.kind === 'values') {
      sources.push(`file:${file.path}`);
      for (const [key, value] of Object.entries(read.values)) {
        const cleaned = isConfigKey(key) ? fileValue(key, value, file.addon) : (value ?? null);
        if (cleaned !== undefined) raw[key] = cleaned;
      }
    }
  }

  let fromEnv = false;
  for (const key of CONFIG_KEYS) {
    const name = envName(key);
    const value = env[name];
    if (value === undefined) continue;
    // An empty variable (compose's `KEY: ${KEY}` with KEY unset) means "not set", except that
    // ROUTER_HOST= disables router probes.
    if (value.trim() === '' && key !== 'router_host') continue;
    raw[key] = value;
    origins[key] = name;
    fromEnv = true;
  }
  for (const key of SECRET_KEYS) {
    const fileVar = `${envName(key)}_FILE`;
    const path = env[fileVar];
    if (path === undefined || path.trim() === '') continue;
    const label = `${key} (${fileVar})`;
    if (origins[key] !== undefined) {
      problems.push(`${label}: both ${envName(key)} and ${fileVar} are set — keep only one of them`);
      continue;
    }
    const read = await readSmallFile(path.trim(), MAX_SECRET_BYTES);
    if (read.kind === 'missing' || read.kind === 'unreadable') {
      const reason = read.kind === 'missing' ? 'no such file' : read.reason;
      problems.push(`${label}: cannot read ${path} (${reason}) — check the path, or mount the secret there`);
      continue;
    }
    if (read.kind === 'not-a-file') {
      problems.push(
        `${label}: ${path} is ${read.what}, not a regular file — give the path of a file that holds only the secret`,
      );
      continue;
    }
    if (read.kind === 'too-large') {
      problems.push(
        `${label}: ${path} is larger than 64 KiB (${kib(read.size)}) — a secret file holds only the secret; check the path`,
      );
      continue;
    }
    const content = read.text.trim();
    if (content === '') {
      problems.push(`${label}: ${path} is empty — put the secret in that file, or unset ${fileVar}`);
      continue;
    }
    raw[key] = content;
    origins[key] = fileVar;
    fromEnv = true;
  }
  if (fromEnv) sources.push('env');

  const ca = raw.mqtt_ca_file;
  if (typeof ca === 'string' && ca.trim() !== '') {
    const problem = await caFileProblem(ca.trim());
    if (problem !== undefined) {
      const label = origins.mqtt_ca_file ? `mqtt_ca_file (${origins.mqtt_ca_file})` : 'mqtt_ca_file';
      problems.push(`${label}: ${problem}`);
    }
  }

  const result = parseConfig(raw, { addon, isTTY: opts.isTTY, origins });
  if (!result.ok) problems.push(...result.problems);
  if (!result.ok || problems.length > 0) throw new ConfigError(problems);
  return { config: result.config, sources, addon };
}

function isSet(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

function chooseFile(opts: LoadOptions, addon: boolean): OptionsFile | undefined {
  if (isSet(opts.argvConfigPath)) return { path: opts.argvConfigPath, via: '--config', addon: false };
  const fromEnv = opts.env.CONFIG_FILE;
  if (isSet(fromEnv)) return { path: fromEnv.trim(), via: 'CONFIG_FILE', addon: false };
  if (addon) return { path: opts.addonOptionsPath ?? ADDON_OPTIONS_PATH, via: 'add-on options', addon: true };
  return undefined;
}

/**
 * A value from a file as the schema should see it. null and '' mean "not set" (Home Assistant
 * writes them for optional options left empty) — except `router_host: ''` in a user's own file,
 * which disables router probes as SPEC §2 says.
 */
function fileValue(key: string, value: unknown, addonFile: boolean): unknown {
  if (value === null) return undefined;
  if (typeof value === 'string' && value.trim() === '') {
    return key === 'router_host' && !addonFile ? '' : undefined;
  }
  return value;
}

async function readOptionsFile(file: OptionsFile): Promise<FileRead> {
  const read = await readSmallFile(file.path, MAX_OPTIONS_BYTES);
  switch (read.kind) {
    case 'missing':
      return { kind: 'missing' };
    case 'unreadable':
      return {
        kind: 'problem',
        problem: `${file.via}: cannot read ${file.path} (${read.reason}) — check the path and its permissions`,
      };
    case 'not-a-file':
      return {
        kind: 'problem',
        problem: `${file.via}: ${file.path} is ${read.what}, not a regular file — give the path of a YAML or JSON file`,
      };
    case 'too-large':
      return {
        kind: 'problem',
        problem: `${file.via}: ${file.path} is larger than 1 MiB (${mib(read.size)}) — an options file is a few kilobytes; check the path`,
      };
  }
  let text = read.text;
  text = text.replace(/^\uFEFF/, '');
  if (text.trim() === '') return { kind: 'values', values: {} };

  let data: unknown;
  if (extname(file.path).toLowerCase() === '.json') {
    try {
      data = JSON.parse(text);
    } catch (err) {
      return {
        kind: 'problem',
        problem: `${file.path}: is not valid JSON (${jsonReason(err, text)}) — fix the file (or write it as YAML)`,
      };
    }
  } else {
    // YAML 1.2 also reads JSON, so any other extension is parsed as YAML. The parser is loaded
    // only when there is a YAML file to read: a faster start without one (docs/benchmarks.md).
    const { QUOTE_HINT, readYaml } = await import('./yaml-file.js');
    const yaml = readYaml(text);
    if (!yaml.ok) {
      const problem = yaml.quote
        ? `${file.path}: is not valid YAML (${yaml.reason}) — ${QUOTE_HINT}`
        : `${file.path}: is not valid YAML (${yaml.reason}) — fix the file`;
      return { kind: 'problem', problem };
    }
    data = yaml.data;
  }
  if (data === null || data === undefined) return { kind: 'values', values: {} };
  if (typeof data !== 'object' || Array.isArray(data)) {
    const what = Array.isArray(data) ? 'a list' : 'a single value';
    return {
      kind: 'problem',
      problem: `${file.path}: holds ${what} at the top level — write one key: value pair per line`,
    };
  }
  const values = data as Record<string, unknown>;
  if (ADDON_MANIFEST_KEYS.every((key) => Object.hasOwn(values, key))) {
    // `--config config.yaml`: every manifest key would be an "unknown key" line, none helpful.
    return {
      kind: 'problem',
      problem: `${file.via}: ${file.path} is the add-on manifest (it has slug, options and schema), not an options file — write your options in a file of their own, e.g. options.yaml (docs/configuration.md)`,
    };
  }
  return { kind: 'values', values };
}

/** Keys that together mark Home Assistant's add-on manifest (config.yaml), never an options file. */
const ADDON_MANIFEST_KEYS = ['slug', 'options', 'schema'] as const;

/** JSON.parse's reason with a line and column, and without any quoted excerpt of the file. */
function jsonReason(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : String(err);
  let reason = message.replace(/, ".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '');
  if (reason.includes('"')) reason = 'unexpected content';
  const position = /at position (\d+)/.exec(message);
  if (position === null) return reason;
  const before = text.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${reason} at line ${line}, column ${column}`;
}

function kib(bytes: number | undefined): string {
  return bytes === undefined ? 'more than that' : `${(bytes / 1024).toFixed(1)} KiB`;
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? 'more than that' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Why the CA file cannot be used, or undefined. Checked at start so `run` never fails on it later. */
async function caFileProblem(path: string): Promise<string | undefined> {
  const fix = 'give the path of a readable PEM file';
  const read = await readSmallFile(path, MAX_CA_FILE_BYTES);
  switch (read.kind) {
    case 'missing':
      return `cannot read ${path} (no such file) — ${fix}`;
    case 'unreadable':
      return `cannot read ${path} (${read.reason}) — ${fix}`;
    case 'not-a-file':
      return `${path} is ${read.what}, not a file — ${fix}`;
    case 'too-large':
      return `${path} is larger than 1 MiB — a CA certificate is a few kilobytes; ${fix}`;
  }
  if (!/-----BEGIN [A-Z0-9 ]*CERTIFICATE-----/.test(read.text)) {
    return `${path} holds no PEM certificate (no -----BEGIN CERTIFICATE----- line) — give the CA certificate in PEM form (convert a DER file with: openssl x509 -inform der -in FILE -out ca.pem)`;
  }
  return undefined;
}

/**
 * The configuration as it may be printed (`check`, the startup log): every secret replaced by
 * '[set]' or left out when absent; user info and query strings of URLs masked (`***`); and the
 * heartbeat and webhook URLs (whose paths are secrets) cut to their scheme and host.
 */
export function describeConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ...config,
    records: config.records.map((record) => ({ ...record })),
    wan_targets: [...config.wan_targets],
  };
  for (const key of URL_LIST_KEYS) out[key] = config[key].map(redactUrl);
  for (const key of SECRET_KEYS) {
    if (config[key] === undefined) delete out[key];
    else out[key] = '[set]';
  }
  for (const key of URL_KEYS) {
    const value = config[key];
    if (typeof value !== 'string' || value === '') continue;
    out[key] = (SECRET_PATH_URL_KEYS as readonly string[]).includes(key)
      ? urlOrigin(value)
      : redactUrl(value);
  }
  for (const key of Object.keys(out)) {
    if (out[key] === undefined) delete out[key];
  }
  return out;
}
