/**
 * The live connection: one EventSource on `events` (relative, so it works under any path prefix).
 * The browser reconnects by itself after a dropped stream; when the server refuses the stream
 * (401 after the agent restarted, 503 when too many pages are open) the browser gives up, so this
 * asks `state` once to learn why and opens a new stream after a growing pause. No polling: the
 * data only ever comes from the stream.
 */
import type { AgentEvent, StatusDocument } from './types.js';

export type LinkState = 'connecting' | 'live' | 'lost' | 'closed' | 'unauthorized';

export interface LiveHandlers {
  state(doc: StatusDocument): void;
  event(e: AgentEvent): void;
  link(state: LinkState): void;
}

export function connect(handlers: LiveHandlers): () => void {
  let source: EventSource | null = null;
  let retryMs = 5_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const open = () => {
    if (stopped) return;
    source = new EventSource('events');
    source.addEventListener('open', () => {
      retryMs = 5_000;
      handlers.link('live');
    });
    source.addEventListener('state', (m) => {
      const doc = parse<StatusDocument>((m as MessageEvent<string>).data);
      if (doc && typeof doc === 'object') handlers.state(doc);
    });
    source.addEventListener('event', (m) => {
      const e = parse<AgentEvent>((m as MessageEvent<string>).data);
      if (e && typeof e.type === 'string') handlers.event(e);
    });
    source.addEventListener('error', () => {
      if (!source) return;
      if (source.readyState === EventSource.CONNECTING) {
        handlers.link('lost');
        return;
      }
      // CLOSED: the server answered, but not with a stream. Find out why, then try again later.
      source.close();
      source = null;
      void whyClosed().then((unauthorized) => {
        if (stopped) return;
        handlers.link(unauthorized ? 'unauthorized' : 'closed');
        if (unauthorized) return;
        timer = setTimeout(open, retryMs);
        retryMs = Math.min(retryMs * 2, 60_000);
      });
    });
  };
  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    source?.close();
  };
}

async function whyClosed(): Promise<boolean> {
  try {
    const res = await fetch('state', { headers: { Accept: 'application/json' }, cache: 'no-store' });
    await res.text();
    return res.status === 401;
  } catch {
    return false;
  }
}

function parse<T>(text: string): T | null {
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}
