/**
 * Who may use the HTTP server, and for what (SPEC §9; docs/http.md has the table). No I/O: the
 * server passes what it saw (client address, headers, path) and gets a verdict with the answer
 * to give. Tokens are compared in constant time and never appear in a verdict or a message.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The Home Assistant Supervisor's Ingress proxy, the only client served in the add-on. */
export const INGRESS_PROXY_ADDRESS = '172.30.32.2';

export const SESSION_COOKIE = 'ddns_watchdog_session';
/** How long a login lasts (30 days). Sessions also end when the agent restarts. */
export const SESSION_MAX_AGE_SECONDS = 30 * 24 * 3600;

/** `::ffff:1.2.3.4` (an IPv4 client on a dual-stack socket) → `1.2.3.4`; zone ids dropped. */
export function normalizeAddress(address: string): string {
  const a = address.trim().toLowerCase().replace(/%.*$/, '');
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

export function isLoopbackAddress(address: string): boolean {
  const a = normalizeAddress(address);
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

export function isIngressProxy(address: string): boolean {
  return normalizeAddress(address) === INGRESS_PROXY_ADDRESS;
}

/** The host name of a `Host` header (or of an Origin's host), without port and brackets, lower case. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.lastIndexOf(':');
  return colon > 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/** Whether a `Host` header names this machine's loopback (what a local browser or script sends). */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = hostName(host);
  return name === 'localhost' || isLoopbackAddress(name);
}

/** Constant-time comparison (of SHA-256 digests, so the length of the token does not leak either). */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHmac('sha256', 'ddns-watchdog token compare').update(given).digest();
  const b = createHmac('sha256', 'ddns-watchdog token compare').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization);
  return m?.[1] ?? null;
}

/** One cookie's value from a `Cookie` header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/**
 * Login sessions without server-side storage: the cookie is `v1.<expiry>.<HMAC>` under a key drawn
 * at start, so it holds nothing secret, cannot be forged, expires by itself, and every session
 * ends when the agent restarts (or its token changes, which needs a restart).
 */
export class SessionCookies {
  readonly #key: Buffer;

  constructor(key: Buffer = randomBytes(32)) {
    this.#key = key;
  }

  issue(now: number): string {
    const body = `v1.${(now + SESSION_MAX_AGE_SECONDS * 1000).toString(36)}`;
    return `${body}.${this.#mac(body)}`;
  }

  verify(value: string | null, now: number): boolean {
    if (!value || value.length > 200) return false;
    const m = /^(v1\.([0-9a-z]{1,12}))\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return false;
    const expected = Buffer.from(this.#mac(m[1]!));
    const given = Buffer.from(m[3]!);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return false;
    return Number.parseInt(m[2]!, 36) > now;
  }

  /**
   * `Set-Cookie` for a new session. No `Path`: the browser scopes the cookie to the folder of the
   * login URL, which is right under Ingress or any reverse-proxy prefix (a fixed `Path=/` would
   * leak the cookie to every other app on the same host, and a wrong one would lose it).
   */
  setCookie(value: string, secure: boolean): string {
    return `${SESSION_COOKIE}=${value}; Max-Age=${SESSION_MAX_AGE_SECONDS}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  }

  clearCookie(): string {
    return `${SESSION_COOKIE}=; Max-Age=0; HttpOnly; SameSite=Strict`;
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#key).update(body).digest('base64url');
  }
}

/**
 * Failed logins and wrong bearer tokens per client address: past `max` failures within
 * `windowMs`, further attempts from that address are refused until the window has passed.
 * Bounded: at most `maxClients` addresses are remembered (the oldest is forgotten first).
 */
export class FailureLimiter {
  readonly #failures = new Map<string, number[]>();

  constructor(
    readonly max = 10,
    readonly windowMs = 5 * 60_000,
    readonly maxClients = 1000,
  ) {}

  /** Milliseconds until this client may try again, or 0 when it may try now. */
  blockedFor(client: string, now: number): number {
    const recent = this.#recent(client, now);
    if (recent.length < this.max) return 0;
    return Math.max(1, recent[0]! + this.windowMs - now);
  }

  fail(client: string, now: number): void {
    const recent = this.#recent(client, now);
    recent.push(now);
    this.#failures.delete(client);
    this.#failures.set(client, recent);
    if (this.#failures.size > this.maxClients) {
      const oldest = this.#failures.keys().next().value;
      if (oldest !== undefined) this.#failures.delete(oldest);
    }
  }

  succeed(client: string): void {
    this.#failures.delete(client);
  }

  #recent(client: string, now: number): number[] {
    const list = (this.#failures.get(client) ?? []).filter((t) => t > now - this.windowMs && t <= now);
    if (list.length === 0) this.#failures.delete(client);
    return list;
  }
}

export interface AccessRequest {
  addon: boolean;
  /** `http_token`, when set. */
  token: string | undefined;
  /** The client's address as the socket saw it. */
  client: string;
  path: string;
  /** The `Host` header. */
  host: string | undefined;
  authorization: string | undefined;
  cookie: string | undefined;
  /** Paths served to anyone the mode lets in, token or not (`/healthz`, `/login`, public assets). */
  public: boolean;
  now: number;
}

export type Access =
  | {
      kind: 'allow';
      /** How the client got in. */
      via: 'ingress' | 'loopback' | 'bearer' | 'cookie' | 'open' | 'public';
      /** null: it may also act (POST commands); else why not. */
      cannotAct: string | null;
    }
  | { kind: 'deny'; status: 401 | 403 | 429; message: string; retryAfterSeconds?: number };

const NEEDS_TOKEN =
  "This needs the http_token: send it as 'Authorization: Bearer <token>', or log in with it at ./login.";

/** The access rules of SPEC §9 (docs/http.md, "Who may do what"). */
export function decideAccess(r: AccessRequest, sessions: SessionCookies, limiter: FailureLimiter): Access {
  if (r.addon) {
    if (isIngressProxy(r.client)) return { kind: 'allow', via: 'ingress', cannotAct: null };
    if (r.path === '/healthz' && isLoopbackAddress(r.client)) {
      return { kind: 'allow', via: 'loopback', cannotAct: 'only reads are served to local health checks' };
    }
    return {
      kind: 'deny',
      status: 403,
      message:
        "In the Home Assistant add-on only the Supervisor's Ingress proxy (172.30.32.2) is served: open DDNS Watchdog from Home Assistant's sidebar (or the add-on's 'Open web UI' button).",
    };
  }
  if (r.public) {
    return { kind: 'allow', via: 'public', cannotAct: r.token ? 'log in first' : tokenlessActProblem(r) };
  }
  if (r.token) {
    const blocked = limiter.blockedFor(r.client, r.now);
    const bearer = bearerToken(r.authorization);
    if (bearer !== null) {
      if (blocked > 0) return tooManyFailures(blocked);
      if (tokenMatches(bearer, r.token)) {
        limiter.succeed(r.client);
        return { kind: 'allow', via: 'bearer', cannotAct: null };
      }
      limiter.fail(r.client, r.now);
      return {
        kind: 'deny',
        status: 401,
        message:
          'The bearer token does not match http_token: send the token set in the options as http_token (check for a stray space or an old value).',
      };
    }
    if (sessions.verify(readCookie(r.cookie, SESSION_COOKIE), r.now)) {
      return { kind: 'allow', via: 'cookie', cannotAct: null };
    }
    return { kind: 'deny', status: 401, message: NEEDS_TOKEN };
  }
  return {
    kind: 'allow',
    via: isLoopbackAddress(r.client) ? 'loopback' : 'open',
    cannotAct: tokenlessActProblem(r),
  };
}

/**
 * Without a token, only this machine may act, and only when the `Host` header names loopback too:
 * a web page that rebinds its own DNS name to 127.0.0.1 reaches us from loopback, but with its
 * own name in `Host`.
 */
function tokenlessActProblem(r: AccessRequest): string | null {
  if (!isLoopbackAddress(r.client)) {
    return "Commands from beyond this machine need http_token: set http_token in the options and send it as 'Authorization: Bearer <token>' (or log in at ./login), or send the command over MQTT.";
  }
  if (!isLoopbackHost(r.host)) {
    return 'Without http_token, commands are taken only when addressed to this machine by a loopback name (http://127.0.0.1:<port>, http://localhost:<port>); set http_token to act through any other name.';
  }
  return null;
}

function tooManyFailures(ms: number): Access {
  const seconds = Math.ceil(ms / 1000);
  return {
    kind: 'deny',
    status: 429,
    message: `Too many wrong tokens from this address: wait ${seconds} s, then try again with the http_token from the options.`,
    retryAfterSeconds: seconds,
  };
}

/**
 * Why a state-changing request's `Origin` is refused, or null when it is acceptable. When Origin is
 * present it must name the host the request was sent to (`Host`, or in the add-on the
 * `X-Forwarded-Host` that Home Assistant's Ingress sets). When it is absent, only clients that are
 * not browsers can have sent it; a session cookie is a browser's, so it needs an Origin.
 */
export function originProblem(input: {
  origin: string | undefined;
  host: string | undefined;
  forwardedHost?: string | undefined;
  via: Extract<Access, { kind: 'allow' }>['via'];
}): string | null {
  const { origin, via } = input;
  if (origin === undefined) {
    return via === 'cookie'
      ? 'This browser request carries no Origin header: reload the page and try again.'
      : null;
  }
  let originHost: string;
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    originHost = url.host.toLowerCase();
  } catch {
    return `The request's Origin (${clip(origin)}) is not a web origin; commands are taken only from the status page itself.`;
  }
  const hosts = [input.host, via === 'ingress' ? input.forwardedHost : undefined]
    .filter((h): h is string => typeof h === 'string' && h !== '')
    .map((h) => h.split(',')[0]!.trim().toLowerCase());
  if (hosts.some((h) => sameHost(h, originHost))) return null;
  return `The request comes from another site (Origin ${clip(origin)}); commands are taken only from the status page itself.`;
}

/** Host headers compared with default ports filled in on neither side (browsers omit :80/:443). */
function sameHost(a: string, b: string): boolean {
  const strip = (h: string) => h.replace(/:(80|443)$/, '');
  return a === b || strip(a) === strip(b);
}

function clip(text: string, max = 80): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
