/**
 * What the user sees of a health step: one `health_changed` event and one log line per
 * transition (info when things get better, warn when they get worse), the `wan_down` /
 * `wan_restored` events the machine produced, and the agent's DNS cycle when the WAN is back.
 */
import { type HealthStep, isUp } from '../domain/health.js';
import { errorMessage } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Logger } from '../log.js';

export function announceHealth(
  step: HealthStep,
  o: { events: EventBus; logger: Logger; onWanRestored?: (() => unknown) | undefined },
): void {
  for (const t of step.transitions) {
    o.events.emit('health_changed', { from: t.from, to: t.to, reason: t.reason });
    const better = t.to === 'ready' || t.to === 'recovering' || (t.to === 'degraded' && !isUp(t.from));
    o.logger[better ? 'info' : 'warn']({ from: t.from, to: t.to }, t.message);
  }
  for (const e of step.events) {
    if (e.type === 'wan_down') {
      o.events.emit('wan_down', e.payload);
      continue;
    }
    o.events.emit('wan_restored', e.payload);
    resyncDns(o);
  }
}

/**
 * Starts the DNS cycle that follows the WAN's return (SPEC §5: the public IP has likely changed).
 * Never throws; a failure to start it is said, and the next cycle runs on schedule.
 */
export function resyncDns(o: { logger: Logger; onWanRestored?: (() => unknown) | undefined }): void {
  const failed = (err: unknown) =>
    o.logger.error(
      { err: errorMessage(err) },
      `Starting a DNS cycle after the WAN came back failed: ${errorMessage(err)}. The next one runs on schedule.`,
    );
  try {
    const started = o.onWanRestored?.();
    if (started instanceof Promise) started.catch(failed);
  } catch (err) {
    failed(err);
  }
}
