/**
 * The public IP side of a cycle: asks the detector, records the answer in the state's
 * `public_ip`, logs and emits `ip_changed` when it changed, and warns once per outage while it
 * cannot be verified (the last verified address is kept; nothing is written meanwhile).
 */
import type { Clock } from '../clock.js';
import { ipEquals } from '../domain/ip.js';
import type { EventBus } from '../events.js';
import type { Detection, IpFamily } from '../ip/ip-source.js';
import type { Logger } from '../log.js';
import type { StateHolder } from '../state/holder.js';
import type { OutageLog } from './outage-log.js';

export interface PublicIpDeps {
  detect: (family: IpFamily, signal?: AbortSignal) => Promise<Detection>;
  state: StateHolder;
  events: EventBus;
  clock: Clock;
  logger: Logger;
  outages: OutageLog;
}

export async function detectPublicIp(
  deps: PublicIpDeps,
  family: IpFamily,
  signal?: AbortSignal,
): Promise<Detection> {
  const { state, events, logger, clock, outages } = deps;
  const key = family === 4 ? 'ipv4' : 'ipv6';
  const pub = state.state.public_ip;
  const detection = await deps.detect(family, signal);
  for (const w of detection.warnings) outages.warnOnce(`ip-warning:${w}`, w);
  pub.checked_at = clock.now();
  if (detection.kind === 'unverified') {
    outages.warnOnce(
      `ip:${family}`,
      `Could not verify the public IPv${family}: ${detection.reason}. Keeping the last verified address (${pub[key] ?? 'none'}) and writing nothing until it is verified again; check ip_sources or lower ip_quorum if sources keep disagreeing.`,
      { family: key },
    );
    return detection;
  }
  outages.recovered(`ip:${family}`, `The public IPv${family} is verified again (${detection.ip}).`);
  const old = pub[key];
  pub[key] = detection.ip;
  if (old === null || !ipEquals(old, detection.ip)) {
    logger.info(
      { family: key, old, new: detection.ip, sources: detection.agreeing },
      old === null
        ? `Public IPv${family} is ${detection.ip} (agreed by ${detection.agreeing.length} sources).`
        : `Public IPv${family} changed from ${old} to ${detection.ip}.`,
    );
    events.emit('ip_changed', { family: key, old, new: detection.ip, sources: detection.agreeing });
  }
  return detection;
}
