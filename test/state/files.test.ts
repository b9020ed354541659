/**
 * What the state store does with the files around state.json: temp files of failed or killed
 * saves, and paths that are not regular files of a sane size (a FIFO must not hang the start,
 * /dev/urandom must not be read forever).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateError } from '../../src/errors.js';
import { StateHolder } from '../../src/state/holder.js';
import { freshState, type PersistedState, persistedStateSchema } from '../../src/state/schema.js';
import { JsonFileStore } from '../../src/state/store.js';
import { logSink } from '../helpers/log-sink.js';

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

const tempFiles = async (dir: string) => (await readdir(dir)).filter((f) => f.includes('.tmp-'));

describe('JsonFileStore: temp files', () => {
  it('a save that fails after writing its temp file removes the temp file', async () => {
    const { store, dir } = await makeStore();
    await writeFile(join(dir, 'state.json.bak'), JSON.stringify(stateWith('81.2.69.1')));
    // state.json is a non-empty directory (created behind the store's back, so never loaded):
    // moving it over the .bak file fails (ENOTDIR) after the temp file exists.
    await mkdir(join(dir, 'state.json'));
    await writeFile(join(dir, 'state.json', 'x'), 'x');
    for (let i = 0; i < 3; i++) {
      await expect(store.save(stateWith('81.2.69.2'))).rejects.toBeInstanceOf(StateError);
    }
    expect(await tempFiles(dir)).toEqual([]);
    // nothing lost: the previous state is still in place
    expect(JSON.parse(await readFile(join(dir, 'state.json.bak'), 'utf8')).public_ip.ipv4).toBe('81.2.69.1');
  });

  it('temp files left by a killed save are swept at start; other files are kept', async () => {
    const { store, dir, sink } = await makeStore();
    await store.save(stateWith('81.2.69.1'));
    await writeFile(join(dir, 'state.json.tmp-0badf00d'), '{"schema":1,');
    await writeFile(join(dir, 'state.json.tmp-12345678'), '');
    await writeFile(join(dir, 'notes.txt'), 'mine');
    await writeFile(join(dir, 'other.json.tmp-12345678'), 'not ours');
    const r = await store.load();
    expect(r.outcome).toBe('loaded');
    expect(r.state.public_ip.ipv4).toBe('81.2.69.1');
    expect((await readdir(dir)).sort()).toEqual(['notes.txt', 'other.json.tmp-12345678', 'state.json']);
    expect(sink.text()).toMatch(/temp file/);
  });
});

describe('JsonFileStore: state is read only from a regular file of bounded size', () => {
  it.each([
    ['refused/fifo', 'a named pipe', async (p: string) => execFileSync('mkfifo', [p])],
    ['refused/symlink to /dev/urandom', 'a device', async (p: string) => symlink('/dev/urandom', p)],
    ['refused/directory', 'a directory', async (p: string) => mkdir(p)],
    [
      'refused/5 MiB of valid JSON',
      'MiB',
      async (p: string) => writeFile(p, JSON.stringify(stateWith('81.2.69.9')) + ' '.repeat(5 * 1024 * 1024)),
    ],
  ])(
    '%s → not read, set aside, the .bak is loaded and the log says why',
    async (_name, why, make) => {
      const { store, dir, sink } = await makeStore();
      await writeFile(join(dir, 'state.json.bak'), JSON.stringify(stateWith('81.2.69.1')));
      await make(join(dir, 'state.json'));
      const r = await store.load();
      expect(r.outcome).toBe('from_backup');
      expect(r.state.public_ip.ipv4).toBe('81.2.69.1');
      expect(r.message).toContain(why);
      const warn = sink.lines().find((l) => l.level === 'warn');
      expect(String(warn?.msg)).toContain(why);
      expect((await readdir(dir)).some((f) => f.startsWith('state.json.corrupt-'))).toBe(true);
      // and the agent can save again
      await store.save(stateWith('81.2.69.3'));
      expect((await store.load()).state.public_ip.ipv4).toBe('81.2.69.3');
    },
    5_000,
  );

  it('a .bak that is a FIFO is refused too (main missing) → fresh state, logged', {
    timeout: 5_000,
  }, async () => {
    const { store, dir, sink } = await makeStore();
    execFileSync('mkfifo', [join(dir, 'state.json.bak')]);
    const r = await store.load();
    expect(r.outcome).toBe('fresh');
    expect(String(sink.lines().find((l) => l.level === 'error')?.msg)).toContain('a named pipe');
  });

  it('a state bigger than the cap is not written (it could not be read back); the old file stays', async () => {
    const { store, dir } = await makeStore();
    await store.save(stateWith('81.2.69.1'));
    const big = stateWith('81.2.69.2');
    big.ha_components = Object.fromEntries(
      Array.from({ length: 40_000 }, (_, i) => [`component_${i}`, 'x'.repeat(20)]),
    );
    await expect(store.save(big)).rejects.toThrow(/MiB/);
    expect(await tempFiles(dir)).toEqual([]);
    expect((await store.load()).state.public_ip.ipv4).toBe('81.2.69.1');
  });
});

describe('JsonFileStore: a save never gets stuck on what it finds', () => {
  const warnings = (sink: ReturnType<typeof logSink>) => sink.lines().filter((l) => l.level === 'warn');

  // Before the fix every save failed (EISDIR: the previous state.json could not be renamed onto
  // the directory) while state.json kept loading: nothing learned was persisted again.
  it.each([
    [
      '.bak/a directory with files in it',
      'a directory',
      async (p: string) => {
        await mkdir(p);
        await writeFile(join(p, 'keep-me'), 'mine');
      },
    ],
    ['.bak/a named pipe', 'a named pipe', async (p: string) => execFileSync('mkfifo', [p])],
    ['.bak/a symbolic link to a directory', 'a symbolic link', async (p: string) => symlink(tmpdir(), p)],
  ])('%s → moved aside once, said once, every save goes on', async (_name, kind, make) => {
    const { store, dir, sink } = await makeStore();
    await writeFile(join(dir, 'state.json'), JSON.stringify(stateWith('81.2.69.1')));
    await make(join(dir, 'state.json.bak'));
    expect((await store.load()).outcome).toBe('loaded');
    await store.save(stateWith('81.2.69.2'));
    await store.save(stateWith('81.2.69.3'));
    expect((await store.load()).state.public_ip.ipv4).toBe('81.2.69.3');
    // The .bak is a real previous copy again.
    expect(JSON.parse(await readFile(join(dir, 'state.json.bak'), 'utf8')).public_ip.ipv4).toBe('81.2.69.2');
    // What was there is kept aside, not deleted.
    const aside = (await readdir(dir)).filter((f) => f.startsWith('state.json.bak.corrupt-'));
    expect(aside).toHaveLength(1);
    if (kind === 'a directory') expect(await readdir(join(dir, aside[0]!))).toEqual(['keep-me']);
    const w = warnings(sink);
    expect(w).toHaveLength(1);
    expect(String(w[0]!.msg)).toContain(kind);
    expect(String(w[0]!.msg)).toContain(aside[0]!);
    expect(String(w[0]!.msg)).toMatch(/saving goes on/);
  });

  it('.bak/a directory that cannot be moved aside/saved without a previous copy, said once', async () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    const dir = await mkdtemp(join(tmpdir(), 'ddnsw-state-'));
    const sink = logSink();
    const store = new JsonFileStore<PersistedState>({
      dir,
      schema: persistedStateSchema as never,
      fresh: freshState,
      logger: sink.logger,
      now: () => now,
    });
    await writeFile(join(dir, 'state.json'), JSON.stringify(stateWith('81.2.69.1')));
    await mkdir(join(dir, 'state.json.bak'));
    // The name it would be moved to is taken by a non-empty directory: the rename fails.
    const taken = join(dir, `state.json.bak.corrupt-${new Date(now).toISOString().replace(/[:.]/g, '-')}`);
    await mkdir(taken);
    await writeFile(join(taken, 'x'), 'x');
    for (const ip of ['81.2.69.2', '81.2.69.3', '81.2.69.4']) await store.save(stateWith(ip));
    expect((await store.load()).state.public_ip.ipv4).toBe('81.2.69.4');
    expect(await tempFiles(dir)).toEqual([]);
    const w = warnings(sink);
    expect(w).toHaveLength(1);
    expect(String(w[0]!.msg)).toMatch(/a directory, not a regular file, and could not be moved aside/);
    expect(String(w[0]!.msg)).toMatch(/Remove or rename .*state\.json\.bak/);
  });

  // Before the fix a state of ~0.9 MiB compact could never be saved: indented it was over 1 MiB.
  it('a state over the cap only when indented/saved compact, and loads back', async () => {
    const { store, dir } = await makeStore();
    const big = stateWith('81.2.69.2');
    big.ha_components = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`c${i}`, 'sensor']));
    expect(Buffer.byteLength(JSON.stringify(big, null, 2))).toBeGreaterThan(1024 * 1024);
    await store.save(big);
    const text = await readFile(join(dir, 'state.json'), 'utf8');
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(1024 * 1024);
    const back = await store.load();
    expect(back.outcome).toBe('loaded');
    expect(back.state).toEqual(big);
  });

  it.each([
    [
      'a cycle',
      (s: Record<string, unknown>) => {
        s.self = s;
      },
    ],
    [
      '200,000 levels deep',
      (s: Record<string, unknown>) => {
        let deep: unknown[] = [];
        for (let i = 0; i < 200_000; i++) deep = [deep];
        s.deep = deep;
      },
    ],
  ])(
    'a state that cannot be written as JSON/%s/a StateError that says so, never a RangeError; the old file kept',
    async (_name, spoil) => {
      const { store, dir } = await makeStore();
      await store.save(stateWith('81.2.69.1'));
      const bad = stateWith('81.2.69.2');
      spoil(bad as unknown as Record<string, unknown>);
      const err = await store.save(bad).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StateError);
      expect((err as Error).message).toMatch(/cannot be written as JSON .*previous state file is kept/);
      expect((err as Error).message).not.toContain('\n');
      expect(await tempFiles(dir)).toEqual([]);
      expect((await store.load()).state.public_ip.ipv4).toBe('81.2.69.1');
    },
  );
});

describe('JsonFileStore: state_dir that is not a directory', () => {
  async function fileAsDir(sub = '') {
    const base = await mkdtemp(join(tmpdir(), 'ddnsw-state-'));
    const file = join(base, 'state-dir-is-a-file');
    await writeFile(file, 'I am a file\n');
    const dir = sub ? join(file, sub) : file;
    const sink = logSink();
    const store = new JsonFileStore<PersistedState>({
      dir,
      schema: persistedStateSchema as never,
      fresh: freshState,
      logger: sink.logger,
    });
    const holder = new StateHolder(freshState(), store, sink.logger, () => Date.now());
    return { file, dir, store, sink, holder };
  }

  it.each([
    ['is-a-regular-file', ''],
    ['below-a-regular-file', 'state'],
  ])('%s/load and save name the cause, nothing about moving a file', async (_name, sub) => {
    const { dir, file, store, sink, holder } = await fileAsDir(sub);
    const cause = `state_dir ${dir} is not a directory: point state_dir at a folder`;

    const loaded = await store.load();
    expect(loaded.outcome).toBe('fresh');
    expect(loaded.message).toContain(cause);
    const logged = sink.lines().map((l) => String(l['msg']));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(cause);
    for (const line of [loaded.message ?? '', ...logged]) {
      expect(line).not.toMatch(/moved aside|copy it elsewhere|could not be used/);
    }

    await expect(store.save(stateWith('81.2.69.1'))).rejects.toThrow(cause);
    await expect(store.save(stateWith('81.2.69.1'))).rejects.not.toThrow(/disk is not full|moved/);
    // The holder reports the failed save (the stop must not say it saved) and says why once.
    sink.clear();
    expect(await holder.persist({ force: true })).toBe(false);
    const errors = sink.lines().filter((l) => l['level'] === 'error');
    expect(errors).toHaveLength(1);
    expect(String(errors[0]?.['msg'])).toContain(cause);
    // The file in the way is untouched.
    expect(await readFile(file, 'utf8')).toBe('I am a file\n');
  });
});
