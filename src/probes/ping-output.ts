/**
 * What one run of the system `ping` said, judged by exit code first and its text second. Pure.
 *
 * Both families of `ping` seen on routers' neighbours are understood:
 * - iputils (Debian, Raspberry Pi OS): `64 bytes from 192.168.1.1: icmp_seq=1 ttl=64 time=0.512 ms`;
 *   exit 0 = a reply, 1 = no reply, 2 = any other error.
 * - BusyBox (Alpine, Home Assistant OS add-ons): `64 bytes from 192.168.1.1: seq=0 ttl=64 time=0.512 ms`;
 *   exit 0 = a reply, 1 = no reply or an error.
 * Output is read with LC_ALL=C, so the words are English.
 */

export type PingVerdict =
  /** A reply came back. `latencyMs` from `time=`, null when the line could not be read. */
  | { kind: 'reply'; latencyMs: number | null }
  /** Ran, but no reply within its wait (`100% packet loss`): the probe's `timeout`. */
  | { kind: 'no_reply'; code: string }
  /** Ran and failed for a reason worth keeping (`ENETUNREACH`, `EHOSTUNREACH`, `EXIT_2`). */
  | { kind: 'error'; code: string }
  /** Cannot work here: no permission for ICMP sockets. The router must be probed another way. */
  | { kind: 'unavailable'; code: string; detail: string }
  /** This ping does not know an option we passed (an old iputils without `-6`). */
  | { kind: 'unsupported'; code: string };

const TIME = /\btime[=<]\s*([0-9]+(?:\.[0-9]+)?)\s*ms\b/i;
const PERMISSION =
  /operation not permitted|permission denied|are you root|must be root|lacking privilege|ping_group_range/i;
const UNSUPPORTED = /invalid option|unrecognized option|unknown option|illegal option|usage:/i;
const NET_UNREACHABLE = /network is unreachable/i;
const HOST_UNREACHABLE = /host unreachable|no route to host/i;

/** The `time=` of the first reply line, in ms; null when there is none. */
export function parsePingLatency(output: string): number | null {
  const match = TIME.exec(output);
  if (!match) return null;
  const ms = Number(match[1]);
  return Number.isFinite(ms) ? ms : null;
}

/** The first line that says what went wrong, shortened; for notices. */
function firstLine(output: string): string {
  const line =
    output
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? '';
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

/**
 * Judges one finished `ping`. `exitCode` is null when it ended by a signal (`signal` then names
 * it); a run this process killed at its deadline is not judged here (it is a `timeout`).
 */
export function judgePing(run: {
  exitCode: number | null;
  signal?: string | null;
  output: string;
}): PingVerdict {
  const { exitCode, output } = run;
  if (exitCode === 0) return { kind: 'reply', latencyMs: parsePingLatency(output) };
  const code = exitCode === null ? (run.signal ?? 'SIGNAL') : `EXIT_${exitCode}`;
  if (PERMISSION.test(output)) return { kind: 'unavailable', code: 'EPERM', detail: firstLine(output) };
  if (NET_UNREACHABLE.test(output)) return { kind: 'error', code: 'ENETUNREACH' };
  if (HOST_UNREACHABLE.test(output)) return { kind: 'error', code: 'EHOSTUNREACH' };
  if (UNSUPPORTED.test(output)) return { kind: 'unsupported', code };
  if (exitCode === 1) return { kind: 'no_reply', code };
  return { kind: 'error', code };
}
