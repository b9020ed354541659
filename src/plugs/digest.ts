/**
 * HTTP Digest access authentication, client side (RFC 7616): parse a `WWW-Authenticate: Digest …`
 * challenge and build the `Authorization` header that answers it. Used by the Shelly Gen2+ driver
 * and by any HTTP plug that challenges with Digest. Pure apart from node:crypto.
 *
 * Checked against:
 * - RFC 7616 §3.4 (response = H(H(A1):nonce:nc:cnonce:qop:H(A2)), A1 = user:realm:password,
 *   A2 = method:request-uri; the `-sess` variants hash the nonce and cnonce into A1) and its §3.9.1
 *   worked example (the known-answer test in test/plugs/digest.test.ts).
 * - Shelly Gen2 "Authentication" (https://shelly-api-docs.shelly.cloud/gen2/General/Authentication):
 *   SHA-256, the user name is always `admin`, the realm is the device id
 *   (`shellyplus1pm-441793d69718`), and a 401 carries
 *   `WWW-Authenticate: Digest qop="auth", realm="…", nonce="…", algorithm=SHA-256`. Over HTTP the
 *   standard header works (`curl --digest -u admin:…`); the `dummy_method:dummy_uri` HA2 on that
 *   page is for the JSON `auth` object of the RPC channel, which this driver does not use.
 */
import { createHash, randomBytes } from 'node:crypto';

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

export interface DigestChallenge {
  realm: string;
  nonce: string;
  algorithm: DigestAlgorithm;
  /** `auth` when the server offers it; undefined for an RFC 2069 challenge without qop. */
  qop: 'auth' | undefined;
  opaque: string | undefined;
}

/** Why a challenge cannot be answered (names the field, never a secret). */
export class DigestUnsupportedError extends Error {}

const ALGORITHMS: Record<string, DigestAlgorithm> = {
  MD5: 'MD5',
  'MD5-SESS': 'MD5-sess',
  'SHA-256': 'SHA-256',
  'SHA-256-SESS': 'SHA-256-sess',
};

/** Prefer the stronger hash when a server offers several Digest challenges. */
const STRENGTH: Record<DigestAlgorithm, number> = {
  'SHA-256': 4,
  'SHA-256-sess': 3,
  MD5: 2,
  'MD5-sess': 1,
};

interface RawChallenge {
  scheme: string;
  params: Map<string, string>;
}

/**
 * Splits `WWW-Authenticate` values into challenges: `Digest realm="a", nonce="b", Basic realm="c"`
 * gives two. Quoted strings may hold commas and escaped quotes.
 */
export function parseChallenges(header: string | readonly string[] | undefined): RawChallenge[] {
  if (header === undefined) return [];
  const values = typeof header === 'string' ? [header] : header;
  const out: RawChallenge[] = [];
  for (const value of values) {
    let i = 0;
    let current: RawChallenge | undefined;
    const s = value;
    const skip = (re: RegExp) => {
      while (i < s.length && re.test(s.charAt(i))) i++;
    };
    while (i < s.length) {
      skip(/[\s,]/);
      const start = i;
      skip(/[^\s,=]/);
      const token = s.slice(start, i);
      if (token === '') break;
      skip(/\s/);
      if (s.charAt(i) === '=' && current) {
        i++;
        skip(/\s/);
        let v = '';
        if (s.charAt(i) === '"') {
          i++;
          while (i < s.length && s.charAt(i) !== '"') {
            if (s.charAt(i) === '\\' && i + 1 < s.length) i++;
            v += s.charAt(i);
            i++;
          }
          i++; // closing quote
        } else {
          const vs = i;
          skip(/[^\s,]/);
          v = s.slice(vs, i);
        }
        current.params.set(token.toLowerCase(), v);
      } else if (s.charAt(i) === '=') {
        // A parameter before any scheme: not a challenge we can use; skip its value.
        i++;
        skip(/[^,]/);
      } else {
        current = { scheme: token.toLowerCase(), params: new Map() };
        out.push(current);
      }
    }
  }
  return out;
}

/** The best Digest challenge we can answer, or undefined when there is none. Throws when only unusable ones exist. */
export function pickDigestChallenge(
  header: string | readonly string[] | undefined,
): DigestChallenge | undefined {
  const digests = parseChallenges(header).filter((c) => c.scheme === 'digest');
  if (digests.length === 0) return undefined;
  const usable: DigestChallenge[] = [];
  const problems: string[] = [];
  for (const c of digests) {
    const realm = c.params.get('realm');
    const nonce = c.params.get('nonce');
    const algorithm = ALGORITHMS[(c.params.get('algorithm') ?? 'MD5').toUpperCase()];
    const qops = (c.params.get('qop') ?? '')
      .split(',')
      .map((q) => q.trim().toLowerCase())
      .filter((q) => q !== '');
    if (realm === undefined || nonce === undefined) {
      problems.push('a challenge without realm or nonce');
      continue;
    }
    if (!algorithm) {
      problems.push(`algorithm ${c.params.get('algorithm')}`);
      continue;
    }
    if (qops.length > 0 && !qops.includes('auth')) {
      problems.push(`qop ${qops.join(',')}`);
      continue;
    }
    usable.push({
      realm,
      nonce,
      algorithm,
      qop: qops.includes('auth') ? 'auth' : undefined,
      opaque: c.params.get('opaque'),
    });
  }
  if (usable.length === 0) {
    throw new DigestUnsupportedError(`unsupported digest challenge (${problems.join('; ')})`);
  }
  return usable.sort((a, b) => STRENGTH[b.algorithm] - STRENGTH[a.algorithm])[0];
}

function hasher(algorithm: DigestAlgorithm): (s: string) => string {
  const name = algorithm.startsWith('SHA-256') ? 'sha256' : 'md5';
  return (s) => createHash(name).update(s, 'utf8').digest('hex');
}

export interface DigestAnswer {
  username: string;
  password: string;
  method: string;
  /** The request-target exactly as sent: path and query (`/rpc/Switch.Set?id=0&on=false`). */
  uri: string;
  /** Client nonce; random when omitted. */
  cnonce?: string;
  /** Nonce count, 1 for the first use of a nonce. */
  nc?: number;
}

/** The `response` value of RFC 7616 §3.4.1. */
export function digestResponse(c: DigestChallenge, a: Required<DigestAnswer>): string {
  const H = hasher(c.algorithm);
  const nc = a.nc.toString(16).padStart(8, '0');
  let ha1 = H(`${a.username}:${c.realm}:${a.password}`);
  if (c.algorithm.endsWith('-sess')) ha1 = H(`${ha1}:${c.nonce}:${a.cnonce}`);
  const ha2 = H(`${a.method}:${a.uri}`);
  return c.qop === 'auth'
    ? H(`${ha1}:${c.nonce}:${nc}:${a.cnonce}:auth:${ha2}`)
    : H(`${ha1}:${c.nonce}:${ha2}`);
}

function quote(v: string): string {
  return `"${v.replace(/["\\]/g, (ch) => `\\${ch}`)}"`;
}

/** The `Authorization: Digest …` header value answering `c`. */
export function digestAuthorization(c: DigestChallenge, a: DigestAnswer): string {
  const full: Required<DigestAnswer> = {
    ...a,
    cnonce: a.cnonce ?? randomBytes(16).toString('hex'),
    nc: a.nc ?? 1,
  };
  const parts = [
    `username=${quote(full.username)}`,
    `realm=${quote(c.realm)}`,
    `nonce=${quote(c.nonce)}`,
    `uri=${quote(full.uri)}`,
    `algorithm=${c.algorithm}`,
    `response=${quote(digestResponse(c, full))}`,
  ];
  if (c.qop === 'auth') {
    parts.push('qop=auth', `nc=${full.nc.toString(16).padStart(8, '0')}`, `cnonce=${quote(full.cnonce)}`);
  }
  if (c.opaque !== undefined) parts.push(`opaque=${quote(c.opaque)}`);
  return `Digest ${parts.join(', ')}`;
}
