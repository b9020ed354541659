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
    await writeFile(join(dir, 'state.json'), JSON.stringify(stateWith('81.2.69.1')));
    // .bak is a non-empty directory: moving state.json to .bak fails after the temp file exists.
    await mkdir(join(dir, 'state.json.bak'));
    await writeFile(join(dir, 'state.json.bak', 'x'), 'x');
    for (let i = 0; i < 3; i++) {
      await expect(store.save(stateWith('81.2.69.2'))).rejects.toBeInstanceOf(StateError);
    }
    expect(await tempFiles(dir)).toEqual([]);
    // nothing lost: the previous state is still in place
    expect(JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')).public_ip.ipv4).toBe('81.2.69.1');
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
