/**
 * A clock that went back (corrected by NTP, or a Pi that booted before NTP set the time) leaves
 * times in the future in the state file. They are clamped to now on load, with one warning, so
 * no change waits "until tomorrow".
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { deferUntil, gate } from '../../src/domain/dns-plan.js';
import { StateHolder } from '../../src/state/holder.js';
import { freshRecordState, freshState, type PersistedState } from '../../src/state/schema.js';
import { logSink } from '../helpers/log-sink.js';
import { makeWorld, type World } from '../helpers/world.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const DAY = 86_400_000;

function stateAt(times: {
  last_update?: number;
  next_attempt_at?: number;
  api_checked_at?: number;
  checked_at?: number;
  last_sync?: number;
  last_change?: number;
}): PersistedState {
  const s = freshState();
  const r = freshRecordState('home.example.com', 'A');
  r.status = 'in_sync';
  r.content = '81.2.69.160';
  r.last_written_content = '81.2.69.160';
  r.last_update = times.last_update ?? null;
  r.next_attempt_at = times.next_attempt_at ?? null;
  r.api_checked_at = times.api_checked_at ?? null;
  s.dns.records['home.example.com/A'] = r;
  s.public_ip.checked_at = times.checked_at ?? null;
  s.dns.last_sync = times.last_sync ?? null;
  s.dns.last_change = times.last_change ?? null;
  return s;
}

function warnings(sink: ReturnType<typeof logSink>) {
  return sink.lines().filter((l) => l.level === 'warn' || l.level === 'error');
}

describe('StateHolder: times in the future are clamped on load', () => {
  it('clock went back a day/every time ≤ now, one warning saying what happened and what was done', () => {
    const sink = logSink();
    const s = stateAt({
      last_update: NOW + DAY,
      next_attempt_at: NOW + 365 * DAY,
      api_checked_at: NOW + DAY,
      checked_at: NOW + DAY,
      last_sync: NOW + DAY,
      last_change: NOW + DAY,
    });
    const holder = new StateHolder(s, null, sink.logger, () => NOW);
    const r = holder.state.dns.records['home.example.com/A']!;
    for (const t of [
      r.last_update,
      r.next_attempt_at,
      r.api_checked_at,
      holder.state.public_ip.checked_at,
      holder.state.dns.last_sync,
      holder.state.dns.last_change,
    ]) {
      expect(t).not.toBeNull();
      expect(t!).toBeLessThanOrEqual(NOW);
    }
    const w = warnings(sink);
    expect(w).toHaveLength(1);
    expect(w[0]!.level).toBe('warn');
    expect(String(w[0]!.msg)).toMatch(/future/);
    expect(String(w[0]!.msg)).toMatch(/clock/);
    expect(String(w[0]!.msg)).toMatch(/NTP/);
    expect(String(w[0]!.msg)).toMatch(/clamped to now/);
    // The record is no longer held back: no retry gate, and min_update_interval counts from now.
    expect(gate(r, NOW, 'key')).toBeNull();
    expect(deferUntil(r, NOW, 60_000)).toBe(NOW + 60_000);
  });

  it('clock went back/only next_attempt_at far ahead (beyond any retry we schedule) → clamped, one warning', () => {
    const sink = logSink();
    const s = stateAt({ last_update: NOW - DAY, next_attempt_at: NOW + 30 * DAY, last_sync: NOW - 60_000 });
    const holder = new StateHolder(s, null, sink.logger, () => NOW);
    expect(holder.state.dns.records['home.example.com/A']!.next_attempt_at).toBe(NOW);
    expect(holder.state.dns.records['home.example.com/A']!.last_update).toBe(NOW - DAY);
    expect(warnings(sink)).toHaveLength(1);
  });

  it('clock fine/a pending retry a few minutes ahead is kept (a restart does not skip the backoff), no warning', () => {
    const sink = logSink();
    const s = stateAt({ last_update: NOW - DAY, next_attempt_at: NOW + 300_000, last_sync: NOW - 60_000 });
    const holder = new StateHolder(s, null, sink.logger, () => NOW);
    expect(holder.state.dns.records['home.example.com/A']!.next_attempt_at).toBe(NOW + 300_000);
    expect(holder.state.dns.last_sync).toBe(NOW - 60_000);
    expect(warnings(sink)).toEqual([]);
  });

  it('clock fine/times in the past are left alone, no warning', () => {
    const sink = logSink();
    const s = stateAt({ last_update: NOW - DAY, api_checked_at: NOW - 1, checked_at: NOW, last_sync: NOW });
    const before = JSON.stringify(s);
    new StateHolder(s, null, sink.logger, () => NOW);
    expect(JSON.stringify(s)).toBe(before);
    expect(warnings(sink)).toEqual([]);
  });
});

describe('end to end: a state file from "tomorrow" does not freeze DNS', () => {
  let world: World | null = null;
  afterEach(async () => {
    await world?.close();
    world = null;
  });

  it('after a restart with future times the IP change is written within min_update_interval, not a day later', async () => {
    world = await makeWorld({
      records: ['home.example.com'],
      overrides: { min_update_interval_seconds: 60 },
    });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(world.cf.records({ name: 'home.example.com', type: 'A' }).map((r) => r.content)).toEqual([
      '81.2.69.160',
    ]);
    await world.agent.stop();
    // The clock is corrected backwards by a day while the agent is down.
    const file = `${world.config.state_dir}/state.json`;
    const saved = JSON.parse(await readFile(file, 'utf8'));
    const now = world.clock.now();
    const rec = saved.dns.records['home.example.com/A'];
    rec.last_update = now + DAY;
    rec.next_attempt_at = now + 365 * DAY;
    saved.dns.last_sync = now + DAY;
    saved.public_ip.checked_at = now + DAY;
    await writeFile(file, JSON.stringify(saved));
    world.sink.clear();

    const { Agent } = await import('../../src/agent.js');
    const again = await Agent.create({
      config: world.config,
      logger: world.sink.logger,
      clock: world.clock,
      random: () => 0.5,
      mqtt: false,
    });
    try {
      const clampWarnings = world.sink.lines().filter((l) => /future/.test(String(l.msg)));
      expect(clampWarnings).toHaveLength(1);
      world.setIp('81.2.69.190');
      await again.reconciler.runCycle({ reason: 'test' });
      await world.clock.advance(61_000);
      await again.reconciler.runCycle({ reason: 'test' });
      expect(world.cf.records({ name: 'home.example.com', type: 'A' }).map((r) => r.content)).toEqual([
        '81.2.69.190',
      ]);
      expect(again.state.state.dns.records['home.example.com/A']?.status).toBe('in_sync');
    } finally {
      await again.stop();
    }
  });
});
