/**
 * StateStore: one JSON file in `state_dir`, written atomically (temp file, fsync, rename, the
 * previous copy kept as `.bak`), schema-versioned and validated on load. A corrupt file never
 * stops the agent: it falls back to `.bak`, then to a fresh state, keeping the corrupt file aside.
 * Never: hold policy.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { StateError } from '../errors.js';
import type { Logger } from '../log.js';

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

export class JsonFileStore<T> implements StateStore<T> {
  readonly path: string;
  readonly #dir: string;
  readonly #schema: z.ZodType<T>;
  readonly #fresh: () => T;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  #saving: Promise<void> = Promise.resolve();

  constructor(options: {
    dir: string;
    file?: string;
    schema: z.ZodType<T>;
    fresh: () => T;
    logger?: Logger;
    now?: () => number;
  }) {
    this.#dir = options.dir;
    this.path = join(options.dir, options.file ?? 'state.json');
    this.#schema = options.schema;
    this.#fresh = options.fresh;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  async load(): Promise<LoadResult<T>> {
    const main = await this.#read(this.path);
    if (main.kind === 'ok') return { state: main.state, outcome: 'loaded' };
    if (main.kind === 'missing') {
      // A missing main file with a good .bak means a crash between rename steps: use the .bak.
      const bak = await this.#read(`${this.path}.bak`);
      if (bak.kind === 'ok') {
        const message = `State file ${this.path} was missing; restored the previous copy from ${this.path}.bak`;
        this.#logger?.warn({ path: this.path }, message);
        return { state: bak.state, outcome: 'from_backup', message };
      }
      return { state: this.#fresh(), outcome: 'new' };
    }
    // Corrupt or invalid: keep it aside for inspection, then try the backup.
    const aside = `${this.path}.corrupt-${new Date(this.#now()).toISOString().replace(/[:.]/g, '-')}`;
    await rename(this.path, aside).catch(() => undefined);
    const bak = await this.#read(`${this.path}.bak`);
    if (bak.kind === 'ok') {
      const message = `State file ${this.path} could not be used (${main.reason}); it was moved to ${aside} and the previous copy ${this.path}.bak was loaded instead. Nothing to do unless this repeats (then check the disk).`;
      this.#logger?.warn({ path: this.path, aside }, message);
      return { state: bak.state, outcome: 'from_backup', message };
    }
    const why = bak.kind === 'missing' ? 'there is no backup' : `the backup is unusable too (${bak.reason})`;
    const message = `State file ${this.path} could not be used (${main.reason}) and ${why}; it was moved to ${aside} and the agent starts with a fresh state (record ids are re-read from Cloudflare, uptime history starts again).`;
    this.#logger?.error({ path: this.path, aside }, message);
    return { state: this.#fresh(), outcome: 'fresh', message };
  }

  /** Saves are serialised: a save waits for the one before it. */
  save(state: T): Promise<void> {
    const next = this.#saving.then(() => this.#write(state));
    this.#saving = next.catch(() => undefined);
    return next;
  }

  async #read(
    path: string,
  ): Promise<{ kind: 'ok'; state: T } | { kind: 'missing' } | { kind: 'bad'; reason: string }> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      return { kind: 'bad', reason: `cannot read it: ${(err as Error).message}` };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
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

  async #write(state: T): Promise<void> {
    const text = `${JSON.stringify(state, null, 2)}\n`;
    const tmp = `${this.path}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      await mkdir(this.#dir, { recursive: true });
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(text, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      // Keep the previous good copy as .bak, then move the new one into place.
      const hasMain = await stat(this.path).then(
        () => true,
        () => false,
      );
      if (hasMain) await rename(this.path, `${this.path}.bak`);
      await rename(tmp, this.path);
      await syncDir(this.#dir);
    } catch (err) {
      throw new StateError(
        `Could not save state to ${this.path}: ${(err as Error).message}. Check that state_dir (${this.#dir}) is writable and the disk is not full.`,
        { cause: err },
      );
    }
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
