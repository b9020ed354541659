/**
 * Raw configuration values: how they are shown in problem lines (never a credential), coerced
 * from the environment's strings, and judged as host names, URLs and MQTT strings (IP literals
 * are judged by the core's parser, src/domain/ip.ts). Pure: the global URL and TextEncoder
 * classes only.
 */
import { parseIp } from '../domain/ip.js';
import { redactText, redactUrl, splitUrlText, urlOrigin } from '../redact.js';

/** `cloudflare_api_token` → `CLOUDFLARE_API_TOKEN`. */
export function envName(key: string): string {
  return key.toUpperCase();
}

// ───────────────────────── showing values in problem lines ─────────────────────────

const MAX_SHOWN = 60;

/**
 * A non-secret value as the user would recognise it, quoted and cut short. Any URL in it is
 * redacted first, in case a credential was typed into the wrong key.
 */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    const flat = redactText(value).replace(/\p{Cc}/gu, ' ');
    return `'${flat.length > MAX_SHOWN ? `${flat.slice(0, MAX_SHOWN)}…` : flat}'`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** A URL for a problem line: redacted, and with `hidePath` only its scheme and host. */
export function showUrl(raw: string, hidePath = false): string {
  return show(hidePath ? urlOrigin(raw) : redactUrl(raw));
}

/** 65535 → '65,535'. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

// ───────────────────────── coercions shared by files and the environment ─────────────────────────

const BOOLEAN_WORDS = new Map<string, boolean>([
  ['true', true],
  ['false', false],
  ['1', true],
  ['0', false],
  ['yes', true],
  ['no', false],
  ['on', true],
  ['off', false],
]);

/** true/false/1/0/yes/no/on/off in any case → boolean; anything else unchanged (and rejected later). */
export function coerceBoolean(value: unknown): unknown {
  if (typeof value === 'string') return BOOLEAN_WORDS.get(value.trim().toLowerCase()) ?? value;
  return value;
}

/** A strictly numeric string → number ("60", "-1", "2.5"); "60s", "0x10", "1e3" stay strings. */
export function coerceNumber(value: unknown): unknown {
  if (typeof value === 'string') {
    const t = value.trim();
    if (/^[+-]?\d+(?:\.\d+)?$/.test(t)) return Number(t);
  }
  return value;
}

/**
 * Why a number key cannot read `input`, then `use <allowed>`. A number written another way — hex,
 * octal, an exponent (`0x1e`, `3e1`, as YAML or a habit may write it) — is named with its
 * plain-digit form, which is what to write instead.
 */
export function notANumber(input: unknown, allowed: string): string {
  const t = typeof input === 'string' ? input.trim() : '';
  const n = Number(t);
  if (t !== '' && Number.isFinite(n)) {
    return `${show(input)} is not written in plain digits — write it as ${n}; use ${allowed}`;
  }
  return `${show(input)} is not a number — use ${allowed}`;
}

/** A comma- (or whitespace-) separated string → trimmed items; empty items dropped. */
export function coerceList(value: unknown): unknown {
  if (typeof value === 'string') return value.split(/[\s,]+/).filter((s) => s !== '');
  if (Array.isArray(value)) {
    return value
      .map((item) => (typeof item === 'string' ? item.trim() : item))
      .filter((item) => item !== '' && item !== null && item !== undefined);
  }
  return value;
}

/**
 * What to add when a key that holds addresses got a list or a mapping: in YAML, an unquoted
 * `[fe80::1]` is a list and `[::1]:443` inside a flow list is a mapping.
 */
export const YAML_QUOTE_HINT =
  "in YAML, put a value holding [ ] or :: in quotes, e.g. '[2606:4700:4700::1111]:443' or '::'";

/** `; <YAML_QUOTE_HINT>` when `input` is a list or a mapping, else ''. */
export function quoteHintFor(input: unknown): string {
  return input !== null && typeof input === 'object' ? `; ${YAML_QUOTE_HINT}` : '';
}

export function coerceText(value: unknown): unknown {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return value.trim();
  return value;
}

// ───────────────────────── MQTT strings ─────────────────────────

/** The longest string MQTT can carry (topic, client id, user name, password): 65,535 bytes. */
export const MQTT_MAX_BYTES = 65_535;

const encoder = new TextEncoder();

export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * What keeps a text from being an MQTT UTF-8 string (MQTT 3.1.1 §1.5.3, 5.0 §1.5.4): a NUL, a
 * control character, an unpaired surrogate (not valid UTF-8), or more than `maxBytes` bytes.
 * The returned fault does not quote the value (it may be 70,000 characters long).
 */
export function mqttStringFault(text: string, maxBytes = MQTT_MAX_BYTES): string | undefined {
  if (text.includes('\0')) return 'contains a NUL character, which MQTT does not allow';
  if (/\p{Cc}/u.test(text)) return 'contains a control character (a line break, tab or similar)';
  if (UNPAIRED_SURROGATE.test(text)) return 'is not valid UTF-8 text (it holds an unpaired surrogate)';
  const bytes = utf8Bytes(text);
  if (bytes > maxBytes) return `is ${count(bytes)} bytes long`;
  return undefined;
}

// ───────────────────────── host names, IP literals, URLs ─────────────────────────

export type HostNameResult = { ok: true; name: string } | { ok: false; reason: string };

/**
 * An RFC 1035/1123 host name in lower-case punycode, without the trailing dot. The input is
 * normalised first (Unicode NFKC, and the ideographic full stops that IDNA reads as dots), so a
 * full-width `１.２.３.４` or `５` is judged as what it becomes — an IP address, not a name. IDNs are
 * converted (`bücher.example` → `xn--bcher-kva.example`). With `wildcard`, a leading `*.` label is kept.
 */
export function toHostName(input: string, options: { wildcard: boolean }): HostNameResult {
  let name = input
    .normalize('NFKC')
    .replace(/[\u3002\uFF61]/g, '.')
    .trim();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '') return { ok: false, reason: 'is empty' };
  let prefix = '';
  if (options.wildcard && name.startsWith('*.')) {
    prefix = '*.';
    name = name.slice(2);
  }
  if (name.includes('*')) {
    return {
      ok: false,
      reason: options.wildcard ? 'has a * that is not a whole first label (*.example.com)' : 'contains *',
    };
  }
  for (const ch of name) {
    if (ch.charCodeAt(0) < 128 && !/[A-Za-z0-9.-]/.test(ch)) {
      return { ok: false, reason: ch === ' ' ? 'contains a space' : `contains '${ch}'` };
    }
  }
  const labels = name.split('.');
  const last = labels[labels.length - 1] ?? '';
  if (/^(?:\d+|0x[0-9a-f]*)$/i.test(last))
    return { ok: false, reason: 'looks like an IP address, not a name' };
  let ascii: string;
  try {
    ascii = new URL(`http://${name}`).hostname;
  } catch {
    return { ok: false, reason: 'is not a valid internationalised (IDN) name' };
  }
  if (ascii.endsWith('.')) ascii = ascii.slice(0, -1);
  // The URL parser reads some names as IPv4 literals (after its own mapping): never a record.
  if (parseIp(ascii)?.family === 4) {
    return { ok: false, reason: 'looks like an IP address, not a name' };
  }
  if (ascii.length > 253) return { ok: false, reason: 'is longer than 253 characters' };
  for (const label of ascii.split('.')) {
    if (label === '') return { ok: false, reason: 'has an empty label (two dots in a row)' };
    if (label.length > 63) return { ok: false, reason: 'has a label longer than 63 characters' };
    if (!/^[a-z0-9-]+$/.test(label))
      return { ok: false, reason: 'contains characters a host name cannot hold' };
    if (label.startsWith('-') || label.endsWith('-')) {
      return { ok: false, reason: 'has a label that starts or ends with a hyphen' };
    }
  }
  return { ok: true, name: prefix + ascii };
}

export function isPort(text: string): boolean {
  if (!/^\d{1,5}$/.test(text)) return false;
  const port = Number(text);
  return port >= 1 && port <= 65535;
}

function schemeList(schemes: readonly string[]): string {
  const items = schemes.map((s) => `${s}://`);
  return items.length <= 1
    ? (items[0] ?? '')
    : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

export interface UrlRules {
  schemes: readonly string[];
  example: string;
  /** Show only scheme and host (the path is a secret). */
  hidePath?: boolean;
  /** The key that can hold this URL's password instead (mqtt_password), named in the fix. */
  passwordKey?: string;
  /**
   * The URL's user info is split at its last `:` after decoding (mqtt.js does this), so a `:`
   * (`%3A`) in the user name or password would move the split.
   */
  colonSplitsUserInfo?: boolean;
}

const ESCAPES = 'in a user name or password, write # / ? @ % : as %23 %2F %3F %40 %25 %3A';

/**
 * What a problem line says instead of a value that is not a URL at all: its text is not shown, as
 * it may be (part of) a password — a `,` or a space inside a password splits a list of URLs.
 */
const NOT_SHOWN = 'is not shown, as it may hold a password';

/**
 * What is wrong with a URL, as `<fault> — <fix>`, or undefined. Works from the text when the URL
 * does not parse, so the user learns which part is wrong (the port, a character of the password)
 * without the password being shown. A value without a scheme, or one that cannot be read as a URL
 * at all, is not shown: nothing in it can be told apart from a password.
 */
export function urlProblem(raw: string, rules: UrlRules): string | undefined {
  const { schemes, example } = rules;
  const shown = showUrl(raw, rules.hidePath ?? false);
  const instead = rules.passwordKey ? `, or give the password in ${rules.passwordKey}` : '';
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    return `has no scheme (the value ${NOT_SHOWN}) — write it in full, e.g. ${example}`;
  }
  const parts = splitUrlText(raw);
  if (/\s/.test(raw)) {
    return `${shown} contains a space or line break — write a space inside a URL as %20${parts.userInfo ? instead : ''}`;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    const port = /^(?:\[[^\]]*\]|[^:]*):(\d*)$/.exec(parts.host);
    if (port && !isPort(port[1] ?? '')) {
      const which = port[1] === '' ? 'an empty port' : `port ${port[1]}`;
      return `${shown} has ${which} — use a port from 1 to 65535, e.g. ${example}`;
    }
    if (parts.userInfo) {
      return `${shown} is not a valid URL: its user name or password holds a character that must be escaped — ${ESCAPES}${instead}`;
    }
    return `is not a URL (its text ${NOT_SHOWN}; in a list, a , or space inside a password splits it: write them as %2C and %20) — write it in full, e.g. ${example}`;
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (!schemes.includes(scheme))
    return `${shown} uses ${scheme}:// — use ${schemeList(schemes)}, e.g. ${example}`;
  if (url.hostname === '') return `${shown} has no host — e.g. ${example}`;
  // User info is only looked for before the first ? or # (`?email=me@example.com` is a query).
  const authorityAndPath = raw.slice(raw.indexOf('://') + 3).split(/[?#]/, 1)[0] ?? '';
  if (authorityAndPath.includes('@') && url.username === '' && url.password === '') {
    // `mqtt://u:12/ss@host` parses as host `u`, port 12: the @ is not where it was meant to be.
    return `${shown} has an @ after its host, so its user name and password would be read as the host — ${ESCAPES}${instead}`;
  }
  if (url.hash.includes('@')) {
    // `mqtt://u:12#ss@host` parses as host `u`, port 12, fragment `ss@host`: a # in a password. No
    // URL here needs a fragment (it is never sent), so this is refused rather than guessed at.
    return `${shown} has a # followed by an @: a # in a user name or password must be written %23 (a #fragment is never sent, so remove it) — ${ESCAPES}${instead}`;
  }
  for (const part of [url.username, url.password]) {
    try {
      decodeURIComponent(part);
    } catch {
      return `${shown} has a % in its user name or password that does not start an escape such as %25 — write % itself as %25 (and # / ? @ as %23 %2F %3F %40)${instead}`;
    }
  }
  if (rules.colonSplitsUserInfo && /%3a/i.test(`${url.username}${url.password}`)) {
    return `${shown} has a : (%3A) in its user name or password, which the MQTT client would read as the end of the user name — set mqtt_username and ${rules.passwordKey ?? 'the password key'} instead of putting them in the URL`;
  }
  return undefined;
}

const CLOUDFLARE_RESOLVER_HOSTS = new Set([
  '1.1.1.1',
  '1.0.0.1',
  '[2606:4700:4700::1111]',
  '[2606:4700:4700::1001]',
]);

export function isResolverTrace(raw: string): boolean {
  try {
    const url = new URL(raw);
    return CLOUDFLARE_RESOLVER_HOSTS.has(url.hostname) && url.pathname.startsWith('/cdn-cgi/trace');
  } catch {
    return false;
  }
}
