/**
 * IP consensus: which address enough sources agree on, and, when none is, a reason the user can
 * act on. Pure. The answer shape mirrors `SourceAnswer` (src/ip/ip-source.ts) structurally, so
 * the core does not import an adapter port.
 */
import { type IpFamily, normalizeIp } from './ip.js';

export type ConsensusAnswer =
  | { ok: true; source: string; ip: string }
  | { ok: false; source: string; reason: string };

export interface Agreement {
  /** The canonical address. */
  ip: string;
  /** The distinct sources that gave it, in answer order. */
  agreeing: string[];
}

/**
 * The first address (in answer order) that `quorum` distinct sources gave, or null. A source
 * listed twice counts once, so a duplicated config entry cannot make a quorum on its own. A
 * quorum below 1 counts as 1.
 */
export function tally(answers: readonly ConsensusAnswer[], quorum: number): Agreement | null {
  const need = Math.max(1, Math.floor(quorum));
  const bySource = new Map<string, string[]>();
  for (const answer of answers) {
    if (!answer.ok) continue;
    const ip = normalizeIp(answer.ip);
    if (ip === null) continue;
    const agreeing = bySource.get(ip) ?? [];
    if (!agreeing.includes(answer.source)) agreeing.push(answer.source);
    bySource.set(ip, agreeing);
    if (agreeing.length >= need) return { ip, agreeing: [...agreeing] };
  }
  return null;
}

/**
 * Why no quorum was reached, naming each source and what it said, e.g.
 * `no 2 sources agreed on a public IPv4: https://a → 81.2.69.1, https://b → 81.2.69.9,
 * https://c → not an address (HTML page)`. No trailing period: callers embed it in a sentence.
 */
export function explainNoQuorum(
  answers: readonly ConsensusAnswer[],
  quorum: number,
  family: IpFamily,
): string {
  const need = Math.max(1, Math.floor(quorum));
  const key = family === 4 ? 'ip_sources' : 'ip_sources_v6';
  const quorumKey = family === 4 ? 'ip_quorum' : 'ip_quorum_v6';
  const what = `a public IPv${family}`;
  if (answers.length === 0) return `no IPv${family} sources are configured (set ${key})`;
  const head = need === 1 ? `no source found ${what}` : `no ${need} sources agreed on ${what}`;
  const parts = answers.map((a) => `${a.source} → ${a.ok ? (normalizeIp(a.ip) ?? a.ip) : a.reason}`);
  const distinct = new Set(answers.map((a) => a.source)).size;
  const short =
    distinct < need
      ? ` (only ${distinct} source${distinct === 1 ? '' : 's'} for ${quorumKey} ${need}: add sources to ${key} or lower ${quorumKey})`
      : '';
  return `${head}${short}: ${parts.join(', ')}`;
}
