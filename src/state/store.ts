/**
 * StateStore: one JSON file in `state_dir`, written atomically (temp file, fsync, rename, the
 * previous copy kept as `.bak`), schema-versioned and validated on load. A corrupt file never
 * stops the agent: it falls back to `.bak`, then to a fresh state, keeping the corrupt file aside.
 * Only a regular file of at most `maxBytes` is read; temp files of failed or killed saves are
 * removed. A save never gets stuck on what it finds: a `.bak` that is not a regular file is moved
 * aside, and a state that cannot be written as JSON is a StateError. Never: hold policy.
 */
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { z } from 'zod';
import { StateError } from '../errors.js';
import type { Logger } from '../log.js';
import { describeKind, formatBytes, readBoundedFile } from './file.js';

export type LoadOutcome = 'loaded' | 'from_backup' | 'fresh' | 'new';

export interface LoadResult<T> {
  state: T;
  outcome: LoadOutcome;
  /** A sentence for the log saying what happened and what to do, when it is not plain `loaded`/`new`. */
  message?: string;
}

export interface StateStore<T> {
  load(): Promise<LoadResult<T>>;
  save(state: T): Promise<void>;
  readonly path: string;
}

/** The largest state file read or written: about 1,500 records' worth. */
export const STATE_MAX_BYTES = 1024 * 1024;

type ReadResult<T> = { kind: 'ok'; state: T } | { kind: 'missing' } | { kind: 'bad'; reason: string };
type Aside = { moved: true; aside: string } | { moved: false; aside: string; reason: string };

export class JsonFileStore<T> implements StateStore<T> {
  readonly path: string;
  readonly #dir: string;
  readonly #schema: z.ZodType<T>;
  readonly #fresh: () => T;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  readonly #maxBytes: number;
  #saving: Promise<void> = Promise.resolve();
  /** The main file was unusable and could not be moved aside: the next save must not make it the `.bak`. */
  #mainUnusable = false;
  /** A `.bak` that is not a regular file could not be moved aside: said once. */
  #bakStuckSaid = false;

  constructor(options: {
    dir: string;
    file?: string;
    schema: z.ZodType<T>;
    fresh: () => T;
    logger?: Logger;
    now?: () => number;
    /** Files larger than this are neither read nor written. Default STATE_MAX_BYTES. */
    maxBytes?: number;
  }) {
    this.#dir = options.dir;
    this.path = join(options.dir, options.file ?? 'state.json');
    this.#schema = options.schema;
    this.#fresh = options.fresh;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#maxBytes = options.maxBytes ?? STATE_MAX_BYTES;
  }

  /** Reads the state at start; also removes temp files that failed or killed saves left behind. */
  async load(): Promise<LoadResult<T>> {
    await this.#saving;
    const notDir = await this.#notADirectory();
    if (notDir !== null) {
      // Nothing to read, set aside or restore: say the real cause, not a file that is not there.
      const message = `${notDir}. The agent starts with a fresh state and cannot save it until then (record ids are re-read from Cloudflare, uptime history starts again).`;
      this.#logger?.error({ dir: this.#dir }, message);
      return { state: this.#fresh(), outcome: 'fresh', message };
    }
    await this.#sweepTempFiles();
    const bakPath = `${this.path}.bak`;
    const main = await this.#read(this.path);
    if (main.kind === 'ok') return { state: main.state, outcome: 'loaded' };
    if (main.kind === 'missing') {
      // A missing main file with a good .bak means a crash between rename steps: use the .bak.
      const bak = await this.#read(bakPath);
      if (bak.kind === 'ok') {
        const message = `State file ${this.path} was missing; restored the previous copy from ${bakPath}`;
        this.#logger?.warn({ path: this.path }, message);
        return { state: bak.state, outcome: 'from_backup', message };
      }
      if (bak.kind === 'missing') return { state: this.#fresh(), outcome: 'new' };
      const bakAside = await this.#setAside(bakPath);
      const message = `State file ${this.path} is missing and its previous copy ${bakPath} could not be used (${bak.reason}); ${this.#asideSentence(bakAside)} The agent starts with a fresh state (record ids are re-read from Cloudflare, uptime history starts again).`;
      this.#logger?.error({ path: bakPath, aside: bakAside.aside, moved: bakAside.moved }, message);
      return { state: this.#fresh(), outcome: 'fresh', message };
    }
    // Corrupt, invalid or not a file: keep it aside for inspection, then try the backup.
    const aside = await this.#setAside(this.path);
    if (!aside.moved) this.#mainUnusable = true;
    const bak = await this.#read(bakPath);
    if (bak.kind === 'ok') {
      const next = aside.moved ? ' Nothing to do unless this repeats (then check the disk).' : '';
      const message = `State file ${this.path} could not be used (${main.reason}); ${this.#asideSentence(aside)} The previous copy ${bakPath} was loaded instead.${next}`;
      this.#logger?.warn({ path: this.path, aside: aside.aside, moved: aside.moved }, message);
      return { state: bak.state, outcome: 'from_backup', message };
    }
    let backup = 'There is no backup.';
    if (bak.kind === 'bad') {
      const bakAside = await this.#setAside(bakPath);
      backup = `The backup ${bakPath} is unusable too (${bak.reason}); ${this.#asideSentence(bakAside)}`;
    }
    const message = `State file ${this.path} could not be used (${main.reason}); ${this.#asideSentence(aside)} ${backup} The agent starts with a fresh state (record ids are re-read from Cloudflare, uptime history starts again).`;
    this.#logger?.error({ path: this.path, aside: aside.aside, moved: aside.moved }, message);
    return { state: this.#fresh(), outcome: 'fresh', message };
  }

  /** Saves are serialised: a save waits for the one before it. */
  save(state: T): Promise<void> {
    const next = this.#saving.then(() => this.#write(state));
    this.#saving = next.catch(() => undefined);
    return next;
  }

  async #read(path: string): Promise<ReadResult<T>> {
    const file = await readBoundedFile(path, this.#maxBytes);
    if (file.kind !== 'ok') return file;
    let json: unknown;
    try {
      json = JSON.parse(file.text);
    } catch {
      return { kind: 'bad', reason: 'it is not valid JSON' };
    }
    const parsed = this.#schema.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first && first.path.length > 0 ? ` at ${first.path.join('.')}` : '';
      return {
        kind: 'bad',
        reason: `it does not match the expected format${where}: ${first?.message ?? 'invalid'}`,
      };
    }
    return { kind: 'ok', state: parsed.data };
  }

  /**
   * `state_dir <dir> is not a directory: …` when state_dir is a file, or lies below one; null when
   * it is a directory or does not exist yet (the first save creates it).
   */
  async #notADirectory(): Promise<string | null> {
    const problem = `state_dir ${this.#dir} is not a directory: point state_dir at a folder`;
    try {
      return (await stat(this.#dir)).isDirectory() ? null : problem;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOTDIR' ? problem : null;
    }
  }

  /** Renames an unusable file to `<name>.corrupt-<time>`; says whether that worked. */
  async #setAside(path: string): Promise<Aside> {
    const now = this.#now();
    const stamp =
      Number.isFinite(now) && Math.abs(now) <= 8.64e15 ? new Date(now).toISOString() : String(now);
    const aside = `${path}.corrupt-${stamp.replace(/[:.]/g, '-')}`;
    try {
      await rename(path, aside);
      return { moved: true, aside };
    } catch (err) {
      return { moved: false, aside, reason: (err as Error).message };
    }
  }

  #asideSentence(a: Aside): string {
    if (a.moved) return `it was moved to ${a.aside}.`;
    return `it could not be moved aside to ${a.aside} (${a.reason}), so it is still there and a later save replaces it: copy it elsewhere now if you want to inspect it, and check that state_dir (${this.#dir}) is writable.`;
  }

  /** Removes `<file>.tmp-*` left by a save that failed or was killed (they are never read). */
  async #sweepTempFiles(): Promise<void> {
    const prefix = `${basename(this.path)}.tmp-`;
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch {
      return; // no state_dir yet, or unreadable: reading the state itself says so
    }
    const removed: string[] = [];
    const failed: string[] = [];
    for (const name of names.filter((n) => n.startsWith(prefix))) {
      const path = join(this.#dir, name);
      try {
        if (!(await lstat(path)).isFile()) continue;
        await rm(path, { force: true });
        removed.push(name);
      } catch (err) {
        failed.push(`${name} (${(err as Error).message})`);
      }
    }
    if (removed.length > 0) {
      this.#logger?.info(
        { dir: this.#dir, removed: removed.length },
        `Removed ${removed.length} temp file(s) in ${this.#dir} left by a save that failed or was interrupted; nothing to do.`,
      );
    }
    if (failed.length > 0) {
      this.#logger?.warn(
        { dir: this.#dir },
        `Could not remove temp file(s) left by an interrupted save: ${failed.join(', ')}. They are never read; check that state_dir (${this.#dir}) is writable, or delete them by hand.`,
      );
    }
  }

  async #write(state: T): Promise<void> {
    let text: string;
    try {
      text = this.#serialise(state);
    } catch (err) {
      if (err instanceof StateError) throw err;
      // JSON.stringify throws RangeError on nesting too deep for the stack, TypeError on a cycle.
      throw new StateError(
        `Did not save state to ${this.path}: it cannot be written as JSON (${String((err as Error).message).split('\n')[0]}). The previous state file is kept. Please report this.`,
        { cause: err },
      );
    }
    const tmp = `${this.path}.tmp-${randomBytes(4).toString('hex')}`;
    let tmpCreated = false;
    try {
      await mkdir(this.#dir, { recursive: true });
      const fh = await open(tmp, 'wx', 0o600);
      tmpCreated = true;
      try {
        await fh.writeFile(text, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      // Keep the previous good copy as .bak (not an unusable file that could not be moved aside),
      // then move the new one into place.
      const hasMain = await stat(this.path).then(
        () => true,
        () => false,
      );
      if (hasMain && !this.#mainUnusable && (await this.#bakSlotFree())) {
        await rename(this.path, `${this.path}.bak`);
      }
      await rename(tmp, this.path);
      tmpCreated = false;
      this.#mainUnusable = false;
      await syncDir(this.#dir);
    } catch (err) {
      if (tmpCreated) await rm(tmp, { force: true }).catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code;
      const notDir = code === 'ENOTDIR' || code === 'EEXIST' ? await this.#notADirectory() : null;
      if (notDir !== null) {
        throw new StateError(`Could not save state to ${this.path}: ${notDir}.`, { cause: err });
      }
      throw new StateError(
        `Could not save state to ${this.path}: ${(err as Error).message}. Check that state_dir (${this.#dir}) is writable and the disk is not full.`,
        { cause: err },
      );
    }
  }

  /**
   * The file's text: indented for people, or compact when indenting would take it over the size
   * limit (the loader reads either); a StateError when even that is too large.
   */
  #serialise(state: T): string {
    const indented = `${JSON.stringify(state, null, 2)}\n`;
    if (Buffer.byteLength(indented, 'utf8') <= this.#maxBytes) return indented;
    const compact = `${JSON.stringify(state)}\n`;
    const size = Buffer.byteLength(compact, 'utf8');
    if (size <= this.#maxBytes) return compact;
    throw new StateError(
      `Did not save state to ${this.path}: it would be ${formatBytes(size)}, more than the ${formatBytes(this.#maxBytes)} a state file may be (it could not be read back). The previous state file is kept. Configure fewer records, and please report this.`,
    );
  }

  /**
   * Whether the previous copy may be renamed to `.bak`. Something there that is not a regular file
   * (a directory: the rename would fail with EISDIR at every save) is moved aside like a corrupt
   * file, said once; if it cannot be moved, this save keeps no previous copy rather than failing.
   */
  async #bakSlotFree(): Promise<boolean> {
    const bakPath = `${this.path}.bak`;
    let info: Stats;
    try {
      info = await lstat(bakPath);
    } catch {
      this.#bakStuckSaid = false;
      return true; // nothing there (or unreadable: the rename says so)
    }
    if (info.isFile()) {
      this.#bakStuckSaid = false;
      return true;
    }
    const kind = info.isSymbolicLink() ? 'a symbolic link' : describeKind(info);
    const aside = await this.#setAside(bakPath);
    if (aside.moved) {
      this.#logger?.warn(
        { path: bakPath, aside: aside.aside },
        `${bakPath} was ${kind}, not a regular file, so the previous state could not be kept there; it was moved to ${aside.aside} and saving goes on. Nothing to do unless this repeats.`,
      );
      return true;
    }
    if (!this.#bakStuckSaid) {
      this.#bakStuckSaid = true;
      this.#logger?.warn(
        { path: bakPath, aside: aside.aside },
        `${bakPath} is ${kind}, not a regular file, and could not be moved aside (${aside.reason}): state is saved without keeping a previous copy until it is removed. Remove or rename ${bakPath}, and check that state_dir (${this.#dir}) is writable.`,
      );
    }
    return false;
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  }
}
