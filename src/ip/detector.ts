/**
 * Public-IP detection (SPEC §3.1): every source is asked at once; the first address `quorum`
 * sources agree on wins and the other requests are cancelled, so a hung source costs nothing once
 * a quorum has answered. Also builds sources from their configured strings.
 */
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { explainNoQuorum, tally } from '../domain/consensus.js';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { HttpIpSource } from './http-source.js';
import type { Detection, IpFamily, IpSource, SourceAnswer } from './ip-source.js';
import { type InterfacesFn, LocalIpSource } from './local-source.js';
import { CGNAT_WARNING } from './parse-body.js';

export interface DetectOptions {
  family: IpFamily;
  sources: readonly IpSource[];
  /** How many distinct sources must give the same address (below 1 counts as 1). */
  quorum: number;
  /** Aborting cancels every source; the detection then resolves unverified. */
  signal?: AbortSignal;
  logger?: Logger;
}

/**
 * Asks all sources concurrently and resolves as soon as `quorum` of them agree (verified), or
 * when all have answered without agreement (unverified, naming each source and its answer).
 * `answers` holds the answers received before the decision; sources cancelled by a reached
 * quorum are not listed. Never rejects.
 */
export function detectPublicIp(options: DetectOptions): Promise<Detection> {
  const { family, sources, quorum, signal, logger } = options;
  const answers: SourceAnswer[] = [];
  const warnings: string[] = [];
  const controllers = sources.map(() => new AbortController());
  const abortAll = () => {
    for (const c of controllers) c.abort(signal?.reason);
  };

  return new Promise<Detection>((resolve) => {
    let settled = false;
    let pending = sources.length;
    const finish = (detection: Detection) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', abortAll);
      abortAll();
      resolve(detection);
    };
    const unverified = (): Detection => ({
      kind: 'unverified',
      family,
      reason: signal?.aborted ? 'detection was cancelled' : explainNoQuorum(answers, quorum, family),
      answers: [...answers],
      warnings: [...warnings],
    });

    if (sources.length === 0 || signal?.aborted) return finish(unverified());
    signal?.addEventListener('abort', abortAll, { once: true });

    sources.forEach((source, i) => {
      const ctrl = controllers[i] ?? new AbortController();
      let asked: Promise<SourceAnswer>;
      try {
        asked = source.query(family, ctrl.signal);
      } catch (err) {
        asked = Promise.reject(err);
      }
      asked
        .catch(
          (err: unknown): SourceAnswer => ({
            ok: false,
            source: source.id,
            reason: `failed: ${errorMessage(err)}`,
          }),
        )
        .then((answer) => {
          pending--;
          if (settled) return;
          answers.push(answer);
          if (answer.ok) {
            logger?.debug(
              { source: answer.source, ip: answer.ip },
              `IPv${family} source ${answer.source} answered ${answer.ip}.`,
            );
          } else {
            logger?.debug(
              { source: answer.source, reason: answer.reason },
              `IPv${family} source ${answer.source} gave no usable address: ${answer.reason}.`,
            );
            if (answer.kind === 'cgnat' && !warnings.includes(CGNAT_WARNING)) warnings.push(CGNAT_WARNING);
          }
          const agreement = tally(answers, quorum);
          if (agreement) {
            finish({
              kind: 'verified',
              family,
              ip: agreement.ip,
              agreeing: agreement.agreeing,
              answers: [...answers],
              warnings: [...warnings],
            });
          } else if (pending === 0) {
            finish(unverified());
          }
        });
    });
  });
}

export interface BuildSourcesOptions {
  timeoutMs: number;
  /** One dispatcher for every HTTP source and both families (tests, demo): not family-pinned. */
  dispatcher?: Dispatcher;
  /** One dispatcher per family; default: process-wide agents pinned to IPv4 / IPv6 sockets. */
  dispatchers?: { 4: Dispatcher; 6: Dispatcher };
  interfaces?: InterfacesFn;
  clock?: Clock;
}

/**
 * Turns configured source strings into sources: `http(s)://…` → HttpIpSource, `local` /
 * `local:IFACE` → LocalIpSource. Anything else is a ConfigError listing every bad entry.
 */
export function buildSources(urls: readonly string[], options: BuildSourcesOptions): IpSource[] {
  const problems: string[] = [];
  const sources: IpSource[] = [];
  for (const raw of urls) {
    const spec = raw.trim();
    if (spec === 'local' || spec.startsWith('local:')) {
      sources.push(
        new LocalIpSource({ id: spec, ...(options.interfaces ? { interfaces: options.interfaces } : {}) }),
      );
      continue;
    }
    let scheme = '';
    try {
      scheme = new URL(spec).protocol;
    } catch {
      scheme = '';
    }
    if (scheme !== 'http:' && scheme !== 'https:') {
      problems.push(
        `IP source ${JSON.stringify(raw)} is neither an http(s) URL nor local / local:IFACE; fix ip_sources or ip_sources_v6`,
      );
      continue;
    }
    sources.push(
      new HttpIpSource({
        url: spec,
        timeoutMs: options.timeoutMs,
        ...(options.dispatchers ? { dispatchers: options.dispatchers } : {}),
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
      }),
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return sources;
}
