/**
 * Property: `POST /api/command/<name>` (SPEC §6, §9; docs/http.md) with any body, headers and
 * content type gets a JSON answer with a 2xx/4xx/5xx status — never a dropped connection, never a
 * crash of the server — and the injected command function is only ever reached with a JSON object
 * of at most 4 KiB, whatever that function then does (answers, refuses, throws).
 *
 * Requests are written byte for byte on a raw socket, so nothing a client library would normalise
 * or refuse stands between the generated request and the server.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_NAMES, MAX_COMMAND_BYTES } from '../../src/commands.js';
import { type HttpServerHandle, type HttpServerOptions, startHttpServer } from '../../src/http/server.js';
import { ManualClock } from '../fakes/clock.js';
import { logSink } from '../helpers/log-sink.js';
import { anyText, bytes, headerValue, jsonValue, params, secretValue } from './arbitraries.js';

type Behaviour = 'ok' | 'invalid' | 'refused' | 'failed' | 'default' | 'throws' | 'rejects-string';
type Answer = Awaited<ReturnType<NonNullable<HttpServerOptions['commands']>>>;

const TOKEN = 'property-token-5f0c2a9e71';
const CLIENT_HEADER = 'x-property-client';

interface Call {
  name: string;
  payload: string;
}

let behaviour: Behaviour = 'ok';
const calls: Call[] = [];

async function runCommand(name: string, payload: string): Promise<Answer> {
  calls.push({ name, payload });
  switch (behaviour) {
    case 'throws':
      throw new Error('the command handler blew up');
    case 'rejects-string':
      return Promise.reject('not even an Error');
    case 'ok':
      return { command: name, ok: true, message: 'done' };
    case 'default':
      return { ok: false, message: 'no failure kind given' };
    default:
      return { ok: false, message: `refused as ${behaviour}`, failure: behaviour, transaction: 't-1' };
  }
}

const servers: Record<'open' | 'token' | 'addon', HttpServerHandle | undefined> = {
  open: undefined,
  token: undefined,
  addon: undefined,
};

beforeAll(async () => {
  const base = {
    host: '127.0.0.1',
    port: 0,
    logger: logSink({ level: 'fatal' }).logger,
    clock: new ManualClock(Date.parse('2026-03-01T12:00:00Z')),
    probes: { health: () => ({ ok: true }) },
    state: (() => ({})) as unknown as HttpServerOptions['state'],
    metrics: {} as HttpServerOptions['metrics'],
    commands: runCommand as HttpServerOptions['commands'],
    clientAddress: (req: {
      headers: Record<string, string | string[] | undefined>;
      socket: { remoteAddress?: string };
    }) => {
      const h = req.headers[CLIENT_HEADER];
      return typeof h === 'string' ? h : (req.socket.remoteAddress ?? '');
    },
  } satisfies Partial<HttpServerOptions>;
  servers.open = await startHttpServer({ ...base, addon: false });
  servers.token = await startHttpServer({ ...base, addon: false, token: TOKEN });
  servers.addon = await startHttpServer({ ...base, addon: true });
});

afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s?.close()));
});

interface Response {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Sends raw bytes, reads until the server closes; `dropped` when no complete answer came back. */
function exchange(port: number, request: Buffer): Promise<Response | { dropped: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ dropped: 'no answer within 15 s' });
    }, 15_000);
    const finish = (why: string) => {
      clearTimeout(timer);
      const parsed = parseResponse(Buffer.concat(chunks));
      resolve(
        parsed ?? {
          dropped: `${why}; received ${JSON.stringify(Buffer.concat(chunks).toString().slice(0, 200))}`,
        },
      );
    };
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => finish('closed'));
    socket.on('error', (err) => finish(`socket error ${(err as NodeJS.ErrnoException).code}`));
    socket.write(request);
  });
}

function parseResponse(raw: Buffer): Response | null {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '');
  if (!m) return null;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (headers['transfer-encoding']?.includes('chunked')) {
    const out: Buffer[] = [];
    let rest = body;
    for (;;) {
      const eol = rest.indexOf('\r\n');
      if (eol < 0) return null;
      const size = Number.parseInt(rest.subarray(0, eol).toString(), 16);
      if (!Number.isFinite(size)) return null;
      if (size === 0) break;
      out.push(rest.subarray(eol + 2, eol + 2 + size));
      rest = rest.subarray(eol + 4 + size);
    }
    body = Buffer.concat(out);
  } else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (body.length < length) return null;
    body = body.subarray(0, length);
  }
  return { status: Number(m[1]), headers, body };
}

const headerName = fc
  .stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/)
  .filter(
    (n) =>
      !['host', 'content-length', 'transfer-encoding', 'connection', CLIENT_HEADER].includes(n.toLowerCase()),
  );

const commandFields = fc.record(
  {
    records: fc.oneof(fc.array(fc.domain(), { maxLength: 3 }), jsonValue(1)),
    off_seconds: fc.oneof(fc.integer({ min: -5, max: 4000 }), jsonValue(1)),
    enabled: fc.oneof(fc.boolean(), jsonValue(1)),
    transaction: fc.oneof(anyText(20), fc.integer()),
    other: jsonValue(1),
  },
  { requiredKeys: [] },
);

/** Every UTF-8 byte as %XX (lone surrogates become U+FFFD, as on the wire). */
function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

/** `likely` most of the time, so that requests get past each gate; anything else otherwise. */
function mostly<T>(likely: T, other: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ weight: 6, arbitrary: fc.constant(likely) }, { weight: 1, arbitrary: other });
}

const request = fc.record({
  server: mostly<keyof typeof servers>('open', fc.constantFrom('token', 'addon')),
  client: mostly(
    '127.0.0.1',
    fc.oneof(
      fc.constantFrom('::1', '::ffff:127.0.0.1', '172.30.32.2', '192.168.1.20', ''),
      fc.ipV4(),
      fc.ipV6(),
    ),
  ),
  name: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...COMMAND_NAMES) },
    { weight: 1, arbitrary: anyText(10).map(percentEncode) },
    { weight: 1, arbitrary: fc.constantFrom('', 'result', 'sync/x', '..%2f', '%00', 'Sync') },
  ),
  query: mostly('', fc.constantFrom('?a=1', '?', '#x', '?records=a.example.com')),
  host: mostly(
    '127.0.0.1:PORT',
    fc.oneof(fc.constantFrom('localhost:PORT', '[::1]:PORT', 'evil.example', ''), headerValue()),
  ),
  contentType: mostly<string | undefined>(
    'application/json',
    fc.option(
      fc.oneof(
        fc.constantFrom(
          'application/json; charset=utf-8',
          'APPLICATION/JSON',
          'application/json;;',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
        ),
        headerValue(),
      ),
      { nil: undefined },
    ),
  ),
  origin: mostly<string | undefined>(
    undefined,
    fc.oneof(
      fc.constantFrom('http://127.0.0.1:PORT', 'http://localhost:PORT', 'null', 'http://evil.example'),
      headerValue(),
    ),
  ),
  authorization: mostly<string | undefined>(
    `Bearer ${TOKEN}`,
    fc.option(
      fc.oneof(
        secretValue().map((s) => `Bearer ${s.replace(/[^\x21-\x7e]/g, 'x')}`),
        headerValue(),
      ),
      {
        nil: undefined,
      },
    ),
  ),
  cookie: fc.option(headerValue(), { nil: undefined, freq: 5 }),
  extra: fc.array(fc.tuple(headerName, headerValue()), { maxLength: 4 }),
  body: fc.oneof(
    { weight: 3, arbitrary: commandFields.map((o) => Buffer.from(JSON.stringify(o))) },
    { weight: 2, arbitrary: bytes(6 * 1024) },
    { weight: 1, arbitrary: jsonValue(3).map((v) => Buffer.from(JSON.stringify(v) ?? '')) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: MAX_COMMAND_BYTES - 8, max: MAX_COMMAND_BYTES + 8 })
        .map((n) => Buffer.from(`{"x":"${'a'.repeat(Math.max(0, n - 8))}"}`)),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('{}', '', ' {} ', 'null', '[]', '"sync"', 'PRESS')
        .map((s) => Buffer.from(s)),
    },
  ),
  chunked: fc.boolean(),
  behaviour: fc.constantFrom<Behaviour>(
    'ok',
    'invalid',
    'refused',
    'failed',
    'default',
    'throws',
    'rejects-string',
  ),
});

function build(r: typeof request extends fc.Arbitrary<infer T> ? T : never, port: number): Buffer {
  const fill = (s: string) => s.replace('PORT', String(port));
  const lines = [
    `POST /api/command/${r.name}${r.query} HTTP/1.1`,
    `Host: ${fill(r.host)}`,
    'Connection: close',
  ];
  lines.push(`${CLIENT_HEADER}: ${r.client}`);
  if (r.contentType !== undefined) lines.push(`Content-Type: ${r.contentType}`);
  if (r.origin !== undefined) lines.push(`Origin: ${fill(r.origin)}`);
  if (r.authorization !== undefined) lines.push(`Authorization: ${r.authorization}`);
  if (r.cookie !== undefined) lines.push(`Cookie: ${r.cookie}`);
  for (const [n, v] of r.extra) lines.push(`${n}: ${v}`);
  let body = r.body;
  if (r.chunked) {
    lines.push('Transfer-Encoding: chunked');
    const parts: Buffer[] = [];
    for (let i = 0; i < body.length; i += 1000) {
      const piece = body.subarray(i, i + 1000);
      parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    body = Buffer.concat(parts);
  } else {
    lines.push(`Content-Length: ${body.length}`);
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

describe('HTTP commands (property)', () => {
  it('any/body, headers and content type/get a JSON answer; the command sees only JSON objects', async () => {
    let reached = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const server = servers[r.server]!;
        behaviour = r.behaviour;
        calls.length = 0;
        const answer = await exchange(server.port, build(r, server.port));
        if ('dropped' in answer) throw new Error(`the connection was dropped: ${answer.dropped}`);
        expect(answer.status).toBeGreaterThanOrEqual(200);
        expect(answer.status).toBeLessThan(600);
        expect(answer.headers['content-type']).toMatch(/^application\/json/);
        const json: unknown = JSON.parse(answer.body.toString('utf8'));
        expect(typeof json === 'object' && json !== null && !Array.isArray(json)).toBe(true);
        expect(typeof (json as { message?: unknown }).message).toBe('string');

        for (const call of calls) {
          expect(COMMAND_NAMES).toContain(call.name);
          expect(Buffer.byteLength(call.payload)).toBeLessThanOrEqual(MAX_COMMAND_BYTES);
          const parsed: unknown = JSON.parse(call.payload);
          expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)).toBe(true);
        }
        reached += calls.length;
        if (answer.status === 200) expect(calls.length).toBe(1);
      }),
      params(400),
    );
    // The property is only worth something if generated requests get through to the command.
    expect(reached).toBeGreaterThan(0);
  }, 60_000);
});
