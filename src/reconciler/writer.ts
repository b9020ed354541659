/**
 * Writer: sends the writes a cycle decided on — one batch per zone when two or more, single calls
 * otherwise (and when the batch fails) — and deletes managed records on stop. Remembers which
 * errors came from a write, because only a refused write blocks a record.
 */
import type { DnsProvider } from '../dns/dns-provider.js';
import type { ZoneCache } from '../dns/zone-cache.js';
import type { DnsRecord, NewRecord, RecordPatch } from '../domain/dns.js';
import { afterBatchFailure } from '../domain/dns-failure.js';
import { planFromApi } from '../domain/dns-plan.js';
import { buildNewRecord, buildPatch, planRecovery } from '../domain/dns-write.js';
import { CloudflareApiError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { StateHolder } from '../state/holder.js';
import type { RecordBook } from './record-book.js';
import {
  type CycleResult,
  conflictError,
  failureKindOf,
  type ReconcilerConfig,
  settingsOf,
  type WorkItem,
} from './types.js';

export interface WriterDeps {
  provider: DnsProvider;
  view: ZoneCache;
  config: ReconcilerConfig;
  state: StateHolder;
  book: RecordBook;
  logger: Logger;
}

export class Writer {
  readonly #d: WriterDeps;
  /** Errors thrown by a write call (create, PATCH, batch). */
  readonly #writeErrors = new WeakSet<object>();

  constructor(deps: WriterDeps) {
    this.#d = deps;
  }

  /** Whether this error was thrown by a write call (not by a read on the way). */
  isWriteError(err: unknown): boolean {
    return typeof err === 'object' && err !== null && this.#writeErrors.has(err);
  }

  /** Applies the queued writes; `fail` records a failure (or, when stopping, an abandoned write). */
  async apply(
    work: WorkItem[],
    result: CycleResult,
    fail: (item: WorkItem, err: unknown) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const { provider, book, logger } = this.#d;
    if (work.length === 0) return;
    const byZone = new Map<string, WorkItem[]>();
    for (const w of work) byZone.set(w.zoneId, [...(byZone.get(w.zoneId) ?? []), w]);
    for (const [zoneId, items] of byZone) {
      if (items.length >= 2) {
        const patches = items.filter((i) => i.op.kind === 'patch');
        const posts = items.filter((i) => i.op.kind === 'create');
        try {
          const res = await this.#write(
            provider.batch(
              zoneId,
              {
                patches: patches.map((i) => (i.op as { patch: RecordPatch }).patch),
                posts: posts.map((i) => (i.op as { record: NewRecord }).record),
              },
              signal,
            ),
          );
          for (const [n, item] of patches.entries()) book.written(item, res.patches[n], result);
          for (const [n, item] of posts.entries()) book.written(item, res.posts[n], result);
          continue;
        } catch (err) {
          if (afterBatchFailure(failureKindOf(err).kind, signal?.aborted === true) === 'fail_all') {
            // Stopping (the batch may or may not have been applied), or a 429 pause / a token
            // without permission that a single write would meet too: nothing is tried one by one.
            for (const item of items) fail(item, err);
            continue;
          }
          logger.warn(
            { zoneId, err: errorMessage(err) },
            `The batch write of ${items.length} records failed (${errorMessage(err)}); writing them one by one instead.`,
          );
        }
      }
      for (const item of items) {
        if (signal?.aborted) {
          book.abandoned(item.rc.name, item.type, false, result);
          continue;
        }
        try {
          book.written(item, await this.#applyOne(item, signal), result);
        } catch (err) {
          fail(item, err);
        }
      }
    }
  }

  /** Deletes the records this agent manages (delete_on_stop). Never throws. */
  async deleteManaged(signal?: AbortSignal): Promise<number> {
    const { provider, view, state, logger, config } = this.#d;
    let deleted = 0;
    for (const st of Object.values(state.state.dns.records)) {
      try {
        let zoneId = st.zone_id;
        let recordId = st.record_id;
        if (!zoneId || !recordId) {
          const rc = config.records.find((r) => r.name === st.name);
          if (!rc) continue;
          const zone = await view.zoneFor(rc.name, rc.zone ?? config.zone, signal);
          const found = await provider.listRecords(zone.id, { name: st.name, type: st.type }, signal);
          if (found.length !== 1) continue;
          zoneId = zone.id;
          recordId = found[0]!.id;
        }
        await provider.deleteRecord(zoneId, recordId, signal);
        deleted++;
        st.record_id = null;
        st.content = null;
        st.status = 'out_of_sync';
        st.message = 'deleted on stop (delete_on_stop is on)';
        logger.info(
          { record: st.name, type: st.type },
          `Deleted ${st.type} record ${st.name} (delete_on_stop is on).`,
        );
      } catch (err) {
        logger.warn(
          { record: st.name, type: st.type, err: errorMessage(err) },
          `Could not delete ${st.type} record ${st.name} on stop: ${errorMessage(err)}. Delete it in the Cloudflare dashboard if it should not stay.`,
        );
      }
    }
    view.forget();
    state.changed();
    await state.persist();
    return deleted;
  }

  async #applyOne(item: WorkItem, signal?: AbortSignal): Promise<DnsRecord | undefined> {
    const { provider, config } = this.#d;
    const { zoneId, op } = item;
    try {
      return op.kind === 'patch'
        ? await this.#write(provider.patchRecord(zoneId, op.patch, signal))
        : await this.#write(provider.createRecord(zoneId, op.record, signal));
    } catch (err) {
      const cause = err instanceof CloudflareApiError ? err.kind : null;
      if (
        !(
          (op.kind === 'patch' && cause === 'not_found') ||
          (op.kind === 'create' && cause === 'already_exists')
        )
      )
        throw err;
      // The cached id is stale (the record was deleted or recreated), or someone (or an earlier
      // try of ours) created the record meanwhile: look again and go on from what is there.
      const listed = await provider.listRecords(zoneId, { name: item.rc.name, type: item.type }, signal);
      const next = planRecovery(
        op.kind === 'patch' ? 'gone' : 'exists',
        planFromApi(listed, item.desired),
        config.create_missing_records,
      );
      const settings = settingsOf(item.rc, config);
      switch (next.kind) {
        case 'done':
          return next.record;
        case 'conflict':
          throw conflictError(next.count, item.rc.name, item.type);
        case 'patch':
          return this.#write(
            provider.patchRecord(zoneId, buildPatch(next.id, item.desired, settings), signal),
          );
        case 'create': {
          const record = buildNewRecord(item.rc.name, item.type, item.desired, settings);
          return this.#write(provider.createRecord(zoneId, record, signal));
        }
        case 'give_up':
          throw err;
      }
    }
  }

  /** Runs a write call; a failure it throws is remembered as a failed (or refused) write. */
  async #write<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (err) {
      if (typeof err === 'object' && err !== null) this.#writeErrors.add(err);
      throw err;
    }
  }
}
