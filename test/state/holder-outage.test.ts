/**
 * A state file that cannot be written (full SD card, read-only mount) is said once per outage at
 * error level, and once when saving works again; the agent keeps running either way.
 */
import { describe, expect, it } from 'vitest';
import { StateHolder } from '../../src/state/holder.js';
import { freshState, type PersistedState } from '../../src/state/schema.js';
import { logSink } from '../helpers/log-sink.js';

describe('StateHolder save outages', () => {
  it('save failing/error once per outage, one line when it works again, and again for the next outage', async () => {
    let failure: string | null = null;
    const saved: string[] = [];
    const store = {
      path: 'memory',
      load: async () => ({ state: freshState(), outcome: 'new' as const }),
      save: async (s: PersistedState) => {
        if (failure) throw new Error(failure);
        saved.push(s.public_ip.ipv4 ?? '');
      },
    };
    const sink = logSink();
    let now = Date.parse('2026-01-01T00:00:00Z');
    const holder = new StateHolder(freshState(), store, sink.logger, () => now);
    const persistIp = (ip: string) => {
      now += 60_000;
      holder.state.public_ip.ipv4 = ip;
      return holder.persist();
    };

    expect(await persistIp('81.2.69.1')).toBe(true);
    failure = 'ENOSPC: no space left on device, write';
    expect(await persistIp('81.2.69.2')).toBe(false);
    expect(await persistIp('81.2.69.3')).toBe(false);
    failure = null;
    expect(await persistIp('81.2.69.4')).toBe(true);
    expect(await persistIp('81.2.69.5')).toBe(true);
    failure = 'EROFS: read-only file system, open';
    expect(await persistIp('81.2.69.6')).toBe(false);

    expect(saved).toEqual(['81.2.69.1', '81.2.69.4', '81.2.69.5']);
    const said = sink
      .lines()
      .filter((l) => l.level !== 'debug')
      .map((l) => `${String(l.level)}: ${String(l.msg)}`);
    expect(said).toEqual([
      'error: ENOSPC: no space left on device, write',
      'info: State is being saved again.',
      'error: EROFS: read-only file system, open',
    ]);
  });
});
