/**
 * The demo's timeline on the terminal: one line per thing that happened, with the seconds since
 * the demo began and who did it — `world` (what the simulated world did), `agent` (an event on the
 * agent's EventBus, worded for a person), `log` (a warning or error the agent logged). Chapter
 * headings mark the story's steps. Colour only on a terminal, and never with NO_COLOR set.
 */
import type { Clock } from '../clock.js';
import type { AgentEvent } from '../events.js';

export type Who = 'world' | 'agent' | 'log';

export interface Timeline {
  /** One line of the story. */
  line(who: Who, text: string): void;
  /** A chapter heading. */
  chapter(title: string): void;
  /** Free text (the banner, the summary), as is. */
  say(text: string): void;
  /** Milliseconds since the demo began. */
  elapsedMs(): number;
}

export interface TimelineOptions {
  clock: Clock;
  write: (text: string) => void;
  color: boolean;
  /** Long lines are wrapped to this many columns (default 100). */
  width?: number;
}

const COLORS: Record<Who | 'dim' | 'bold', string> = {
  world: '\x1b[36m', // cyan
  agent: '\x1b[32m', // green
  log: '\x1b[33m', // yellow
  dim: '\x1b[2m',
  bold: '\x1b[1m',
};
const RESET = '\x1b[0m';
/** Where a line's text starts: after `  12.3 s  agent  `. */
const INDENT = ' '.repeat(17);

/** Splits `text` into lines of at most `width` characters, at spaces (a longer word stays whole). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    if (current !== '' && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else {
      current = current === '' ? word : `${current} ${word}`;
    }
  }
  lines.push(current);
  return lines;
}

export function createTimeline(o: TimelineOptions): Timeline {
  const start = o.clock.now();
  const paint = (style: keyof typeof COLORS, text: string): string =>
    o.color ? `${COLORS[style]}${text}${RESET}` : text;
  const elapsedMs = (): number => o.clock.now() - start;
  return {
    elapsedMs,
    line(who, text) {
      const seconds = `${(elapsedMs() / 1000).toFixed(1)} s`.padStart(8);
      const [first = '', ...rest] = wrap(text, Math.max(40, (o.width ?? 100) - INDENT.length));
      const more = rest.map((l) => `${INDENT}${l}\n`).join('');
      o.write(`${paint('dim', seconds)}  ${paint(who, who.padEnd(5))}  ${first}\n${more}`);
    },
    chapter(title) {
      o.write(`\n${paint('bold', `── ${title}`)}\n`);
    },
    say(text) {
      o.write(`${text}\n`);
    },
  };
}

/** Whether to colour: a terminal, and the user did not ask for none (https://no-color.org). */
export function wantsColor(
  stream: { isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  return Boolean(stream.isTTY) && (env.NO_COLOR ?? '') === '' && env.TERM !== 'dumb';
}

/** An agent event in words, for the timeline. */
export function describeEvent(event: AgentEvent): string {
  switch (event.type) {
    case 'ip_changed': {
      const family = event.family === 'ipv4' ? 'IPv4' : 'IPv6';
      return event.old === null
        ? `public ${family} is ${event.new} (${event.sources.length} sources agree)`
        : `IP changed: public ${family} ${event.old} → ${event.new} (${event.sources.length} sources agree)`;
    }
    case 'dns_updated':
      return event.action === 'create'
        ? `DNS updated: created ${event.record} ${event.record_type} → ${event.new}`
        : `DNS updated: ${event.record} ${event.record_type} ${event.old ?? '?'} → ${event.new}`;
    case 'dns_update_failed':
      return `DNS update failed for ${event.record} ${event.record_type}: ${event.error}`;
    case 'health_changed':
      return `health ${event.from} → ${event.to}${event.reason ? `: ${event.reason}` : ''}`;
    case 'wan_down':
      return 'WAN down: the router answers, the internet does not';
    case 'wan_restored':
      return `WAN restored after ${Math.round(event.down_seconds)} s`;
    case 'power_cycle_started':
      return `power cycle started: ${event.plug}, off for ${event.off_seconds} s`;
    case 'power_cycle_finished':
      return `power cycle finished: ${event.ok ? 'the plug is back on' : `not confirmed (${event.message ?? 'no answer'})`}`;
    case 'power_cycle_skipped':
      return `power cycle skipped: ${event.reason}`;
  }
}

/** Log messages the timeline already shows as an event (health_changed, with its reason). */
const SHOWN_AS_EVENTS = [/^Health changed from /];

/**
 * A pino destination that shows the agent's warnings and errors on the timeline (each message
 * once per `quietMs`, so an outage does not repeat itself every cycle) and drops the rest.
 */
export function logTap(timeline: Timeline, clock: Clock, quietMs = 30_000): { write(line: string): void } {
  const lastShown = new Map<string, number>();
  return {
    write(line: string) {
      let entry: { level?: unknown; msg?: unknown };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (entry.level !== 'warn' && entry.level !== 'error' && entry.level !== 'fatal') return;
      const msg = typeof entry.msg === 'string' ? entry.msg : '';
      if (msg === '' || SHOWN_AS_EVENTS.some((re) => re.test(msg))) return;
      const now = clock.now();
      const last = lastShown.get(msg);
      if (last !== undefined && now - last < quietMs) return;
      lastShown.set(msg, now);
      timeline.line('log', `${entry.level}: ${msg}`);
    },
  };
}
