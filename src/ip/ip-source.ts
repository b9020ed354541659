/**
 * Public-IP detection ports. An IpSource asks one place (an echo service, a trace endpoint, a
 * local interface) for this network's public address in one family.
 */
export type IpFamily = 4 | 6;

export type SourceAnswer =
  | { ok: true; source: string; ip: string }
  | { ok: false; source: string; reason: string };

export interface IpSource {
  /** The configured string ("https://…", "local", "local:eth0"). */
  readonly id: string;
  /** Never throws: every failure is an answer with ok:false and a reason a user can act on. */
  query(family: IpFamily, signal: AbortSignal): Promise<SourceAnswer>;
}

export type Detection =
  | {
      kind: 'verified';
      family: IpFamily;
      ip: string;
      /** Sources that answered this IP (at least the quorum). */
      agreeing: string[];
      answers: SourceAnswer[];
      warnings: string[];
    }
  | {
      kind: 'unverified';
      family: IpFamily;
      /** What stopped a quorum, written for the user, naming the disagreeing sources. */
      reason: string;
      answers: SourceAnswer[];
      warnings: string[];
    };
