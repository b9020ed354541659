/**
 * The words of the health state machine: one log line per transition, saying what happened and
 * what to do next. Pure.
 */
import type { Health } from './health.js';

/** The log line of a transition: what happened and what to do next. */
export function transitionMessage(from: Health, to: Health, reason: string): string {
  return `Health changed from ${from} to ${to}: ${reason}. ${ADVICE[to]}`;
}

const ADVICE: Record<Health, string> = {
  probing: 'The probes are being judged again.',
  ready: 'The internet is reachable; nothing to do.',
  degraded:
    "The internet works, but poorly; no power cycle is made for this. If it lasts, check the line and the ISP's status page (a WAN target that never answers can be removed from wan_targets).",
  wan_down:
    "The internet is not reachable: check the modem's lights and the ISP's status page. With Auto recovery on and a plug configured, the router is power-cycled once this has lasted wan_down_after_seconds.",
  router_down:
    'The router does not answer either: check its power and the cable or Wi-Fi to this host. It is power-cycled for this only with recover_when_router_down: true.',
  self_down:
    'This host itself is off the network: check its cable or Wi-Fi and its network settings. The router is never power-cycled for this.',
  intercepted:
    'Something between here and the internet answers with a foreign certificate (a captive portal, an ISP notice page, an intercepting proxy): open any web page from this network to see it. The router is never power-cycled for this.',
  recovering: 'No judgement until the boot grace ends.',
};
