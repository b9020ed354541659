/**
 * What may hold a credential, and how it is shown (SPEC §7): the one list of secret keys and the
 * one URL redactor, used by problem lines, the printed configuration, the logger and the CLI.
 *
 * Redaction works on text, not on parsed URLs, so a value that does not parse is hidden all the
 * same: a password holding `#`, `/`, `?` or `%`, or followed by a bad port, is exactly the value
 * a URL parser rejects. Pure: no imports.
 */

/** Config keys whose whole value is a secret. Each also accepts `<NAME>_FILE` in the environment. */
export const SECRET_KEYS = [
  'cloudflare_api_token',
  'mqtt_password',
  'plug_password',
  'ha_token',
  'http_token',
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/** Config keys holding one URL, which may carry user info or query keys. */
export const URL_KEYS = [
  'cloudflare_api_url',
  'doh_url',
  'heartbeat_url',
  'webhook_url',
  'mqtt_url',
  'plug_url',
  'plug_off_url',
  'plug_on_url',
  'ha_url',
] as const;

/** Config keys holding a list of URLs. */
export const URL_LIST_KEYS = ['ip_sources', 'ip_sources_v6'] as const;

/** URL keys whose path is itself a secret (a ping UUID, a webhook key): shown as scheme and host. */
export const SECRET_PATH_URL_KEYS = ['heartbeat_url', 'webhook_url'] as const;

/** What replaces a hidden part of a URL. */
export const MASK = '***';

/** What replaces a secret value found in free text. */
export const REDACTED = '[Redacted]';

interface UrlParts {
  /** `scheme://`, or '' when the text has none. */
  scheme: string;
  /** True when the text has user info (something before an `@`). */
  userInfo: boolean;
  /** Host and port as written, up to the first `/`, `?` or `#` after the user info. */
  host: string;
  /** The path as written (may be ''). */
  path: string;
  /** `?` or `#` when a query or fragment follows the path, else ''. */
  tail: '' | '?' | '#';
  /**
   * The text cannot be read safely (see `splitUrlText`): nothing after the scheme may be shown.
   * `host` and `path` are then '' and `userInfo` is true.
   */
  ambiguous: boolean;
}

/** Host and port as a URL's authority holds them: a name or IPv4 literal, or `[IPv6]`, with an optional numeric port. */
const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+(?:%[\w.~-]+)?\]|[A-Za-z0-9._~%-]+)(?::\d*)?$/;

/** Whether `text` starts with what could be a host (and port), up to its first `/`, `?` or `#`. */
function startsWithHost(text: string): boolean {
  const end = text.search(/[/?#]/);
  return HOST_PORT.test(end >= 0 ? text.slice(0, end) : text);
}

/**
 * Splits a URL-like text without parsing it. The user info ends at the last `@` before the first
 * `?` or `#` (an `@` in a query or fragment, as in `?email=me@example.com`, is not user info);
 * everything from that `?` or `#` on is the tail. A password may hold `/` (so nothing before that
 * `@` can be trusted to be the host or the path), and, unescaped, `?` or `#` too: an `@` after the
 * first `?` or `#` leaves two readings — user info up to the last `@` (`mqtt://u:p#ss@host`), or a
 * query or fragment holding an `@` (`https://h/ip?from=me@x.org`). The reading whose host could
 * not be a host is dropped (`u:p` has no numeric port; `x.org&key=…` holds `&` and `=`); when both
 * remain, or neither, the text is `ambiguous` and nothing after the scheme is shown.
 */
export function splitUrlText(raw: string): UrlParts {
  const sep = raw.indexOf('://');
  const scheme = sep >= 0 ? raw.slice(0, sep + 3) : '';
  const text = sep >= 0 ? raw.slice(sep + 3) : raw;
  const firstTail = text.search(/[?#]/);
  const lastAt = text.lastIndexOf('@');
  let at = firstTail >= 0 ? text.lastIndexOf('@', firstTail) : lastAt;
  if (firstTail >= 0 && lastAt > firstTail) {
    // Two readings: the user info ends at `at` (before the ? or #), or at `lastAt`.
    const tailReading = startsWithHost(text.slice(at + 1));
    const userInfoReading = startsWithHost(text.slice(lastAt + 1));
    if (tailReading === userInfoReading) {
      return { scheme, userInfo: true, host: '', path: '', tail: '', ambiguous: true };
    }
    if (userInfoReading) at = lastAt;
  }
  const rest = at >= 0 ? text.slice(at + 1) : text;
  const tailAt = rest.search(/[?#]/);
  const beforeTail = tailAt >= 0 ? rest.slice(0, tailAt) : rest;
  const tail = tailAt >= 0 ? (rest[tailAt] as '?' | '#') : '';
  const slash = beforeTail.indexOf('/');
  return {
    scheme,
    userInfo: at >= 0,
    host: slash >= 0 ? beforeTail.slice(0, slash) : beforeTail,
    path: slash >= 0 ? beforeTail.slice(slash) : '',
    tail,
    ambiguous: false,
  };
}

/**
 * A URL safe to show: user info (user name and password) becomes `***`, and so does everything
 * after the first `?` or `#` (query keys, tokens). Parseable or not, the result holds no part of
 * the user info or query: `mqtt://u:p#ss@host:1883` → `mqtt://***@host:1883`,
 * `https://ip.example/ip?key=S` → `https://ip.example/ip?***`,
 * `http://h/ip?email=me@example.com&key=S` → `http://h/ip?***`. A text that can be read two ways
 * (`splitUrlText`) keeps only its scheme: `https://h/p?from=me@x.org` → `https://***`. Text without
 * user info or query comes back unchanged.
 */
export function redactUrl(raw: string): string {
  const p = splitUrlText(raw);
  if (p.ambiguous) return `${p.scheme}${MASK}`;
  if (!p.userInfo && p.tail === '') return raw;
  return `${p.scheme}${p.userInfo ? `${MASK}@` : ''}${p.host}${p.path}${p.tail === '' ? '' : `${p.tail}${MASK}`}`;
}

/** A URL's scheme and host only, for URLs whose path is a secret: `https://hc-ping.com/…`. */
export function urlOrigin(raw: string): string {
  const p = splitUrlText(raw);
  if (p.ambiguous) return `${p.scheme}${MASK}/…`;
  return `${p.scheme}${p.userInfo ? `${MASK}@` : ''}${p.host}/…`;
}

/** The longest scheme taken before `://` (RFC 3986 sets no limit; registered ones are far shorter). */
const MAX_SCHEME = 32;
const SCHEME_CHAR = /^[a-z0-9+.-]$/i;
const LETTER = /^[a-z]$/i;
/** What ends a URL in free text: whitespace, a quote or an angle bracket. */
const URL_STOP = /^[\s"'`<>]$/;

/**
 * The URLs in `text`: anything that starts like a URL (`scheme://`, the scheme a letter then up to
 * 31 letters, digits, `+`, `.` or `-`), up to whitespace or a quote, as [start, end) pairs.
 * Backslash escapes are taken as pairs (an escaped quote in a JSON line), so masking never splits
 * one and a JSON line stays valid JSON.
 *
 * A scan, not one regex, so it is linear in the length of the text (it runs on every log line,
 * and on config values of any length) and needs no stack: each `://` costs at most MAX_SCHEME
 * steps back, and each character after it one step. A regex with an unbounded scheme rescanned
 * a whole run of host-like text (`x.x.x.…`) from every word start (quadratic), and one repeating
 * a group per character overflows V8's stack on a URL of some megabytes. No word-boundary anchor:
 * a URL glued to a word (`key_https://…`) is found all the same.
 */
function* urlSpans(text: string): Generator<[number, number]> {
  let from = 0;
  for (;;) {
    const sep = text.indexOf('://', from);
    if (sep < 0) return;
    let start = sep;
    while (start > from && sep - start < MAX_SCHEME && SCHEME_CHAR.test(text[start - 1]!)) start--;
    while (start < sep && !LETTER.test(text[start]!)) start++;
    if (start === sep) {
      from = sep + 1; // no scheme: not a URL
      continue;
    }
    let end = sep + 3;
    while (end < text.length) {
      const c = text[end]!;
      if (c === '\\') {
        if (end + 1 >= text.length || /\s/.test(text[end + 1]!)) break;
        end += 2;
      } else if (URL_STOP.test(c)) break;
      else end += 1;
    }
    yield [start, end];
    from = end;
  }
}

/** Sentence punctuation after a URL: kept out of the URL. */
const PUNCTUATION = new Set(['.', ',', ';', ':', '!', '?', ')', ']', '}']);

/**
 * Where the trailing sentence punctuation (`.`, `,`, `)`…), or escaped closing quotes (`\"`), of a
 * URL match begin. Scanned backwards, so linear (a regex `(?:…)+$` retries from every position of
 * a long run of dots: quadratic).
 */
function trailingStart(match: string): number {
  let i = match.length;
  while (i > 0) {
    const c = match[i - 1]!;
    if (PUNCTUATION.has(c)) i -= 1;
    else if ((c === '"' || c === "'") && i >= 2 && match[i - 2] === '\\') i -= 2;
    else break;
  }
  return i;
}

/**
 * Free text (a log line, an error) with every URL in it redacted, and every given secret value
 * replaced by `[Redacted]`. Secrets shorter than 4 characters are left alone: replacing them would
 * garble the text and hide nothing. Linear in the length of the text.
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = '';
  let done = 0;
  for (const [start, end] of urlSpans(text)) {
    const match = text.slice(start, end);
    const cut = trailingStart(match);
    out += text.slice(done, start) + redactUrl(match.slice(0, cut)) + match.slice(cut);
    done = end;
  }
  out += text.slice(done);
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** The secret values set in a configuration (for scrubbing free text), longest first. */
export function secretValues(config: Readonly<Record<string, unknown>>): string[] {
  return SECRET_KEYS.map((key) => config[key])
    .filter((v): v is string => typeof v === 'string' && v.trim().length >= 4)
    .map((v) => v.trim())
    .sort((a, b) => b.length - a.length);
}
