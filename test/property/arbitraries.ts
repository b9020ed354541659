/**
 * Shared generators and helpers for the property tests (issue 11 point 4; docs/testing.md).
 *
 * - `params(n)`: fast-check parameters with `n` runs, overridable from the environment to replay a
 *   failure (`FC_SEED`, `FC_PATH`) or to run longer (`FC_RUNS_SCALE`).
 * - Generators of hostile input: bytes (invalid UTF-8 included), text, JSON of any shape.
 * - `scriptedServer()`: a loopback HTTP server that answers each request with the next generated
 *   response (status, headers, body, or a connection reset mid-body).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import fc from 'fast-check';

// ───────────────────────── running ─────────────────────────

/**
 * `numRuns` as given, times FC_RUNS_SCALE (e.g. 10 for a long run by hand). FC_SEED and FC_PATH
 * (printed by fast-check when a property fails) replay exactly that failure.
 */
export function params<T>(numRuns: number): fc.Parameters<T> {
  const scale = Number(process.env.FC_RUNS_SCALE ?? '1');
  const out: fc.Parameters<T> = {
    numRuns: Math.max(1, Math.round(numRuns * (Number.isFinite(scale) && scale > 0 ? scale : 1))),
  };
  const seed = process.env.FC_SEED;
  if (seed !== undefined && seed.trim() !== '') out.seed = Number(seed);
  const path = process.env.FC_PATH;
  if (path !== undefined && path.trim() !== '') out.path = path;
  return out;
}

// ───────────────────────── hostile input ─────────────────────────

/** Arbitrary bytes, short or up to `maxLength`, or text made invalid UTF-8 (lone continuation bytes, overlongs, cut sequences). */
export function bytes(maxLength: number): fc.Arbitrary<Buffer> {
  const invalid = fc.constantFrom(
    [0x80],
    [0xc0, 0xaf],
    [0xe2, 0x82],
    [0xf0, 0x9f, 0x98],
    [0xed, 0xa0, 0x80],
    [0xff, 0xfe],
    [0x00],
  );
  return fc.oneof(
    // fast-check keeps lengths small by default: the second draws lengths across the whole range.
    fc.uint8Array({ maxLength }).map((a) => Buffer.from(a)),
    fc.uint8Array({ maxLength, size: 'max' }).map((a) => Buffer.from(a)),
    fc
      .tuple(fc.string({ maxLength: Math.min(maxLength, 64) }), invalid, fc.string({ maxLength: 16 }))
      .map(([a, bad, b]) => Buffer.concat([Buffer.from(a), Buffer.from(bad), Buffer.from(b)])),
  );
}

/** Text of any kind: ASCII, full Unicode (lone surrogates included), NUL and controls. */
export function anyText(maxLength = 64): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.constantFrom(
      '',
      ' ',
      '\0',
      '\u0000abc',
      '\r\n',
      '\t',
      '\uFEFF',
      '\u202E',
      'null',
      'NaN',
      '💥',
      'é',
      'ｅｘａｍｐｌｅ',
    ),
    // Lone surrogates: JSON.parse('"\\ud800"') yields one, and encodeURIComponent throws on it.
    fc.constantFrom('\ud800', 'a\udfffb', '\udc00\ud800'),
  );
}

/** A string of about `size` bytes: what a user pastes by mistake, or an attacker sends. */
export function huge(min = 8 * 1024, max = 128 * 1024): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom('a', 'x.', '0', '€', '\0', '{'), fc.integer({ min, max }))
    .map(([unit, n]) => unit.repeat(Math.ceil(n / Buffer.byteLength(unit))));
}

/** Any JSON value, with the keys that trip up naive code (`__proto__`, `constructor`) likely. */
export function jsonValue(maxDepth = 3): fc.Arbitrary<unknown> {
  const key = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'length', ''),
  );
  const leaf = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(0, -1, 1e308, -1e308, 2 ** 53, 8.64e15 + 1, 253402300800000, 0.5),
    anyText(24),
  );
  return fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth, withCrossShrink: true },
      leaf,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 4 }),
    ),
  })).value;
}

/** JSON text that JSON.parse reads as something JSON.stringify would never write (1e400 → Infinity). */
export const ODD_JSON_NUMBERS = [
  '1e400',
  '-1e400',
  '1e-400',
  '-0',
  '0.0000000000000000000001',
  '123456789012345678901234567890',
];

/** `depth` nested arrays around `inner`: deep enough to break a recursive reader or writer. */
export function nested(depth: number, inner = '0'): string {
  return `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
}

/** A secret as a user generates it: at least 12 characters, any alphabet. */
export function secretValue(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ minLength: 12, maxLength: 48 }),
    fc.string({ unit: 'grapheme', minLength: 12, maxLength: 32 }),
    fc.stringMatching(/^[A-Za-z0-9_-]{12,40}$/),
    fc.uuid(),
  );
}

// ───────────────────────── a scripted loopback HTTP server ─────────────────────────

/** One generated answer. `reset`: headers and half the body are sent, then the connection is cut. */
export interface ScriptedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  reset: boolean;
}

/** Header values Node accepts: visible ASCII and spaces, no leading or trailing space. */
export function headerValue(): fc.Arbitrary<string> {
  return fc
    .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 })
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Status codes a server or a proxy in the way may send (no 1xx: those are not final answers). */
export function status(): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant(200) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(201, 204, 301, 302, 304, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504),
    },
    { weight: 1, arbitrary: fc.integer({ min: 200, max: 599 }) },
  );
}

/** Retry-After values: seconds, fractions, dates, junk. */
export function retryAfter(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.nat({ max: 10_000_000 }).map(String),
    fc.constantFrom(
      '0',
      '1.5',
      '-5',
      '1e9',
      'Wed, 21 Oct 2015 07:28:00 GMT',
      'Fri, 31 Dec 9999 23:59:59 GMT',
      'soon',
      '',
    ),
    headerValue(),
  );
}

export function scriptedResponse(body: fc.Arbitrary<Buffer>): fc.Arbitrary<ScriptedResponse> {
  return fc.record({
    status: status(),
    headers: fc.record(
      {
        'content-type': fc.oneof(
          fc.constantFrom(
            'application/json',
            'application/dns-json',
            'text/html; charset=utf-8',
            'text/plain',
          ),
          headerValue(),
        ),
        'retry-after': retryAfter(),
        location: headerValue(),
      },
      { requiredKeys: [] },
    ),
    body,
    reset: fc.nat({ max: 9 }).map((n) => n === 0),
  });
}

export interface ScriptedServer {
  url: string;
  /** The answers for the next requests, in order; when they run out, `fallback` answers. */
  script(responses: ScriptedResponse[], fallback: ScriptedResponse): void;
  /** Requests received since the last `script` call. */
  readonly requests: Array<{ method: string; url: string; body: string }>;
  close(): Promise<void>;
}

export async function scriptedServer(): Promise<ScriptedServer> {
  let queue: ScriptedResponse[] = [];
  let fallback: ScriptedResponse = { status: 500, headers: {}, body: Buffer.alloc(0), reset: false };
  const requests: Array<{ method: string; url: string; body: string }> = [];
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString() });
      const r = queue.shift() ?? fallback;
      if (r.reset) {
        res.writeHead(r.status, { ...r.headers, 'content-length': String(r.body.length + 16) });
        res.write(r.body.subarray(0, Math.floor(r.body.length / 2)), () => res.socket?.destroy());
        return;
      }
      res.writeHead(r.status, { ...r.headers, 'content-length': String(r.body.length) });
      res.end(r.body);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    script(responses, fb) {
      queue = [...responses];
      fallback = fb;
      requests.length = 0;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A JSON body as bytes. */
export function jsonBody(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value) ?? 'null');
}

/** Bodies that are not JSON at all: HTML pages, plain text, empty, binary, truncated JSON. */
export function nonJsonBody(): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc
      .constantFrom(
        '',
        '<!doctype html><html><head><title>502 Bad Gateway</title></head></html>',
        'error code: 1020',
        'Service Unavailable',
        '{"success":true,"errors":[],"result":',
        '\uFEFF{}',
      )
      .map((s) => Buffer.from(s)),
    bytes(256),
    jsonValue().map((v) => {
      const text = JSON.stringify(v) ?? '';
      return Buffer.from(text.slice(0, Math.max(0, text.length - 1)));
    }),
  );
}
