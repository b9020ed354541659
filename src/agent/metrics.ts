/**
 * Feeding `/metrics` (part of the composition root; only src/agent.ts calls it). The services do
 * not know about metrics: the agent wraps the ports they are handed and listens to the event bus.
 * - `meteredProvider`: the DnsProvider port, counting each Cloudflare API call by endpoint and
 *   result (and successful deletes as DNS writes: no event says them);
 * - `meteredProbes`: the probe set, recording each probe's result and latency, and beating the
 *   watchdog loop's liveness;
 * - `meterEvents`: DNS writes, IP changes, health and power cycles from the EventBus.
 */
import type { DnsProvider } from '../dns/dns-provider.js';
import { CloudflareApiError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { ApiEndpoint, ApiResult, Metrics, ProbeTarget } from '../http/metrics.js';
import type { Probe } from '../probes/probe.js';
import type { ProbeSet } from '../probes/round.js';

/**
 * How a failed Cloudflare call ended, for `ddns_watchdog_cloudflare_api_calls_total`; null when no
 * request went out (the client's 429 pause refused it, or it was cancelled before it was sent).
 */
export function apiResultOf(err: unknown): ApiResult | null {
  if (!(err instanceof CloudflareApiError)) return 'network_error';
  const { status, kind } = err;
  if (status === 429) return 'rate_limited';
  if (kind === 'malformed' || (status !== undefined && status >= 500)) return 'server_error';
  if (status !== undefined) return 'client_error';
  // No HTTP status: the call got no answer, or never went out.
  if (kind === 'rate_limited' || kind === 'client') return null; // the 429 pause; a request that could not be built
  if (/^Cancelled (before|while) /.test(err.message)) return null; // the agent is stopping
  if (/did not answer within/.test(err.message)) return 'timeout';
  return 'network_error';
}

/**
 * The DnsProvider port, counting every call into the metrics `metrics()` returns at the time (none
 * before the agent runs, nor without the HTTP server: then calls pass straight through).
 */
export function meteredProvider(inner: DnsProvider, metrics: () => Metrics | null): DnsProvider {
  async function count<T>(endpoint: ApiEndpoint, call: () => Promise<T>): Promise<T> {
    try {
      const value = await call();
      metrics()?.apiCall(endpoint, 'ok');
      return value;
    } catch (err) {
      const result = apiResultOf(err);
      if (result !== null) metrics()?.apiCall(endpoint, result);
      throw err;
    }
  }
  return {
    listZones: (signal) => count('list_zones', () => inner.listZones(signal)),
    listRecords: (zoneId, filter, signal) =>
      count('list_records', () => inner.listRecords(zoneId, filter, signal)),
    createRecord: (zoneId, record, signal) =>
      count('create_record', () => inner.createRecord(zoneId, record, signal)),
    patchRecord: (zoneId, patch, signal) =>
      count('patch_record', () => inner.patchRecord(zoneId, patch, signal)),
    deleteRecord: async (zoneId, recordId, signal) => {
      await count('delete_record', () => inner.deleteRecord(zoneId, recordId, signal));
      metrics()?.dnsWrite('delete');
    },
    batch: (zoneId, ops, signal) => count('batch', () => inner.batch(zoneId, ops, signal)),
  };
}

/** One probe, reporting each result it hands back. `kind` and `target` stay live (a router probe may fall back to TCP). */
function meteredProbe(
  inner: Probe,
  target: ProbeTarget,
  done: (r: ProbeTarget, ok: boolean, s: number | null) => void,
): Probe {
  const probe: Probe = {
    get target() {
      return inner.target;
    },
    get kind() {
      return inner.kind;
    },
    async run(signal) {
      const result = await inner.run(signal);
      done(target, result.ok, result.latencyMs === null ? null : result.latencyMs / 1000);
      return result;
    },
  };
  if (inner.takeNotices) probe.takeNotices = () => inner.takeNotices?.() ?? [];
  return probe;
}

/**
 * The probe set, recording every result into `metrics` (when there are metrics) and calling `beat`
 * once per finished probe: a probe loop that stops turning stops beating.
 */
export function meteredProbes(set: ProbeSet, o: { metrics: Metrics | null; beat: () => void }): ProbeSet {
  const done = (target: ProbeTarget, ok: boolean, seconds: number | null) => {
    o.metrics?.probe(target, ok, seconds);
    o.beat();
  };
  return {
    router: set.router?.map((p) => meteredProbe(p, 'router', done)) ?? null,
    wan: set.wan.map((p) => meteredProbe(p, 'wan', done)),
  };
}

/** DNS writes, IP changes, health and power cycles, from the events the services emit. */
export function meterEvents(events: EventBus, metrics: Metrics): void {
  events.on('metrics', (e) => {
    switch (e.type) {
      case 'dns_updated':
        metrics.dnsWrite(e.action);
        break;
      case 'ip_changed':
        // The first address ever seen is not a change.
        if (e.old !== null) metrics.ipChange(e.family);
        break;
      case 'health_changed':
        metrics.health(e.to);
        break;
      case 'power_cycle_finished':
        metrics.powerCycle(e.ok ? 'ok' : 'failed');
        break;
      case 'power_cycle_skipped':
        metrics.powerCycle('skipped');
        break;
      default:
        break;
    }
  });
}
