/**
 * Reads an IP source's answer: the body into an address (or the reason it holds none), then the
 * address against the question (family, global reach). Pure: no I/O.
 *
 * Body formats: Cloudflare's trace (`key=value` lines with `ip=` and `h=`), JSON with a string
 * `ip` field, or one bare address on one line.
 */
import { classifyIp, IP_CLASS_LABEL, type IpFamily, type ParsedIp, parseIp } from '../domain/ip.js';
import type { SourceFailure } from './ip-source.js';

/**
 * `kind: 'warp'`: a Cloudflare trace said this host's traffic goes through WARP (`warp=on`/`plus`)
 * or WARP with Gateway (`gateway=on`): no source can see this network's own address.
 */
export type BodyResult = { ok: true; ip: ParsedIp } | { ok: false; reason: string; kind?: 'warp' };

export type JudgedAddress =
  | { ok: true; ip: string }
  | { ok: false; kind: SourceFailure; reason: string; ip: string };

/** The text that CGNAT answers add to a detection's warnings. */
export const CGNAT_WARNING =
  'your ISP uses CGNAT (100.64.0.0/10): DDNS cannot reach this network from the internet';

const TRACE_LINE = /^[a-z0-9_]+=/i;

/** A short, printable excerpt of untrusted text for a message. */
function excerpt(text: string, max = 40): string {
  const flat = text
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

function notAddress(detail: string): BodyResult {
  return { ok: false, reason: `not an address (${detail})` };
}

function fromText(text: string, what: string): BodyResult {
  const ip = parseIp(text);
  return ip ? { ok: true, ip } : notAddress(`${what} "${excerpt(text)}"`);
}

/** Host name of a URL as a trace's `h=` line would carry it: no port, no brackets, no final dot. */
function bareHost(host: string): string {
  return host
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
}

/**
 * A trace's answer. `warp=` and `gateway=` are read before `h=`: whichever host answered, a trace
 * saying this host's traffic goes through WARP means no source sees this network's own address,
 * so it vetoes even a trace that is otherwise refused. A key given twice vetoes if any line does.
 */
function parseTrace(lines: readonly string[], host: string): BodyResult {
  const fields = new Map<string, string[]>();
  for (const line of lines) {
    const eq = line.indexOf('=');
    const key = line.slice(0, eq).toLowerCase();
    fields.set(key, [...(fields.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  const values = (key: string) => (fields.get(key) ?? []).map((v) => v.toLowerCase());
  const warp = values('warp').find((v) => v === 'on' || v === 'plus');
  if (warp !== undefined) {
    return {
      ok: false,
      kind: 'warp',
      reason: `this host's traffic goes through Cloudflare WARP (warp=${warp})`,
    };
  }
  if (values('gateway').includes('on')) {
    return {
      ok: false,
      kind: 'warp',
      reason: "this host's traffic goes through Cloudflare WARP with Gateway (gateway=on)",
    };
  }
  const h = fields.get('h')?.at(-1);
  if (h === undefined)
    return { ok: false, reason: 'trace without an h= line: cannot tell which host answered' };
  if (bareHost(h) !== bareHost(host)) {
    return {
      ok: false,
      reason: `trace answered for another host (h=${excerpt(h)}, asked ${bareHost(host)})`,
    };
  }
  return fromText(fields.get('ip')?.at(-1) ?? '', 'trace ip=');
}

function parseJson(text: string): BodyResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return notAddress(`malformed JSON "${excerpt(text)}"`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return notAddress('JSON without an "ip" field');
  const ip = (value as Record<string, unknown>)['ip'];
  if (typeof ip !== 'string') return notAddress('JSON without an "ip" field');
  return fromText(ip.trim(), 'JSON ip');
}

/**
 * The address a source's body holds, or why it holds none. `host` is the host name of the URL
 * that was asked (a trace's `h=` must name it).
 */
export function parseBody(body: string, options: { host: string }): BodyResult {
  const text = body.replace(/^\uFEFF/, '').trim();
  if (text === '') return notAddress('empty answer');
  if (/^<|<html[\s>]|<!doctype/i.test(text)) {
    const title = /<title[^>]*>([^<]*)</i.exec(text)?.[1]?.trim();
    return notAddress(title ? `HTML page "${excerpt(title)}"` : 'HTML page');
  }
  const cfError = /^error code:\s*(\d+)/i.exec(text);
  if (cfError) return notAddress(`Cloudflare error page "error code: ${cfError[1]}"`);
  if (text.startsWith('{') || text.startsWith('[')) return parseJson(text);
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.some((l) => /^ip=/i.test(l)) && lines.every((l) => TRACE_LINE.test(l))) {
    return parseTrace(lines, options.host);
  }
  if (lines.length > 1)
    return notAddress(`${lines.length} lines of text starting "${excerpt(lines[0] ?? '')}"`);
  return fromText(text, 'text');
}

/**
 * Whether an address can answer "what is this network's public IPv4/IPv6": it must be of that
 * family and global. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, as a dual-stack server may
 * report a v4 client) is read as its IPv4 address.
 */
export function judgeAddress(ip: ParsedIp, family: IpFamily): JudgedAddress {
  const mapped = ip.mappedV4 !== undefined ? parseIp(ip.mappedV4) : null;
  const effective = mapped && family === 4 ? mapped : ip;
  const effectiveFamily: IpFamily = mapped ? 4 : ip.family;
  const text = effective.canonical;
  if (effectiveFamily !== family) {
    return {
      ok: false,
      kind: 'wrong_family',
      ip: text,
      reason: `an IPv${effectiveFamily} address (${text}) for an IPv${family} question`,
    };
  }
  const cls = classifyIp(effective);
  switch (cls) {
    case 'global':
      return { ok: true, ip: text };
    case 'cgnat':
      return { ok: false, kind: 'cgnat', ip: text, reason: `${text} is a CGNAT address: ${CGNAT_WARNING}` };
    case 'cloudflare':
      return {
        ok: false,
        kind: 'cloudflare',
        ip: text,
        reason: `${text} is an address in Cloudflare's own range: the request went through WARP or a proxy`,
      };
    default:
      return { ok: false, kind: 'not_global', ip: text, reason: `${text} is ${IP_CLASS_LABEL[cls]}` };
  }
}
