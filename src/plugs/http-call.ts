/**
 * The HTTP side shared by the plug drivers (Shelly, Shelly RPC, ESPHome REST, Home Assistant, plain
 * HTTP): one request with its own deadline, a capped body read, Basic or Digest credentials, and
 * every failure turned into a PlugError whose message says what to check. Messages name config
 * keys and show only a URL's scheme, host and port: never a password, a token, user info or a query.
 */
import { type Dispatcher, request } from 'undici';
import { ConfigError } from '../errors.js';
import { BodyTooLargeError, deadline, errorCode, readTextCapped } from '../http.js';
import { DigestUnsupportedError, digestAuthorization, pickDigestChallenge } from './digest.js';
import { PlugError } from './plug-driver.js';

/** Plug answers are a few hundred bytes; anything past this is not a plug. */
export const MAX_PLUG_BODY_BYTES = 64 * 1024;

export interface PlugHttpDeps {
  /** undici dispatcher (tests pass one; default: the global one). */
  dispatcher?: Dispatcher;
  /** Deadline of each HTTP request (http_timeout_ms). */
  timeoutMs: number;
}

export interface Credentials {
  username: string;
  password: string;
}

/** A configured URL split for use: no user info in `url`, and what may be shown of it. */
export interface PlugUrl {
  url: URL;
  /** scheme://host:port — the only part of the URL that appears in labels and messages. */
  shown: string;
  /** User info found in the URL (`http://user:pass@host`), used when no plug_username/plug_password is set. */
  credentials: Credentials | undefined;
}

/** Parses a configured URL (http or https), taking its user info out. */
export function plugUrl(raw: string, key: string): PlugUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError([`${key}: is not a URL — give one like http://192.168.1.50`]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError([`${key}: must start with http:// or https://`]);
  }
  const credentials =
    url.username !== '' || url.password !== ''
      ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }
      : undefined;
  url.username = '';
  url.password = '';
  return { url, shown: url.origin, credentials };
}

/** plug_username/plug_password when either is set, else the URL's user info. */
export function pickCredentials(
  username: string | undefined,
  password: string | undefined,
  fromUrl: Credentials | undefined,
  defaultUser: string,
): Credentials | undefined {
  if ((username ?? '') !== '' || (password ?? '') !== '') {
    return { username: username || defaultUser, password: password ?? '' };
  }
  return fromUrl ? { username: fromUrl.username || defaultUser, password: fromUrl.password } : undefined;
}

export interface PlugHttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: string;
  /** How the request is named in messages, e.g. `The Shelly plug at http://192.168.1.50`. */
  what: string;
  /** The config key that holds the address, for "check …" hints. */
  urlKey: string;
  /** What to check when it cannot be reached; default: the plug's power, network and `urlKey`. */
  reach?: string;
}

export interface PlugHttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTP request with its own deadline; transport failures become PlugErrors. */
export async function plugHttp(
  req: PlugHttpRequest,
  deps: PlugHttpDeps,
  signal?: AbortSignal,
): Promise<PlugHttpAnswer> {
  const d = deadline(deps.timeoutMs, signal);
  try {
    const res = await request(req.url, {
      method: req.method as Dispatcher.HttpMethod,
      headers: { accept: 'application/json, text/plain;q=0.9, */*;q=0.5', ...req.headers },
      ...(req.body !== undefined ? { body: req.body } : {}),
      signal: d.signal,
      ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
    });
    const text = await readTextCapped(res.body, MAX_PLUG_BODY_BYTES);
    return { status: res.statusCode, headers: res.headers, text };
  } catch (err) {
    throw transportError(err, req, deps.timeoutMs, d.timeout.aborted, signal?.aborted === true);
  } finally {
    d.dispose();
  }
}

function transportError(
  err: unknown,
  req: PlugHttpRequest,
  timeoutMs: number,
  timedOut: boolean,
  cancelled: boolean,
): PlugError {
  const where = `check ${req.reach ?? `that the plug is powered and on the network, and ${req.urlKey}`}`;
  if (timedOut) {
    return new PlugError(
      'PLUG_TIMEOUT',
      `${req.what} did not answer within ${timeoutMs} ms; ${where}, or raise http_timeout_ms.`,
      { cause: err },
    );
  }
  if (cancelled) {
    return new PlugError(
      'PLUG_TIMEOUT',
      `${req.what} had not answered when the agent stopped waiting (it is shutting down).`,
      { cause: err },
    );
  }
  if (err instanceof BodyTooLargeError) {
    return new PlugError(
      'PLUG_BAD_ANSWER',
      `${req.what} answered more than ${err.max} bytes, which no plug does; check ${req.urlKey} points at the plug.`,
      { cause: err },
    );
  }
  const code = errorCode(err) ?? 'network error';
  if (code === 'ECONNREFUSED') {
    return new PlugError(
      'PLUG_UNREACHABLE',
      `${req.what} refused the connection (ECONNREFUSED): nothing listens on that port; check ${req.urlKey}.`,
      { cause: err },
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new PlugError(
      'PLUG_UNREACHABLE',
      `${req.what} could not be found (${code}: the host name does not resolve); check ${req.urlKey}, or use the plug's IP address.`,
      { cause: err },
    );
  }
  return new PlugError('PLUG_UNREACHABLE', `${req.what} could not be reached (${code}); ${where}.`, {
    cause: err,
  });
}

export interface AuthHints {
  /** What to check when the credentials are refused, e.g. `plug_username and plug_password`. */
  refused: string;
  /** What to set when the plug asks for credentials and none are configured. */
  missing: string;
}

/**
 * Sends `req` with `credentials`: Basic up front when `preemptiveBasic`, and a Digest answer when
 * the plug challenges with `WWW-Authenticate: Digest …` (one retry). A 401/403 after that is
 * PLUG_REFUSED naming the keys to check.
 */
export async function plugHttpWithAuth(
  req: PlugHttpRequest,
  credentials: Credentials | undefined,
  hints: AuthHints,
  deps: PlugHttpDeps,
  signal?: AbortSignal,
  options: { preemptiveBasic?: boolean } = {},
): Promise<PlugHttpAnswer> {
  const headers = { ...req.headers };
  if (credentials && options.preemptiveBasic) {
    const basic = Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64');
    headers.authorization = `Basic ${basic}`;
  }
  const first = await plugHttp({ ...req, headers }, deps, signal);
  if (first.status !== 401) return refuseIfForbidden(first, req, hints);

  let challenge: ReturnType<typeof pickDigestChallenge>;
  try {
    challenge = pickDigestChallenge(first.headers['www-authenticate']);
  } catch (err) {
    const why = err instanceof DigestUnsupportedError ? err.message : 'an unreadable challenge';
    throw new PlugError(
      'PLUG_REFUSED',
      `${req.what} asks for a login the agent cannot answer (${why}); use a plug that supports Basic or Digest (MD5/SHA-256) authentication.`,
    );
  }
  if (!credentials) {
    throw new PlugError(
      'PLUG_REFUSED',
      `${req.what} asks for a password (HTTP 401), but none is configured; ${hints.missing}.`,
    );
  }
  if (!challenge) {
    throw new PlugError(
      'PLUG_REFUSED',
      `${req.what} refused the user name or password (HTTP 401); check ${hints.refused}.`,
    );
  }
  const uri = `${req.url.pathname}${req.url.search}`;
  const authorization = digestAuthorization(challenge, {
    username: credentials.username,
    password: credentials.password,
    method: req.method,
    uri,
  });
  const second = await plugHttp({ ...req, headers: { ...req.headers, authorization } }, deps, signal);
  if (second.status === 401) {
    throw new PlugError(
      'PLUG_REFUSED',
      `${req.what} refused the user name or password (HTTP 401 to a digest login); check ${hints.refused}.`,
    );
  }
  return refuseIfForbidden(second, req, hints);
}

function refuseIfForbidden(answer: PlugHttpAnswer, req: PlugHttpRequest, hints: AuthHints): PlugHttpAnswer {
  if (answer.status === 403) {
    throw new PlugError(
      'PLUG_REFUSED',
      `${req.what} refused the request (HTTP 403 Forbidden); check ${hints.refused}.`,
    );
  }
  return answer;
}

/**
 * What must never be shown of a login: the password, and the Basic `Authorization` value (base64
 * of `user:password`) that a plug's error page may echo back with the request headers.
 */
export function loginSecrets(credentials: Credentials | undefined): string[] {
  if (!credentials) return [];
  return [credentials.password, `${credentials.username}:${credentials.password}`];
}

/**
 * A short, single-line excerpt of a plug's answer for a message. Any of `secrets` the answer
 * echoes (a password, a token, a URL's query values) is cut out first.
 */
export function excerpt(text: string, secrets: readonly string[] = [], max = 120): string {
  let one = text;
  // Each secret also as a page echoing the request would show it: URL-encoded, or in base64.
  const forms = secrets.flatMap((s) => [s, encodeURIComponent(s), Buffer.from(s, 'utf8').toString('base64')]);
  for (const s of forms) if (s.length >= 3) one = one.split(s).join('[Redacted]');
  one = one.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

/**
 * The URL of `path` under a plug's base URL (its own path kept, no double slash), with `query`
 * as its search (none when absent). The one place drivers build their endpoints.
 */
export function endpoint(base: URL, path: string, query?: Record<string, string>): URL {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  url.search = query ? new URLSearchParams(query).toString() : '';
  return url;
}

/** PLUG_BAD_ANSWER for a status that is not 2xx (401/403 are handled by plugHttpWithAuth). */
export function statusError(
  answer: PlugHttpAnswer,
  req: PlugHttpRequest,
  hint: string,
  secrets: readonly string[] = [],
): PlugError {
  const said = excerpt(answer.text, secrets);
  return new PlugError(
    'PLUG_BAD_ANSWER',
    `${req.what} answered HTTP ${answer.status}${said ? ` (${said})` : ''}; ${hint}.`,
  );
}

/** JSON.parse that returns undefined instead of throwing. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
