/**
 * Corrupt state files: the log tells the truth about what was done with them, a corrupt .bak is
 * never dropped silently, and times no clock can show make a file invalid instead of crashing
 * whoever formats them later.
 */
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isoTime, isoTimeOrNull } from '../../src/clock.js';
import {
  freshRecordState,
  freshState,
  type PersistedState,
  persistedStateSchema,
} from '../../src/state/schema.js';
import { JsonFileStore } from '../../src/state/store.js';
import { buildStatus } from '../../src/status.js';
import { logSink } from '../helpers/log-sink.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const ASIDE = `state.json.corrupt-${new Date(NOW).toISOString().replace(/[:.]/g, '-')}`;

async function makeStore() {
  const dir = await mkdtemp(join(tmpdir(), 'ddnsw-state-'));
  const sink = logSink();
  const store = new JsonFileStore<PersistedState>({
    dir,
    schema: persistedStateSchema as never,
    fresh: freshState,
    logger: sink.logger,
    now: () => NOW,
  });
  return { dir, store, sink };
}

function stateWith(ip: string): PersistedState {
  const s = freshState();
  s.public_ip.ipv4 = ip;
  return s;
}

/** The move aside fails (as in a read-only state_dir, which root ignores): its target is a non-empty directory. */
async function blockAside(dir: string) {
  await mkdir(join(dir, ASIDE));
  await writeFile(join(dir, ASIDE, 'x'), 'x');
}

describe('JsonFileStore: the log tells the truth about a corrupt file', () => {
  it('move fails, .bak good → the .bak is loaded; the log says the file could not be moved, why, and what to do', async () => {
    const { store, dir, sink } = await makeStore();
    await writeFile(join(dir, 'state.json.bak'), JSON.stringify(stateWith('81.2.69.1')));
    await writeFile(join(dir, 'state.json'), 'garbage');
    await blockAside(dir);
    const r = await store.load();
    expect(r.outcome).toBe('from_backup');
    expect(r.state.public_ip.ipv4).toBe('81.2.69.1');
    const msg = String(sink.lines().find((l) => l.level === 'warn')?.msg);
    expect(msg).not.toMatch(/was moved/);
    expect(msg).toMatch(/could not be moved/);
    expect(msg).toMatch(/EISDIR|ENOTEMPTY|directory/); // why
    expect(msg).toMatch(/writable/); // what to do
    expect(msg).toContain('.bak was loaded instead');
    // The next save keeps the good .bak instead of turning the corrupt file into the backup.
    await store.save(stateWith('81.2.69.2'));
    expect(JSON.parse(await readFile(join(dir, 'state.json.bak'), 'utf8')).public_ip.ipv4).toBe('81.2.69.1');
    expect(JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')).public_ip.ipv4).toBe('81.2.69.2');
  });

  it('move fails, no .bak → a fresh state; the error line does not claim the file was moved', async () => {
    const { store, dir, sink } = await makeStore();
    await writeFile(join(dir, 'state.json'), 'garbage');
    await blockAside(dir);
    const r = await store.load();
    expect(r.outcome).toBe('fresh');
    const msg = String(sink.lines().find((l) => l.level === 'error')?.msg);
    expect(msg).not.toMatch(/was moved/);
    expect(msg).toMatch(/could not be moved/);
    expect(msg).toMatch(/fresh state/);
  });

  it('main missing, .bak corrupt → a fresh state, the .bak set aside, and an error line says so', async () => {
    const { store, dir, sink } = await makeStore();
    await writeFile(join(dir, 'state.json.bak'), '{"schema":1,');
    const r = await store.load();
    expect(r.outcome).toBe('fresh');
    expect(r.state).toEqual(freshState());
    const err = sink.lines().filter((l) => l.level === 'error');
    expect(err).toHaveLength(1);
    expect(String(err[0]!.msg)).toMatch(/state\.json\.bak/);
    expect(String(err[0]!.msg)).toMatch(/not valid JSON/);
    expect(String(err[0]!.msg)).toMatch(/fresh state/);
    expect((await readdir(dir)).some((f) => f.startsWith('state.json.bak.corrupt-'))).toBe(true);
  });
});

describe('JsonFileStore: times no clock can show make the file invalid, never a crash', () => {
  it.each([
    ['bad time/1e308', 1e308],
    ['bad time/negative', -1],
    ['bad time/beyond year 9999', Date.UTC(10000, 0, 1)],
    ['bad time/beyond what Date can hold', 8.64e15 + 1],
    ['bad time/infinite (1e999 in JSON)', '1e999'],
  ])('%s in last_update → the .bak is used and the log names the field', async (_name, value) => {
    const { store, dir, sink } = await makeStore();
    await writeFile(join(dir, 'state.json.bak'), JSON.stringify(stateWith('81.2.69.1')));
    const s = stateWith('81.2.69.2');
    const r = freshRecordState('home.example.com', 'A');
    r.last_update = 123; // replaced below by the raw text
    s.dns.records['home.example.com/A'] = r;
    await writeFile(
      join(dir, 'state.json'),
      JSON.stringify(s).replace('"last_update":123', `"last_update":${value}`),
    );
    const loaded = await store.load();
    expect(loaded.outcome).toBe('from_backup');
    expect(loaded.state.public_ip.ipv4).toBe('81.2.69.1');
    const msg = String(sink.lines().find((l) => l.level === 'warn')?.msg);
    expect(msg).toContain('last_update');
    expect(msg).toMatch(/time/);
  });

  it('valid/edge times load: 0 (a Pi before NTP) and the last ms of year 9999', async () => {
    const { store, dir } = await makeStore();
    const s = stateWith('81.2.69.2');
    s.public_ip.checked_at = 0;
    s.dns.last_sync = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
    await writeFile(join(dir, 'state.json'), JSON.stringify(s));
    expect((await store.load()).outcome).toBe('loaded');
  });
});

describe('isoTime never throws', () => {
  it.each([
    ['1e308', 1e308],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['beyond Date range', 8.64e15 + 1],
  ])('bad number/%s → a readable string, and null from isoTimeOrNull', (_name, ms) => {
    expect(() => isoTime(ms)).not.toThrow();
    expect(isoTime(ms)).toMatch(/invalid time/);
    expect(isoTimeOrNull(ms)).toBeNull();
  });

  it('good number → ISO 8601 with an explicit offset', () => {
    expect(isoTime(NOW)).toBe('2026-03-01T12:00:00.000+00:00');
    expect(isoTimeOrNull(null)).toBeNull();
  });

  it('a state document is built even from a state holding a bad time (what the MQTT connect handler publishes)', () => {
    const s = freshState();
    s.dns.last_sync = 1e308;
    s.public_ip.checked_at = Number.NaN;
    const doc = buildStatus({
      state: s,
      mode: 'enforce',
      version: '0.0.0',
      startedAt: NOW,
      ipVersion: 'ipv4',
    });
    expect(doc.dns.last_sync).toBeNull();
    expect(doc.public_ip.checked_at).toBeNull();
  });
});
