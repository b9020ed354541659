/**
 * The fake's DoH face: DNS-over-HTTPS JSON answers (application/dns-json) from the same records
 * the API serves. DNS-only records answer their content with their TTL (TTL 1 = "auto" = 300 s);
 * a name with any proxied record answers Cloudflare's edge addresses for both A and AAAA; CNAMEs
 * are followed; an unknown name is NXDOMAIN (Status 3), a known name without the type is NODATA.
 * A stale resolver cache (`stale`) can be made to keep serving an old view of a name.
 */
import { parseIp } from '../../../src/domain/ip.js';
import { type FakeStore, norm } from './store.js';

/** What DoH answers for proxied names by default: addresses inside Cloudflare's ranges. */
export const DEFAULT_EDGE_V4 = ['104.16.0.1'];
export const DEFAULT_EDGE_V6 = ['2606:4700::1'];

export const DOH_PATH = '/dns-query';
const AUTO_TTL = 300;
const RR_TYPES: Readonly<Record<string, number>> = { A: 1, CNAME: 5, TXT: 16, AAAA: 28 };

/** What the resolver adds to the records: a stale cache per name, and the edge addresses. */
export interface ResolverView {
  /** name → an address still served (its family's type only), or null (NXDOMAIN for every type). */
  stale: ReadonlyMap<string, string | null>;
  edge: { v4: readonly string[]; v6: readonly string[] };
}

export function answerDoh(
  store: FakeStore,
  resolver: ResolverView,
  rawName: string,
  rawType: string,
): Record<string, unknown> {
  const name = norm(rawName);
  const qtype = /^\d+$/.test(rawType) ? Number(rawType) : (RR_TYPES[rawType.toUpperCase()] ?? -1);
  const base = { TC: false, RD: true, RA: true, AD: false, CD: false, Question: [{ name, type: qtype }] };
  const soa = (n: string) => {
    const zone = store.zoneOf(n);
    return zone
      ? {
          Authority: [
            {
              name: zone.name,
              type: 6,
              TTL: 1800,
              data: `ada.ns.cloudflare.com. dns.cloudflare.com. 2350000000 10000 2400 604800 1800`,
            },
          ],
        }
      : {};
  };
  const family = qtype === 1 ? 4 : qtype === 28 ? 6 : null;

  // A stale resolver cache for this name wins over the live records.
  if (resolver.stale.has(name)) {
    const content = resolver.stale.get(name) ?? null;
    if (content === null) return { Status: 3, ...base, ...soa(name) };
    const ip = parseIp(content);
    if (family !== null && ip?.family === family) {
      const live = store.records({ name }).find((r) => r.type === (family === 4 ? 'A' : 'AAAA'));
      const ttl = live ? dohTtl(live.ttl) : AUTO_TTL;
      return { Status: 0, ...base, Answer: [{ name, type: qtype, TTL: ttl, data: ip.canonical }] };
    }
  }

  const answers: Array<{ name: string; type: number; TTL: number; data: string }> = [];
  let current = name;
  for (let hop = 0; hop < 8; hop++) {
    const recs = store.records({ name: current });
    if (recs.length === 0) {
      if (hop === 0) return { Status: 3, ...base, ...soa(name) };
      break; // a CNAME pointing outside what the fake knows: what we have is all we say
    }
    const proxied = recs.some(
      (r) => r.proxied && (r.type === 'A' || r.type === 'AAAA' || r.type === 'CNAME'),
    );
    if (proxied && family !== null) {
      const edge = family === 4 ? resolver.edge.v4 : resolver.edge.v6;
      for (const data of edge) answers.push({ name: current, type: qtype, TTL: AUTO_TTL, data });
      break;
    }
    const cname = recs.find((r) => r.type === 'CNAME');
    if (cname && qtype !== 5) {
      answers.push({ name: current, type: 5, TTL: dohTtl(cname.ttl), data: `${norm(cname.content)}.` });
      current = norm(cname.content);
      continue;
    }
    for (const r of recs) {
      if (RR_TYPES[r.type] !== qtype) continue;
      const data =
        r.type === 'TXT' ? JSON.stringify(r.content) : r.type === 'CNAME' ? `${norm(r.content)}.` : r.content;
      answers.push({ name: current, type: qtype, TTL: dohTtl(r.ttl), data });
    }
    break;
  }
  const hasFinal = answers.some((a) => a.type === qtype);
  return {
    Status: 0,
    ...base,
    ...(answers.length > 0 ? { Answer: answers } : {}),
    ...(hasFinal ? {} : soa(name)),
  };
}

function dohTtl(ttl: number): number {
  return ttl === 1 ? AUTO_TTL : ttl;
}
