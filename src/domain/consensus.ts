/**
 * IP consensus (SPEC §3.1): which address the sources agree on, when to stop waiting for the
 * rest, and, without a decision, a reason the user can act on. Pure. The answer shape mirrors
 * `SourceAnswer` (src/ip/ip-source.ts) structurally, so the core does not import an adapter port.
 *
 * The rule, in order:
 * 1. An address given by a strict majority of the configured sources (and by at least `quorum`)
 *    wins at once; the other sources need not answer. More generally, a leader that the sources
 *    still unanswered could no longer catch up with wins at once: waiting could not change the
 *    outcome.
 * 2. Once some address has `quorum` sources, the caller waits a short settle window for the rest;
 *    when it closes (or every source has answered), the plurality of the answers received wins if
 *    it counts at least `quorum`.
 * 3. A tie for the most sources decides nothing: the caller keeps the last verified address.
 * So two fast sources telling the same lie never beat three honest ones that answer within the
 * window.
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

export type Decision =
  | { kind: 'agreed'; ip: string; agreeing: string[] }
  /** Not yet. `settle`: some address has `quorum` sources, so the settle window should run. */
  | { kind: 'waiting'; settle: boolean }
  /** Final: no address won (a tie for the most sources, or none reached `quorum`). */
  | { kind: 'none'; why: 'tie' | 'no_quorum' };

export interface DecideOptions {
  /** How many distinct sources are configured (answered or not). */
  sources: number;
  /** How many distinct sources must give the winning address (below 1 counts as 1). */
  quorum: number;
  /** The settle window has closed: decide from the answers received. */
  settled: boolean;
}

/** Each address with the distinct sources that gave it, most sources first (ties: first given). */
export function standings(answers: readonly ConsensusAnswer[]): Agreement[] {
  const byIp = new Map<string, string[]>();
  for (const answer of answers) {
    if (!answer.ok) continue;
    const ip = normalizeIp(answer.ip);
    if (ip === null) continue;
    const agreeing = byIp.get(ip) ?? [];
    if (!agreeing.includes(answer.source)) agreeing.push(answer.source);
    byIp.set(ip, agreeing);
  }
  // Array#sort is stable: equal counts keep the order in which each address was first given.
  return [...byIp]
    .map(([ip, agreeing]) => ({ ip, agreeing }))
    .sort((a, b) => b.agreeing.length - a.agreeing.length);
}

/**
 * Applies the rule of the module comment to the answers received so far. A source listed twice
 * counts once, so a duplicated entry cannot make a majority on its own.
 */
export function decide(answers: readonly ConsensusAnswer[], options: DecideOptions): Decision {
  const need = Math.max(1, Math.floor(options.quorum));
  const answered = new Set(answers.map((a) => a.source)).size;
  const pending = Math.max(0, options.sources - answered);
  const [top, second] = standings(answers);
  const lead = top?.agreeing.length ?? 0;
  const runnerUp = second?.agreeing.length ?? 0;
  if (top && lead >= need && lead > runnerUp + pending) {
    return { kind: 'agreed', ip: top.ip, agreeing: [...top.agreeing] };
  }
  if (pending > 0 && !options.settled) return { kind: 'waiting', settle: lead >= need };
  if (!top || lead < need) return { kind: 'none', why: 'no_quorum' };
  if (lead === runnerUp) return { kind: 'none', why: 'tie' };
  return { kind: 'agreed', ip: top.ip, agreeing: [...top.agreeing] };
}

/**
 * Why no address won, naming each source and what it said, e.g.
 * `no 2 sources agreed on a public IPv4: https://a → 81.2.69.1, https://b → 81.2.69.9,
 * https://c → not an address (HTML page)`. `unanswered` lists the sources given up on (the settle
 * window closed before they answered). No trailing period: callers embed it in a sentence.
 */
export function explainNoQuorum(
  answers: readonly ConsensusAnswer[],
  quorum: number,
  family: IpFamily,
  unanswered: readonly string[] = [],
): string {
  const need = Math.max(1, Math.floor(quorum));
  const key = family === 4 ? 'ip_sources' : 'ip_sources_v6';
  // One user key sets the quorum of both families (the IPv6 value is derived from it).
  const quorumKey = 'ip_quorum';
  const what = `a public IPv${family}`;
  if (answers.length === 0 && unanswered.length === 0)
    return `no IPv${family} sources are configured (set ${key})`;
  const parts = [
    ...answers.map((a) => `${a.source} → ${a.ok ? (normalizeIp(a.ip) ?? a.ip) : a.reason}`),
    ...unanswered.map((s) => `${s} → no answer within the settle window`),
  ];
  const [top, second] = standings(answers);
  const count = top?.agreeing.length ?? 0;
  if (top && second && count >= need && second.agreeing.length === count) {
    return `the sources are split evenly between ${top.ip} and ${second.ip} (${count} each), so no public IPv${family} won: ${parts.join(', ')}`;
  }
  const head = need === 1 ? `no source found ${what}` : `no ${need} sources agreed on ${what}`;
  const distinct = new Set([...answers.map((a) => a.source), ...unanswered]).size;
  const short =
    distinct < need
      ? ` (only ${distinct} source${distinct === 1 ? '' : 's'} for ${quorumKey} ${need}: add sources to ${key} or lower ${quorumKey})`
      : '';
  return `${head}${short}: ${parts.join(', ')}`;
}

/**
 * How a source is named wherever the agent shows it (logs, `check`, state, events, MQTT): the
 * configured string without credentials, query or fragment, since an echo service's key often
 * rides there (`https://u:KEY@host/ip`, `…/ip?key=KEY`). A URL with nothing to hide is shown as
 * configured; otherwise as scheme, host, port and path. `local` / `local:IFACE` are kept. A string
 * that is not a URL loses everything after `?` or `#`, and everything from `://` (or its start)
 * to its last `@`; when an `@` follows the first `?` or `#` (a password holding one, or a query
 * holding an `@`: the text cannot say which), everything after `://`.
 */
export function sourceLabel(spec: string): string {
  const text = spec.trim();
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    url = null;
  }
  if (url && url.host !== '') {
    const hidden = url.username !== '' || url.password !== '' || /[?#@]/.test(text);
    return hidden ? `${url.protocol}//${url.host}${url.pathname}` : text;
  }
  const scheme = text.indexOf('://');
  const from = scheme >= 0 ? scheme + 3 : 0;
  const tail = text.search(/[?#]/);
  // An @ after the first ? or #: either a password holding ? or # or a query holding an @; neither
  // reading is safe to show, so only the scheme is.
  if (tail >= 0 && text.lastIndexOf('@') > tail) return `${text.slice(0, from)}***`;
  let cut = tail >= 0 ? text.slice(0, tail) : text;
  const at = cut.lastIndexOf('@');
  if (at >= from) cut = `${cut.slice(0, from)}***${cut.slice(at)}`;
  return cut;
}
