/**
 * POST /zones/{zone}/dns_records/batch on the fake store: one transaction (all or nothing), run as
 * deletes → patches → puts → posts, at most `limit` operations per call (the Free plan's 200).
 */
import { Fail, type FakeStore, type FakeZone, fail, recordJson } from './store.js';

export function applyBatch(
  store: FakeStore,
  zone: FakeZone,
  body: Record<string, unknown>,
  limit: number,
): Record<string, unknown[]> {
  const list = (key: string): Record<string, unknown>[] => {
    const v = body[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'object' || x === null || Array.isArray(x))) {
      fail(400, 1004, `DNS Validation Error: ${key} must be an array of objects`); // wording not observed
    }
    return v as Record<string, unknown>[];
  };
  const deletes = list('deletes');
  const patches = list('patches');
  const puts = list('puts');
  const posts = list('posts');
  const total = deletes.length + patches.length + puts.length + posts.length;
  if (total > limit) {
    // Not observed from the real API: the exact answer to an oversized batch.
    fail(400, 1004, `DNS Validation Error: a batch may hold at most ${limit} operations; got ${total}`);
  }

  // One transaction: every change records how to undo itself; any failure rolls all back.
  const undo: Array<() => void> = [];
  const out: Record<string, unknown[]> = { deletes: [], patches: [], puts: [], posts: [] };
  const step = <T>(key: string, i: number, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof Fail) fail(400, err.error.code, `${key}[${i}]: ${err.error.message}`);
      throw err;
    }
  };
  const idOf = (key: string, i: number, op: Record<string, unknown>): string => {
    if (typeof op['id'] !== 'string' || op['id'] === '') fail(400, 1004, `${key}[${i}]: id is required`);
    return op['id'];
  };
  try {
    deletes.forEach((op, i) => {
      step('deletes', i, () => {
        const rec = store.get(zone, idOf('deletes', i, op));
        const copy = { ...rec, tags: [...rec.tags] };
        store.remove(rec);
        undo.push(() => store.insert(copy));
        out['deletes']!.push({ id: rec.id });
      });
    });
    for (const [key, replace, ops] of [
      ['patches', false, patches],
      ['puts', true, puts],
    ] as const) {
      ops.forEach((op, i) => {
        step(key, i, () => {
          const rec = store.get(zone, idOf(key, i, op));
          const before = { ...rec, tags: [...rec.tags] };
          const { id: _id, ...fields } = op;
          store.patch(zone, rec.id, fields, replace);
          undo.push(() => {
            store.unindex(rec);
            Object.assign(rec, before);
            store.index(rec);
          });
          out[key]!.push(recordJson(rec));
        });
      });
    }
    posts.forEach((op, i) => {
      step('posts', i, () => {
        const rec = store.create(zone, op);
        undo.push(() => store.remove(rec));
        out['posts']!.push(recordJson(rec));
      });
    });
  } catch (err) {
    for (const u of undo.reverse()) u();
    throw err;
  }
  return out;
}
