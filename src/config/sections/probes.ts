/** SPEC §2 "Probes and health": what is probed to tell a dead router from a dead WAN. */
import { int, list } from '../builders.js';
import { routerHost, routerProbe, wanTarget } from '../fields.js';
import type { Section } from '../key-spec.js';

export const DEFAULT_WAN_TARGETS: readonly string[] = ['1.1.1.1:443', '8.8.8.8:443', '9.9.9.9:443'];

export const PROBES = {
  id: 'probes',
  title: 'Probes and health',
  keys: {
    router_host: {
      schema: routerHost(),
      computed: { by: 'run', text: 'the default gateway (`auto`)' },
      label: 'Router address',
      allowed: 'IPv4/IPv6 address; `auto` (or unset) for the default gateway; empty or `none` disables',
      doc: 'Router to probe, e.g. `192.168.1.1`. IP addresses only, so probes never depend on DNS. Unset, the gateway is found at run time: in the add-on from the Supervisor’s network info, elsewhere from the routing table; a container bridge gateway is not taken (the agent says once that `router_host` should be set).',
    },
    router_probe: {
      schema: routerProbe(),
      default: 'icmp',
      label: 'Router probe',
      allowed: '`icmp`, `tcp:PORT`',
      doc: 'How the router is probed: a ping, or a TCP connection to a port it serves, e.g. `tcp:80`.',
    },
    wan_targets: {
      schema: list(wanTarget(), 'the targets', 'remove the copy'),
      default: DEFAULT_WAN_TARGETS,
      label: 'WAN targets',
      allowed: '`IP:port`, IPv6 as `[addr]:port`; at least one',
      doc: "TCP+TLS handshake targets beyond the router, e.g. `1.1.1.1:443, [2606:4700:4700::1111]:443`; in a YAML list, quote an IPv6 target: `- '[2606:4700:4700::1111]:443'`. The router itself (`router_host`) is refused: it answers whenever the router is up, so the WAN could never be seen down (loopback excepted, where `demo` runs every host on its own port).",
    },
    probe_interval_seconds: {
      schema: int(1, 3600),
      default: 15,
      label: 'Probe interval (seconds)',
      allowed: '1..3600',
      doc: 'Time between probe rounds.',
    },
    probe_timeout_ms: {
      schema: int(50, 30000),
      default: 2000,
      label: 'Probe timeout (ms)',
      allowed: '50..30000',
      doc: 'Deadline of each probe.',
    },
  },
} satisfies Section;
