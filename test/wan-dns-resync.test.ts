/**
 * The DNS resync when the WAN comes back (SPEC §5: "When the WAN returns, a DNS cycle runs at once
 * (the IP has likely changed)"), found missing or held by a hostile review (each failed before):
 * - after a power cycle the WAN answering again syncs DNS at once, not when the boot grace ends
 *   (up to 10 min later, when `wan_restored` comes);
 * - a manual reboot from `ready` brings no `wan_restored` at all: DNS is synced all the same;
 * - the backoff that network errors built up during the outage (a `local` IP source keeps
 *   verifying while the WAN is down) does not hold the resync of a changed IP.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalIpSource } from '../src/ip/local-source.js';
import { makeTestPki, type TestPki } from './fakes/tls-server.js';
import { makeWatchdogWorld, until, type WatchdogWorld } from './helpers/world.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const A = '81.2.69.160';
const B = '81.2.69.201';
const KEY = 'home.example.com/A';

async function world(o: Parameters<typeof makeWatchdogWorld>[1] = {}): Promise<WatchdogWorld> {
  const w = await makeWatchdogWorld(pki, o);
  cleanups.push(() => w.close());
  return w;
}
const types = (w: WatchdogWorld) => w.obs.events().map((e) => e.type);
const content = (w: WatchdogWorld) => w.cf.records({ name: 'home.example.com', type: 'A' })[0]?.content;

describe('the DNS resync after the WAN returns', () => {
  it('after a power cycle with the default boot grace, the WAN answering again resyncs DNS within a few rounds (not after the 10-min grace)', async () => {
    const w = await world({ overrides: { boot_grace_seconds: 600 } });
    await w.roundsUntil(() => w.agent.watchdog?.health === 'ready', 'ready', 4);
    await until(() => content(w) === A, 'initial record');
    w.setWan('down');
    w.setIp(B); // new lease during the outage
    await w.roundsUntil(() => types(w).includes('power_cycle_finished'), 'power cycle finished', 20);
    // The router is back, the WAN answers at once with the new IP.
    w.setWan('up');
    const wd = w.agent.watchdog!;
    // The first round with the WAN answering starts the DNS cycle.
    await w.roundsUntil(() => content(w) === B, 'DNS on the new address', 2);
    expect(wd.health).toBe('recovering'); // health stays in its boot grace, by design
    expect(w.sink.lines().map((l) => String(l.msg))).toContainEqual(
      expect.stringMatching(/^The internet answers again after the power cycle: syncing DNS now/),
    );
  });

  it('a manual reboot (Reboot router button) while ready: once the router is back, DNS is resynced (the IP has likely changed)', async () => {
    const w = await world();
    await w.roundsUntil(() => w.agent.watchdog?.health === 'ready', 'ready', 4);
    await until(() => content(w) === A, 'initial record');
    const res = await w.obs.command('reboot', 'PRESS');
    expect(res.ok).toBe(true);
    w.setWan('down'); // the router is off and boots
    w.setIp(B); // the router came back with a new lease
    await w.rounds(2);
    w.setWan('up'); // back within the power cycle / boot grace
    await w.roundsUntil(() => types(w).includes('power_cycle_finished'), 'power cycle finished', 10);
    // No wan_restored comes (health was ready when the cycle started); DNS follows all the same.
    await w.roundsUntil(() => content(w) === B, 'DNS on the new address', 2);
    expect(types(w)).not.toContain('wan_restored');
  });

  it('transient backoff accrued while the WAN was down (a `local` source keeps verifying) does not hold the "wan restored" resync of a changed IP', async () => {
    let ip = A;
    const local = new LocalIpSource({
      id: 'local',
      interfaces: () => ({
        ppp0: [
          {
            address: ip,
            netmask: '255.255.255.255',
            family: 'IPv4',
            mac: '00:00:00:00:00:00',
            internal: false,
            cidr: `${ip}/32`,
          },
        ],
      }),
    });
    const w = await world({
      overrides: { ip_sources: ['local'], ip_quorum: 1, recovery_enabled: false, interval_seconds: 60 },
      agent: { sources: { 4: [local], 6: [] }, random: () => 0.9 },
    });
    await w.roundsUntil(() => w.agent.watchdog?.health === 'ready', 'ready', 4);
    await until(() => content(w) === A, 'initial record');
    // The WAN goes: probes fail, and so does every request to Cloudflare (API and DoH).
    w.setWan('down');
    w.cf.failNext({ reset: true, times: 100_000 });
    w.cf.failNext({ target: 'doh', reset: true, times: 100_000 });
    await w.agent.sync('during outage');
    // Ten minutes of outage: the DNS loop retries on its backoff (retryAt) meanwhile.
    await w.rounds(40);
    const st = w.agent.state.state.dns.records[KEY]!;
    // The WAN returns at an arbitrary moment of the backoff: here, one where the next retry is
    // still more than a minute away (the usual case once the backoff has reached its 5-min cap).
    await w.roundsUntil(
      () => !w.agent.scheduler.running && (st.next_attempt_at ?? 0) - w.clock.now() > 60_000,
      'a moment with the next retry more than a minute away',
      40,
    );
    const failures = st.failures;
    // The WAN comes back, with a new address on the line.
    w.cf.clearFaults();
    ip = B;
    w.setWan('up');
    await w.roundsUntil(() => types(w).includes('wan_restored'), 'wan_restored', 4);
    await until(
      () =>
        w.sink
          .lines()
          .some((l) => l.msg === 'DNS cycle finished' && String(l.reason).includes('wan restored')),
      'the wan restored cycle',
    );
    expect(failures).toBeGreaterThan(0); // the backoff was there, and did not hold the resync
    expect(content(w)).toBe(B);
  });
});
