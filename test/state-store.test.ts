import { chmod, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateError } from '../src/errors.js';
import { freshState, type PersistedState, persistedStateSchema } from '../src/state/schema.js';
import { JsonFileStore } from '../src/state/store.js';
import { logSink } from './helpers/log-sink.js';

async function makeStore() {
  const dir = await mkdtemp(join(tmpdir(), 'ddnsw-state-'));
  const sink = logSink();
  const store = new JsonFileStore<PersistedState>({
    dir,
    schema: persistedStateSchema as never,
    fresh: freshState,
    logger: sink.logger,
  });
  return { dir, store, sink };
}

function stateWith(ip: string): PersistedState {
  const s = freshState();
  s.public_ip.ipv4 = ip;
  return s;
}

describe('JsonFileStore', () => {
  it('first start: no file → a fresh state, nothing logged as a problem', async () => {
    const { store, sink } = await makeStore();
    const r = await store.load();
    expect(r.outcome).toBe('new');
    expect(r.state).toEqual(freshState());
    expect(sink.lines().filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
  });

  it('save then load round-trips; the previous copy is kept as .bak', async () => {
    const { store, dir } = await makeStore();
    await store.save(stateWith('81.2.69.1'));
    await store.save(stateWith('81.2.69.2'));
    expect((await store.load()).state.public_ip.ipv4).toBe('81.2.69.2');
    const bak = JSON.parse(await readFile(join(dir, 'state.json.bak'), 'utf8'));
    expect(bak.public_ip.ipv4).toBe('81.2.69.1');
    // no temp files are left behind
    expect((await readdir(dir)).sort()).toEqual(['state.json', 'state.json.bak']);
  });

  it.each([
    ['corrupt/not-json', '{"schema":1, "public_ip": {'],
    ['corrupt/wrong-schema-version', JSON.stringify({ ...freshState(), schema: 99 })],
    ['corrupt/wrong-types', JSON.stringify({ ...freshState(), dns: { records: 'nope' } })],
    ['corrupt/empty-file', ''],
  ])('%s → the .bak is loaded, the bad file set aside, and the log says so', async (_name, body) => {
    const { store, dir, sink } = await makeStore();
    await store.save(stateWith('81.2.69.1'));
    await store.save(stateWith('81.2.69.2')); // .bak now holds .1
    await writeFile(join(dir, 'state.json'), body);
    const r = await store.load();
    expect(r.outcome).toBe('from_backup');
    expect(r.state.public_ip.ipv4).toBe('81.2.69.1');
    const files = await readdir(dir);
    expect(files.some((f) => f.startsWith('state.json.corrupt-'))).toBe(true);
    const warn = sink.lines().find((l) => l.level === 'warn');
    expect(String(warn?.msg)).toMatch(/could not be used .*\.bak was loaded instead/);
  });

  it('corrupt file and corrupt .bak → a fresh state, both kept aside, an error line explains', async () => {
    const { store, dir, sink } = await makeStore();
    await writeFile(join(dir, 'state.json'), 'garbage');
    await writeFile(join(dir, 'state.json.bak'), 'more garbage');
    const r = await store.load();
    expect(r.outcome).toBe('fresh');
    expect(r.state).toEqual(freshState());
    expect((await readdir(dir)).some((f) => f.startsWith('state.json.corrupt-'))).toBe(true);
    const err = sink.lines().find((l) => l.level === 'error');
    expect(String(err?.msg)).toMatch(/fresh state/);
    // the agent can save again afterwards
    await store.save(stateWith('81.2.69.3'));
    expect((await store.load()).state.public_ip.ipv4).toBe('81.2.69.3');
  });

  it('a crash between the two renames (main missing, .bak present) → .bak is used', async () => {
    const { store, dir } = await makeStore();
    await writeFile(join(dir, 'state.json.bak'), JSON.stringify(stateWith('81.2.69.9')));
    const r = await store.load();
    expect(r.outcome).toBe('from_backup');
    expect(r.state.public_ip.ipv4).toBe('81.2.69.9');
  });

  // The message changed in 89f1add (a path below a file is named as not a directory, instead of
  // "check that state_dir is writable"); this test kept the old wording and failed since.
  it('state_dir below a file → a StateError naming state_dir, the directory and the fix', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ddnsw-state-'));
    const blocker = join(dir, 'file');
    await writeFile(blocker, 'x');
    const stateDir = join(blocker, 'sub');
    const store = new JsonFileStore<PersistedState>({
      dir: stateDir,
      schema: persistedStateSchema as never,
      fresh: freshState,
    });
    const err = await store.save(freshState()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateError);
    expect((err as Error).message).toContain(`state_dir ${stateDir} is not a directory`);
    expect((err as Error).message).toMatch(/point state_dir at a folder/);
  });

  // Root writes anywhere: only an unprivileged user can see this one.
  it.skipIf(process.getuid?.() === 0)(
    'a read-only state_dir → a StateError naming state_dir, the directory and the fix',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ddnsw-state-'));
      await chmod(dir, 0o500);
      try {
        const store = new JsonFileStore<PersistedState>({
          dir,
          schema: persistedStateSchema as never,
          fresh: freshState,
        });
        await expect(store.save(freshState())).rejects.toThrow(`Check that state_dir (${dir}) is writable`);
      } finally {
        await chmod(dir, 0o700);
      }
    },
  );

  it('concurrent saves are serialised and the last one wins', async () => {
    const { store } = await makeStore();
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.save(stateWith(`81.2.69.${i + 1}`))));
    expect((await store.load()).state.public_ip.ipv4).toBe('81.2.69.10');
  });
});

describe('StateHolder: sparing the SD card', () => {
  it('per-cycle timestamps alone are written at most every 15 min; a real change or a stop writes at once', async () => {
    const { StateHolder } = await import('../src/state/holder.js');
    let now = Date.parse('2026-01-01T00:00:00Z');
    const writes: string[] = [];
    const store = {
      path: 'memory',
      load: async () => ({ state: freshState(), outcome: 'new' as const }),
      save: async (s: PersistedState) => {
        writes.push(JSON.stringify(s));
      },
    };
    const holder = new StateHolder(freshState(), store, undefined, () => now);
    for (let minute = 0; minute < 60; minute++) {
      now += 60_000;
      holder.state.dns.last_sync = now;
      holder.state.public_ip.checked_at = now;
      await holder.persist();
    }
    expect(writes).toHaveLength(4); // the first cycle, then at 16, 31 and 46 minutes
    holder.state.public_ip.ipv4 = '81.2.69.1';
    await holder.persist();
    expect(writes).toHaveLength(5);
    await holder.persist({ force: true });
    expect(writes).toHaveLength(6);
    expect(JSON.parse(writes[5]!).public_ip.ipv4).toBe('81.2.69.1');
  });
});
