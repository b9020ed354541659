/**
 * The status page (SPEC §9; docs/status-page.md): follows the agent's state and events over
 * Server-Sent Events and draws them; its buttons post the §6 commands.
 */
import { runFromButton, wireReboot } from './actions.js';
import { byId, h, setText } from './dom.js';
import { clockTime, eventSentence, health, when } from './format.js';
import { connect, type LinkState } from './live.js';
import { render } from './render.js';
import { LatencyRing } from './samples.js';
import type { AgentEvent, StatusDocument } from './types.js';

const MAX_ACTIVITY = 50;
const ring = new LatencyRing();
let last: StatusDocument | null = null;
let lastAt = 0;
let firstRender = true;

const hooks = { onUnauthorized: () => showLogin() };

function showLogin(): void {
  byId('login').hidden = false;
  setLink('unauthorized');
}

function onState(doc: StatusDocument): void {
  const now = Date.now();
  last = doc;
  lastAt = now;
  ring.add(doc, now);
  render(doc, ring, now);
  document.title = `${health(doc.health).label} · DDNS Watchdog`;
  if (firstRender) {
    firstRender = false;
    byId('loading').hidden = true;
    for (const id of ['sec-now', 'sec-recovery', 'sec-dns', 'sec-health', 'sec-outages', 'sec-activity']) {
      byId(id).hidden = false;
    }
    for (const id of ['sync', 'reboot', 'recovery-switch']) byId<HTMLButtonElement>(id).disabled = false;
    performance.mark('ddnsw:records-rendered');
  }
  byId('main').classList.remove('stale');
  byId('banner-conn').hidden = true;
}

function onEvent(e: AgentEvent): void {
  const list = byId('activity');
  list.querySelector('.empty')?.remove();
  const { text, tone } = eventSentence(e);
  list.prepend(
    h(
      'li',
      { class: `tone-${tone}` },
      h('time', { datetime: e.at, title: e.at }, when(e.at, Date.now())),
      text,
    ),
  );
  while (list.children.length > MAX_ACTIVITY) list.lastElementChild?.remove();
}

function setLink(state: LinkState): void {
  const conn = byId('conn');
  conn.dataset.state = state;
  const text =
    state === 'live'
      ? 'Live'
      : state === 'connecting'
        ? 'Connecting…'
        : state === 'unauthorized'
          ? 'Logged out'
          : 'Disconnected';
  setText(byId('conn-text'), text);
  const banner = byId('banner-conn');
  if (state === 'live' || state === 'connecting') return;
  byId('main').classList.add('stale');
  const asOf = lastAt ? ` What you see is from ${clockTime(lastAt)}.` : '';
  banner.textContent =
    state === 'unauthorized'
      ? 'Live updates stopped: this page needs the http_token again (log in below).'
      : state === 'lost'
        ? `Live updates are interrupted: the agent cannot be reached. Reconnecting by itself…${asOf}`
        : `The agent refused live updates for now; trying again shortly.${asOf}`;
  banner.hidden = false;
}

function start(): void {
  const list = byId('activity');
  list.append(h('li', { class: 'empty' }, 'Nothing yet: events appear here as they happen.'));
  const sync = byId<HTMLButtonElement>('sync');
  sync.addEventListener('click', () => void runFromButton(sync, 'sync', {}, hooks));
  const sw = byId<HTMLButtonElement>('recovery-switch');
  sw.addEventListener('click', () => {
    const enabled = sw.getAttribute('aria-checked') !== 'true';
    void runFromButton(sw, 'recovery', { enabled }, hooks);
  });
  wireReboot(hooks);
  connect({
    state: onState,
    event: onEvent,
    link: (s) => (s === 'unauthorized' ? showLogin() : setLink(s)),
  });
  // Relative times ("5 min ago") and the latency window move on with the clock, not with the data.
  setInterval(() => {
    if (last) {
      ring.prune(Date.now());
      render(last, ring, Date.now());
    }
  }, 30_000);
  addEventListener('pagehide', () => ring.save());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') ring.save();
  });
}

start();
