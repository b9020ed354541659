/**
 * Draws one state document into the page. Every call redraws from the document alone (plus the
 * latency samples and the current time), so a missed push never leaves the page half-updated.
 */
import { outageStrip, sparkline, sparkStats } from './charts.js';
import { byId, h, replaceIfChanged, setText } from './dom.js';
import {
  duration,
  health,
  isDown,
  ms,
  outageAction,
  percent,
  RECOVERY_STATE,
  recordStatus,
  relative,
  when,
} from './format.js';
import { type LatencyRing, WINDOW_MS } from './samples.js';
import type { Outage, StatusDocument } from './types.js';

const STRIP_DAYS = 7;

export function render(state: StatusDocument, ring: LatencyRing, now: number): void {
  renderNow(state, now);
  renderRecords(state, now);
  renderHealth(state, ring, now);
  renderOutages(state.uptime?.outages ?? [], now);
  renderRecovery(state, now);
  setText(byId('version'), state.version ?? '');
  byId('mode').hidden = state.mode !== 'dry-run';
}

function timeEl(iso: string | null, now: number): HTMLElement {
  if (iso === null) return h('span', { class: 'none' }, 'never');
  return h('time', { datetime: iso, title: iso }, `${when(iso, now)} (${relative(iso, now)})`);
}

/** The open outage, if the log's newest one has not ended. */
function openOutage(state: StatusDocument): Outage | null {
  const first = state.uptime?.outages?.[0];
  return first && first.end === null ? first : null;
}

function renderNow(state: StatusDocument, now: number): void {
  const hl = health(state.health);
  const badge = byId('health-badge');
  setText(badge, hl.label);
  badge.className = `badge big ${hl.tone}`;
  setText(byId('health-detail'), hl.detail);
  const open = openOutage(state);
  const since =
    open !== null
      ? `Down since ${when(open.start, now)} (${duration(now - Date.parse(open.start))}).`
      : state.uptime?.ready_since
        ? `Up since ${when(state.uptime.ready_since, now)} (${relative(state.uptime.ready_since, now)}).`
        : '';
  setText(byId('health-since'), since);

  const ip = state.public_ip;
  setText(byId('ipv4'), ip?.ipv4 ?? 'none');
  setText(byId('ipv6'), ip?.ipv6 ?? 'none');
  const verified = byId('ip-verified');
  replaceIfChanged(
    verified,
    ip?.verified
      ? h('span', { class: 'badge ok' }, 'Verified')
      : h('span', { class: 'badge warn' }, 'Not verified: the sources did not agree (yet)'),
  );
  const sources = ip?.sources_agreeing ?? [];
  replaceIfChanged(
    byId('ip-sources'),
    sources.length === 0
      ? h('span', { class: 'none' }, 'none')
      : h('ul', { class: 'plain' }, ...sources.map((s) => h('li', { class: 'mono' }, s))),
  );
  replaceIfChanged(byId('ip-checked'), timeEl(ip?.checked_at ?? null, now));

  const banner = byId('banner-down');
  if (isDown(state.health)) {
    const text = `${hl.label}${open ? ` since ${when(open.start, now)} (${duration(now - Date.parse(open.start))})` : ''}. ${hl.detail}`;
    const rec = RECOVERY_STATE[state.recovery?.state ?? ''] ?? '';
    const lines = [h('p', {}, text)];
    if (rec) lines.push(h('p', { class: 'sub' }, `Recovery: ${rec}`));
    replaceIfChanged(banner, ...lines);
    banner.hidden = false;
  } else {
    banner.hidden = true;
    banner.replaceChildren();
  }
}

function renderRecords(state: StatusDocument, now: number): void {
  const records = Object.entries(state.dns?.records ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const rows = records.map(([key, r]) => {
    const st = recordStatus(r.status);
    const name = key.endsWith('/AAAA') ? key.slice(0, -5) : key;
    return h(
      'tr',
      { 'data-record': key },
      h('td', { class: 'name', 'data-label': 'Name' }, name),
      h('td', { 'data-label': 'Type' }, r.type),
      h('td', { class: r.content ? 'mono' : 'none', 'data-label': 'Content' }, r.content ?? 'none'),
      h('td', { 'data-label': 'Status' }, h('span', { class: `badge ${st.tone}` }, st.label)),
      h('td', { 'data-label': 'Last update' }, timeEl(r.last_update, now)),
      h('td', { class: r.error ? 'error' : 'none', 'data-label': 'Last error' }, r.error ?? 'none'),
    );
  });
  if (rows.length === 0) {
    rows.push(h('tr', {}, h('td', { colspan: 6, class: 'none' }, 'No records are configured (records).')));
  }
  replaceIfChanged(byId('records'), ...rows);
  const dns = state.dns;
  const counts = new Map<string, number>();
  for (const [, r] of records) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const parts = [...counts].map(([status, n]) => `${n} ${recordStatus(status).label.toLowerCase()}`);
  setText(
    byId('dns-summary'),
    `${records.length} record${records.length === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''}. Last sync ${relative(dns?.last_sync ?? null, now)}; last change ${relative(dns?.last_change ?? null, now)}.`,
  );
}

function renderHealth(state: StatusDocument, ring: LatencyRing, now: number): void {
  for (const key of ['router', 'wan'] as const) {
    const probe = state.probes?.[key];
    const nowText =
      probe?.ok === false
        ? `failing${probe.failure ? `: ${probe.failure}` : ''}`
        : ms(probe?.latency_ms ?? null);
    setText(byId(`lat-${key}-now`), nowText);
    const stats = sparkStats(ring.samples, key);
    const wrap = byId(`spark-${key}`);
    if (stats.count === 0) {
      replaceIfChanged(
        wrap,
        h('p', { class: 'spark-empty' }, 'No samples yet: they arrive with each probe round.'),
      );
      setText(byId(`lat-${key}-stats`), '');
    } else {
      wrap.replaceChildren(sparkline(ring.samples, key, now, WINDOW_MS));
      const fails = stats.failures ? `, ${stats.failures} failed` : '';
      setText(
        byId(`lat-${key}-stats`),
        `${stats.count} probe${stats.count === 1 ? '' : 's'}: median ${ms(stats.median)}, highest ${ms(stats.max)}${fails}.`,
      );
    }
  }
  const up = state.uptime;
  setText(byId('avail-24h'), percent(up?.availability_24h ?? null));
  setText(byId('avail-7d'), percent(up?.availability_7d ?? null));
  setText(byId('avail-30d'), percent(up?.availability_30d ?? null));
}

function outageEnd(o: Outage, now: number): number {
  return o.end === null ? now : Date.parse(o.end);
}

function renderOutages(outages: readonly Outage[], now: number): void {
  const recent = outages.filter((o) => outageEnd(o, now) >= now - STRIP_DAYS * 86_400_000);
  const total = recent.reduce((sum, o) => sum + Math.max(0, outageEnd(o, now) - Date.parse(o.start)), 0);
  setText(
    byId('outage-summary'),
    recent.length === 0
      ? 'No outages in the last 7 days.'
      : `${recent.length} outage${recent.length === 1 ? '' : 's'} in the last 7 days, ${duration(total)} in total.`,
  );
  byId('outage-strip').replaceChildren(outageStrip(outages, now, STRIP_DAYS));
  const items = outages.map((o) => {
    const hl = health(o.class);
    const length = duration(outageEnd(o, now) - Date.parse(o.start));
    return h(
      'li',
      { class: `o-${o.class.replace(/[^a-z_]/g, '')}` },
      h('span', { class: 'what' }, hl.label),
      ' ',
      o.end === null ? h('span', { class: 'open-now' }, `ongoing, ${length} so far`) : `for ${length}`,
      h('br'),
      h('span', { class: 'sub' }, `${when(o.start, now)} · ${outageAction(o.action)}`),
    );
  });
  replaceIfChanged(
    byId('outages'),
    ...(items.length ? items : [h('li', { class: 'empty' }, 'The outage log is empty.')]),
  );
}

function renderRecovery(state: StatusDocument, now: number): void {
  const r = state.recovery;
  const sw = byId<HTMLButtonElement>('recovery-switch');
  sw.setAttribute('aria-checked', String(r?.enabled === true));
  setText(byId('recovery-switch-text'), r?.enabled ? 'On' : 'Off');
  setText(byId('recovery-state'), RECOVERY_STATE[r?.state ?? ''] ?? r?.state ?? '');
  setText(
    byId('recovery-budget'),
    r?.budget_remaining === null || r?.budget_remaining === undefined
      ? 'none: no plug is configured'
      : `${r.budget_remaining} power cycle${r.budget_remaining === 1 ? '' : 's'}`,
  );
  replaceIfChanged(byId('recovery-last'), timeEl(r?.last_power_cycle ?? null, now));
  setText(byId('recovery-total'), String(r?.power_cycles_total ?? 0));
  const acted = (state.uptime?.outages ?? []).filter((o) => o.action !== null && o.action !== 'none');
  const items = acted
    .slice(0, 10)
    .map((o) =>
      h(
        'li',
        {},
        h('time', { datetime: o.start }, when(o.start, now)),
        `${outageAction(o.action)[0]!.toUpperCase()}${outageAction(o.action).slice(1)} during “${health(o.class).label}”.`,
      ),
    );
  replaceIfChanged(
    byId('recovery-history'),
    ...(items.length ? items : [h('li', { class: 'empty' }, 'Recovery has not acted yet.')]),
  );
}
