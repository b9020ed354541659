/**
 * The simulated world the demo's agent lives in, all on 127.0.0.1: an ISP that hands out public
 * addresses, three IP echo services, Cloudflare (API + DoH), a router with its WAN line (the WAN
 * targets), and a Tasmota plug that powers the router. The world can be broken the ways a real
 * home network breaks: the ISP changes the address, the line drops (the router still answers),
 * and the plug cuts the router's power — after which the router boots, the line comes back, and
 * the ISP hands out a new address, as a real router reboot brings. Every change is told to `say`.
 */
import type { Clock } from '../clock.js';
import { type DemoCloudflare, startDemoCloudflare } from './cloudflare.js';
import { DEMO_PLUG_TOPIC, DEMO_RECORDS, DEMO_ZONE } from './config.js';
import { type IpEcho, startIpEcho } from './ip-echo.js';
import { type DemoRouter, startDemoRouter } from './router.js';
import { type DemoPlug, startDemoPlug } from './tasmota.js';
import { type DemoWan, startDemoWan } from './wan.js';

/** How long the router takes to boot once its power is back (about the demo's boot grace). */
export const ROUTER_BOOT_MS = 4000;
/** The line comes up at most this long after the router booted (see `lineSync`). */
const LINE_SYNC_MAX_MS = 10_000;
/** How long after the agent's refused attempt the line comes up. */
const LINE_SYNC_SETTLE_MS = 300;

/**
 * The addresses the ISP hands out, in turn: public, routable-looking IPv4 addresses (not private,
 * documentation or Cloudflare ranges, which the agent rightly refuses). Nothing is ever sent to them.
 */
const ISP_POOL = Array.from({ length: 90 }, (_, i) => `81.2.69.${160 + i}`);

export interface DemoWorld {
  readonly cloudflare: DemoCloudflare;
  readonly ipEcho: IpEcho;
  readonly router: DemoRouter;
  readonly wan: DemoWan;
  /** The home's public address now. */
  readonly ip: string;
  /** The WAN line works (and the router has power). */
  readonly online: boolean;
  /** Writes the agent made through the Cloudflare API so far. */
  readonly apiWrites: number;
  /** The ISP hands out a new address (the line stays up); returns it. */
  changeIp(): string;
  /** The line drops; the router keeps answering. */
  dropWan(): void;
  /** The ISP fixes the line by itself (no power cycle needed). */
  restoreWan(): void;
  /** Connects the Tasmota plug to the agent's broker. */
  connectPlug(brokerUrl: string): Promise<DemoPlug>;
  /** Whether Cloudflare holds `ip` for every demo record (what DoH answers too). */
  dnsHolds(ip: string): boolean;
  close(): Promise<void>;
}

export async function startDemoWorld(o: {
  clock: Clock;
  token: string;
  say: (text: string) => void;
}): Promise<DemoWorld> {
  const { clock, say } = o;
  let poolIndex = 0;
  let ip = ISP_POOL[0]!;
  let lineUp = true;
  let apiWrites = 0;
  const closing = new AbortController();
  let plug: DemoPlug | null = null;

  const cloudflare = await startDemoCloudflare({
    zone: DEMO_ZONE,
    token: o.token,
    onWrite: () => {
      apiWrites++;
    },
  });
  const ipEcho = await startIpEcho(() => ip);
  const router = await startDemoRouter(clock);
  const wan = await startDemoWan(3);

  /** Everything beyond the router answers only while the line is up and the router has power. */
  const applyReachability = (): void => {
    const online = lineUp && router.powered;
    wan.up = online;
    cloudflare.service.reachable = online;
    for (const s of ipEcho.services) s.reachable = online;
  };

  const nextIp = (): string => {
    poolIndex = (poolIndex + 1) % ISP_POOL.length;
    ip = ISP_POOL[poolIndex]!;
    return ip;
  };

  /**
   * After the boot the modem syncs the line. It comes up just after the agent next tries to reach
   * beyond the router (its DNS loop asking an IP echo service, refused), or after LINE_SYNC_MAX_MS.
   * That keeps the story in one order on every run: the DNS loop has just asked, so the
   * watchdog's next probe round, the first to reach the internet after the power cycle, runs its
   * own DNS cycle at once, seconds before the loop asks again; `WAN restored` follows when the
   * boot grace ends.
   */
  const lineSync = async (): Promise<void> => {
    await new Promise<void>((resolve) => {
      for (const s of ipEcho.services) s.onRefused = () => resolve();
      void clock.sleep(LINE_SYNC_MAX_MS, closing.signal).then(() => resolve());
    });
    for (const s of ipEcho.services) s.onRefused = null;
    // The rest of that attempt (the other sources, asked at the same moment) is refused too.
    await clock.sleep(LINE_SYNC_SETTLE_MS, closing.signal);
  };

  const boot = async (): Promise<void> => {
    await clock.sleep(ROUTER_BOOT_MS, closing.signal);
    if (closing.signal.aborted || !plug?.on) return;
    await router.powerOn();
    say('router is up (its probe answers again); the modem is syncing the line');
    await lineSync();
    if (closing.signal.aborted || !router.powered) return;
    lineUp = true;
    const fresh = nextIp();
    applyReachability();
    say(`the line is up: the WAN is back, and the ISP handed out a new address, ${fresh}`);
  };

  const onSwitch = async (on: boolean): Promise<void> => {
    if (!on) {
      lineUp = false;
      await router.powerOff();
      applyReachability();
      say('plug switched off: the router has no power (its probe gets no answer now)');
      return;
    }
    say(`plug switched on: the router boots (${ROUTER_BOOT_MS / 1000} s)`);
    // The boot runs beside the plug: the plug reports "ON" at once, as a real one does.
    void boot();
  };

  return {
    cloudflare,
    ipEcho,
    router,
    wan,
    get ip() {
      return ip;
    },
    get online() {
      return lineUp && router.powered;
    },
    get apiWrites() {
      return apiWrites;
    },
    changeIp() {
      const old = ip;
      const fresh = nextIp();
      say(`the ISP changed the home's public address: ${old} → ${fresh}`);
      return fresh;
    },
    dropWan() {
      lineUp = false;
      applyReachability();
      say('the WAN line dropped: the router still answers, nothing beyond it does');
    },
    restoreWan() {
      lineUp = true;
      applyReachability();
      say('the ISP fixed the line by itself: the WAN is back');
    },
    async connectPlug(brokerUrl) {
      plug = await startDemoPlug({ url: brokerUrl, topic: DEMO_PLUG_TOPIC, clock, onSwitch });
      return plug;
    },
    dnsHolds(want) {
      const records = cloudflare.records();
      return DEMO_RECORDS.every((name) =>
        records.some((r) => r.name === name && r.type === 'A' && r.content === want),
      );
    },
    async close() {
      closing.abort();
      await plug?.close();
      await Promise.all([cloudflare.close(), ipEcho.close(), router.close(), wan.close()]);
    },
  };
}
