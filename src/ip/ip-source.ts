/**
 * Public-IP detection ports. An IpSource asks one place (an echo service, a trace endpoint, a
 * local interface) for this network's public address in one family.
 */
import type { IpFamily } from '../domain/ip.js';

export type { IpFamily } from '../domain/ip.js';

/**
 * Why a source gave no usable address. `cgnat` is kept apart because the detector turns it into a
 * warning (DDNS cannot reach a host behind carrier-grade NAT).
 */
export type SourceFailure =
  | 'invalid' // the configured source string cannot be used
  | 'unreachable' // no connection (refused, no route, DNS, TLS, wrong family for the URL's host)
  | 'timeout' // no answer within http_timeout_ms
  | 'aborted' // cancelled by the caller (a quorum was reached, or the agent is stopping)
  | 'http_status' // a non-2xx answer
  | 'unparseable' // the body holds no address (HTML, error page, empty, foreign trace)
  | 'warp' // a trace said warp=on or gateway=on: this host's traffic goes through WARP (vetoes the detection)
  | 'wrong_family' // an IPv6 answer to an IPv4 question or the reverse
  | 'not_global' // private, loopback, link-local, multicast, reserved, documentation, unspecified
  | 'cgnat' // 100.64.0.0/10
  | 'cloudflare' // Cloudflare's own range: the request went through WARP or a proxy
  | 'no_address'; // a local interface without a global address

export type SourceAnswer =
  | { ok: true; source: string; ip: string }
  | {
      ok: false;
      source: string;
      reason: string;
      /** Set by the built-in sources; optional so fakes may omit it. */
      kind?: SourceFailure;
      /** The address the source gave, when it gave one that was rejected. */
      ip?: string;
    };

export interface IpSource {
  /**
   * How the source is named everywhere (answers, logs, `check`, state, events): the configured
   * string without credentials, query or fragment (`sourceLabel`, src/domain/consensus.ts), e.g.
   * "https://ip.example.net/ip", "local", "local:eth0". Never holds a secret.
   */
  readonly id: string;
  /** Never throws: every failure is an answer with ok:false and a reason a user can act on. */
  query(family: IpFamily, signal: AbortSignal): Promise<SourceAnswer>;
}

export type Detection =
  | {
      kind: 'verified';
      family: IpFamily;
      ip: string;
      /** Sources that answered this IP (at least the quorum), by their `id`. */
      agreeing: string[];
      answers: SourceAnswer[];
      warnings: string[];
    }
  | {
      kind: 'unverified';
      family: IpFamily;
      /**
       * What stopped a decision, written for the user: the disagreeing sources and what each
       * said, or the WARP veto with what to do about it.
       */
      reason: string;
      /** Set when a trace said this host's traffic goes through WARP: nothing else was judged. */
      vetoed?: 'warp';
      answers: SourceAnswer[];
      warnings: string[];
    };
