/**
 * Fault suite, the state file (SPEC §7): corrupt, truncated, empty, of another schema, a
 * directory, missing with its .bak present, both copies unusable, temp files of a killed save;
 * the disk full (a 64 KiB tmpfs) and the state directory read-only (the tmpfs remounted `ro`)
 * while the agent runs. The agent keeps running and writing DNS, the file on disk always loads,
 * and once the disk is usable again it holds what the agent holds. The tmpfs cases need root
 * (mount); without it they are skipped, saying so.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FaultWorld, faultWorld, GOOD_IP, NEW_IP } from './fault-world.js';
import { readSavedState } from './invariants.js';

let w: FaultWorld | null = null;
afterEach(async () => {
  await w?.close();
  w = null;
});

const NAME = 'home.example.com';
const KEY = `${NAME}/A`;
const status = (fw: FaultWorld) => fw.agent.state.state.dns.records[KEY];
const writes = (fw: FaultWorld) => fw.cf.requests.filter((r) => r.method !== 'GET');

/** A world whose agent wrote the record, then stopped (saving); `damage` runs before the restart. */
async function restartAfter(damage: (dir: string) => Promise<void>): Promise<FaultWorld> {
  const fw = await faultWorld();
  await fw.clock.advance(60_000);
  await fw.cycle(); // a second save: state.json.bak exists and holds the record too
  await fw.agent.stop({ graceMs: 0 });
  await damage(fw.stateDir);
  fw.cf.clearLog();
  await fw.restartAndStart();
  return fw;
}

const main = (dir: string) => join(dir, 'state.json');
const bak = (dir: string) => join(dir, 'state.json.bak');

describe('a damaged state file at start', () => {
  it.each<[string, (dir: string) => Promise<void>, RegExp]>([
    [
      'state/corrupt/previous-copy-loaded',
      (d) => writeFile(main(d), '\u0000\u0017garbage{{{'),
      /could not be used \(it is not valid JSON\); it was moved to .*The previous copy .* was loaded instead/,
    ],
    [
      'state/truncated/previous-copy-loaded',
      async (d) => {
        const text = await readFile(main(d), 'utf8');
        await writeFile(main(d), text.slice(0, Math.floor(text.length / 2)));
      },
      /could not be used \(it is not valid JSON\).*The previous copy .* was loaded instead/,
    ],
    [
      'state/empty/previous-copy-loaded',
      (d) => writeFile(main(d), ''),
      /could not be used .*The previous copy .* was loaded instead/,
    ],
    [
      'state/other-schema/previous-copy-loaded',
      (d) => writeFile(main(d), JSON.stringify({ schema: 99, dns: 'elsewhere' })),
      /could not be used \(it does not match the expected format/,
    ],
    [
      'state/a-directory/previous-copy-loaded',
      async (d) => {
        await rm(main(d));
        await mkdir(main(d));
      },
      /could not be used .*The previous copy .* was loaded instead/,
    ],
    [
      'state/missing-main-bak-present/crash-between-renames',
      (d) => rm(main(d)),
      /was missing; restored the previous copy from/,
    ],
  ])('%s', async (_name, damage, said) => {
    w = await restartAfter(damage);
    // Nothing lost: the record id came back from the .bak, so the steady cycle needs no API call.
    expect(status(w)).toMatchObject({ status: 'in_sync', content: GOOD_IP, record_id: expect.any(String) });
    expect(w.cf.requests).toEqual([]);
    await w.check({ verified: [GOOD_IP], said });
  });

  it('state/main-and-bak-corrupt/fresh-state-ids-read-again-no-duplicate-both-kept-aside', async () => {
    w = await restartAfter(async (d) => {
      await writeFile(main(d), '{"schema":1,"public_ip":');
      await writeFile(bak(d), '');
    });
    // The IP changes: with no id remembered, the zone is listed once and the record patched, not doubled.
    w.setIp(NEW_IP);
    await w.cycle();
    expect(w.cf.records({ name: NAME }).map((r) => r.content)).toEqual([NEW_IP]);
    expect(writes(w).map((r) => r.method)).toEqual(['PATCH']);
    const aside = (await readdir(w.stateDir)).filter((f) => f.includes('.corrupt-'));
    expect(aside).toHaveLength(2);
    await w.check({
      verified: [GOOD_IP, NEW_IP],
      said: /The agent starts with a fresh state \(record ids are re-read/,
    });
  });

  it('state/temp-files-of-a-killed-save/swept-at-start', async () => {
    w = await restartAfter(async (d) => {
      await writeFile(join(d, 'state.json.tmp-deadbeef'), '{"schema":1,"half');
      await writeFile(join(d, 'state.json.tmp-0badf00d'), '');
    });
    expect((await readdir(w.stateDir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
    await w.check({
      verified: [GOOD_IP],
      said: /Removed 2 temp file\(s\) .* left by a save that failed or was interrupted/,
    });
  });
});

/** Mounts a 64 KiB tmpfs on `dir` (throws when mount is refused). */
function mountTmpfs(dir: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'pipe' });
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  } catch {
    // not mounted
  }
}

/** Whether this process may mount a tmpfs (root), found by mounting one and unmounting it at once. */
function canMount(): { ok: true } | { ok: false; why: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ddnsw-probe-'));
  try {
    mountTmpfs(dir);
    unmount(dir);
    return { ok: true };
  } catch (err) {
    return { ok: false, why: String((err as Error).message).split('\n')[0] ?? 'mount failed' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const mountable = canMount();
const skipNote = mountable.ok ? '' : ` (skipped: cannot mount a tmpfs — ${mountable.why}; run as root)`;

describe.skipIf(!mountable.ok)(`state_dir on a tiny disk${skipNote}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddnsw-tmpfs-'));
  const remount = (mode: 'ro' | 'rw') =>
    execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });

  beforeAll(() => mountTmpfs(dir));
  afterAll(() => {
    unmount(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    remount('rw');
    for (const f of await readdir(dir)) await rm(join(dir, f), { recursive: true, force: true });
  });

  async function onTmpfs(): Promise<FaultWorld> {
    const fw = await faultWorld({ overrides: { state_dir: dir } });
    fw.stateDir = dir;
    expect((await readSavedState(dir)).dns.records[KEY]?.content).toBe(GOOD_IP);
    return fw;
  }

  /** While saving fails: DNS is still written, the file on disk is the last good save, unharmed. */
  async function duringTheFault(fw: FaultWorld): Promise<void> {
    fw.setIp(NEW_IP);
    await fw.cycle();
    expect(fw.cf.records({ name: NAME }).map((r) => r.content)).toEqual([NEW_IP]);
    expect(status(fw)).toMatchObject({ status: 'in_sync', content: NEW_IP });
    const onDisk = await readSavedState(dir);
    expect(onDisk.dns.records[KEY]).toMatchObject({ content: GOOD_IP, record_id: status(fw)?.record_id });
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
    // More cycles: the failure is said once per outage, not every cycle.
    for (let i = 0; i < 3; i++) {
      await fw.clock.advance(60_000);
      await fw.cycle();
    }
    expect(fw.lines().filter((l) => /Could not save state/.test(String(l.msg)))).toHaveLength(1);
  }

  it('state/disk-full/dns-still-written-old-file-intact-saved-again-when-space-returns', async () => {
    w = await onTmpfs();
    const filler = join(dir, 'filler');
    // Fill the disk to the last byte.
    await writeFile(filler, Buffer.alloc(64 * 1024)).catch(() => undefined);
    await duringTheFault(w);
    await rm(filler);
    await w.clock.advance(60_000);
    await w.cycle();
    expect((await readSavedState(dir)).dns.records[KEY]?.content).toBe(NEW_IP);
    await w.check({
      verified: [GOOD_IP, NEW_IP],
      said: [/Could not save state to .*(ENOSPC|no space).*disk is not full/i, /State is being saved again/],
    });
  });

  it('state/dir-read-only/dns-still-written-old-file-intact-saved-again-when-writable', async () => {
    w = await onTmpfs();
    remount('ro');
    await duringTheFault(w);
    remount('rw');
    await w.clock.advance(60_000);
    await w.cycle();
    expect((await readSavedState(dir)).dns.records[KEY]?.content).toBe(NEW_IP);
    await w.check({
      verified: [GOOD_IP, NEW_IP],
      said: [
        /Could not save state to .*(EROFS|read-only).*state_dir .* is writable/i,
        /State is being saved again/,
      ],
    });
  });
});
