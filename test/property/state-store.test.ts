/**
 * Property (SPEC §7 state): whatever lies in state_dir — random bytes, truncated JSON, valid JSON
 * with wrong types, 1e400, times past the year 9999 or before 1970, deep nesting, uptime and
 * recovery sections full of junk, a .bak in any of those conditions, a directory where the file
 * should be — JsonFileStore.load never throws, and:
 * - the state it returns passes the schema (and its watchdog sections their domain schemas);
 * - its outcome follows from the files (a valid main file is loaded as it is, a valid .bak is used
 *   before starting fresh);
 * - nothing is lost: an unusable file is kept aside byte for byte;
 * - the state it returns can be saved and is then loaded back unchanged.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoveryStateSchema } from '../../src/domain/recovery-state.js';
import { uptimeStateSchema } from '../../src/domain/uptime.js';
import { freshState, type PersistedState, persistedStateSchema } from '../../src/state/schema.js';
import { JsonFileStore } from '../../src/state/store.js';
import { logSink } from '../helpers/log-sink.js';
import { anyText, bytes, jsonValue, nested, ODD_JSON_NUMBERS, params } from './arbitraries.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const MAX_TIME = 253_402_300_799_999;
const HEALTH = [
  'probing',
  'ready',
  'degraded',
  'wan_down',
  'router_down',
  'self_down',
  'intercepted',
  'recovering',
];

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'ddnsw-prop-state-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Usually the right type, sometimes anything, sometimes absent (the schema's default). */
function field<T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 12, arbitrary: good }, { weight: 1, arbitrary: jsonValue(1) });
}
const anyField = field;

/** A time a clock can show: any from 1970 to 9999, often within a day of now (either side). */
const validTime = fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: 0, max: MAX_TIME }) },
  { weight: 1, arbitrary: fc.integer({ min: NOW - 86_400_000, max: NOW + 86_400_000 }) },
);
const time = fc.oneof(
  { weight: 9, arbitrary: validTime },
  { weight: 1, arbitrary: fc.constantFrom(-1, 0.5, 1e308, 8.64e15, 8.64e15 + 1, MAX_TIME + 1, 2 ** 53) },
);
const nullableTime = fc.option(time, { nil: null, freq: 4 });
const text = fc.option(anyText(24), { nil: null, freq: 4 });

/** With `junk`, any field may hold anything; without, the DNS part is valid (the sections never are guaranteed). */
function recordState(junk: boolean) {
  const field = junk ? anyField : <T>(a: fc.Arbitrary<T>) => a;
  const nullableTime = fc.option(junk ? time : validTime, { nil: null, freq: 4 });
  return fc.record(
    {
      name: field(fc.domain()),
      type: field(fc.constantFrom('A', 'AAAA')),
      status: field(fc.constantFrom('in_sync', 'out_of_sync', 'updating', 'error', 'dry_run', 'disabled')),
      content: field(fc.option(fc.ipV4(), { nil: null })),
      zone_id: field(text),
      zone_name: field(text),
      record_id: field(text),
      ttl: field(fc.option(fc.constantFrom(1, 60, 300), { nil: null })),
      proxied: field(fc.option(fc.boolean(), { nil: null })),
      last_update: field(nullableTime),
      last_written_content: field(text),
      api_checked_at: field(nullableTime),
      api_checked_ip: field(text),
      error: field(text),
      message: field(text),
      failures: field(fc.nat(20)),
      next_attempt_at: field(nullableTime),
      blocked_for: field(text),
    },
    { requiredKeys: ['name', 'type', 'status'] },
  );
}

const hour = Math.floor(NOW / 3_600_000);
const bucket = fc
  .tuple(fc.integer({ min: hour - 800, max: hour + 5 }), fc.nat(3_600_000), fc.nat(3_600_000))
  .map(([h, a, b]) => [h, Math.min(a, b), Math.max(a, b)]);
const uptime = fc.record(
  {
    version: field(fc.constant(1)),
    buckets: field(fc.array(field(bucket), { maxLength: 6 })),
    last: field(fc.option(fc.record({ at: time, health: field(fc.constantFrom(...HEALTH)) }), { nil: null })),
    outages: field(
      fc.array(
        field(
          fc.record(
            {
              start: time,
              end: nullableTime,
              class: field(fc.constantFrom(...HEALTH)),
              action: field(fc.constantFrom('none', 'skipped', 'would_cycle', 'power_cycle', 'exhausted')),
              power_cycles: field(fc.nat(5)),
            },
            { requiredKeys: ['start', 'class'] },
          ),
        ),
        { maxLength: 4 },
      ),
    ),
  },
  { requiredKeys: [] },
);

const cycle = fc.record(
  {
    at: time,
    finished_at: nullableTime,
    ok: field(fc.option(fc.boolean(), { nil: null })),
    manual: field(fc.boolean()),
    simulated: field(fc.boolean()),
  },
  { requiredKeys: ['at'] },
);
const recovery = fc.record(
  {
    version: field(fc.constant(1)),
    enabled: field(fc.option(fc.boolean(), { nil: null })),
    cycles: field(fc.array(field(cycle), { maxLength: 4 })),
    power_cycles_total: field(fc.nat(100)),
    current: field(
      fc.option(
        fc.record({
          phase: field(fc.constantFrom('off', 'on')),
          started_at: time,
          plug: field(fc.constantFrom('tasmota', 'shelly', 'http')),
          off_seconds: field(fc.integer({ min: 1, max: 3600 })),
          manual: field(fc.boolean()),
          reason: field(anyText(20)),
        }),
        { nil: null },
      ),
    ),
    counters_reset_at: field(nullableTime),
    exhausted_at: field(nullableTime),
    skip_noted_at: field(nullableTime),
  },
  { requiredKeys: [] },
);

function document(junk: boolean) {
  const field = junk ? anyField : <T>(a: fc.Arbitrary<T>) => a;
  const nullableTime = fc.option(junk ? time : validTime, { nil: null, freq: 4 });
  return fc.record(
    {
      schema: field(fc.constant(1)),
      public_ip: field(
        fc.record({
          ipv4: field(fc.option(fc.ipV4(), { nil: null })),
          ipv6: field(fc.option(fc.ipV6(), { nil: null })),
          verified: field(fc.boolean()),
          sources_agreeing: field(fc.array(fc.webUrl(), { maxLength: 2 })),
          checked_at: field(nullableTime),
          error: field(text),
        }),
      ),
      dns: field(
        fc.record({
          last_sync: field(nullableTime),
          last_change: field(nullableTime),
          records: field(
            fc.dictionary(fc.string({ maxLength: 24 }), field(recordState(junk)), { maxKeys: 3 }),
          ),
        }),
      ),
      ha_components: field(
        fc.dictionary(fc.string({ maxLength: 12 }), fc.constantFrom('sensor', 'button'), { maxKeys: 3 }),
      ),
      uptime: anyField(uptime),
      recovery: anyField(recovery),
      future_key: jsonValue(2),
    },
    { requiredKeys: ['schema', 'public_ip', 'dns'] },
  );
}
/** Mostly documents whose DNS part is valid, some damaged anywhere. */
const anyDocument = fc.oneof(
  { weight: 2, arbitrary: document(false) },
  { weight: 1, arbitrary: document(true) },
);

/** `depth` nested arrays under an unknown top-level key (dropped by the schema), or as the whole file. */
const deeplyNested = fc
  .tuple(anyDocument, fc.integer({ min: 1_000, max: 200_000 }), fc.boolean())
  .map(([d, depth, inKey]) =>
    Buffer.from(inKey ? JSON.stringify(d).replace(/^\{/, `{"x":${nested(depth)},`) : nested(depth)),
  );

/** A state file's bytes, from plausible to hostile; `deep` adds deeply nested JSON. */
function content(deep: boolean): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 6, arbitrary: anyDocument.map((d) => Buffer.from(JSON.stringify(d, null, 2))) },
    {
      weight: 2,
      arbitrary: fc.tuple(anyDocument, fc.double({ min: 0, max: 1, noNaN: true })).map(([d, cut]) => {
        const t = JSON.stringify(d, null, 2);
        return Buffer.from(t.slice(0, Math.floor(t.length * cut)));
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(anyDocument, fc.constantFrom(...ODD_JSON_NUMBERS), fc.nat(20))
        .map(([d, n, which]) => {
          let i = 0;
          return Buffer.from(
            JSON.stringify(d).replace(/(?<=:)-?\d+(\.\d+)?(e[+-]?\d+)?/gi, (m) => (i++ === which ? n : m)),
          );
        }),
    },
    ...(deep ? [{ weight: 1, arbitrary: deeplyNested }] : []),
    { weight: 1, arbitrary: bytes(2048) },
    { weight: 1, arbitrary: jsonValue(3).map((v) => Buffer.from(JSON.stringify(v) ?? '')) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('', ' ', 'null', '{}', '[]', '\uFEFF{"schema":1}', '{"schema":2}', '\0\0\0')
        .map((s) => Buffer.from(s)),
    },
    // Larger than a state file may be (1 MiB).
    {
      weight: 1,
      arbitrary: fc.constant(null).map(() => Buffer.from(`{"schema":1,"pad":"${'x'.repeat(1024 * 1024)}"}`)),
    },
  );
}

type Slot = Buffer | 'directory' | null;
function slot(deep: boolean, directory = true): fc.Arbitrary<Slot> {
  return fc.oneof(
    { weight: 6, arbitrary: content(deep) },
    { weight: 2, arbitrary: fc.constant(null) },
    ...(directory ? [{ weight: 1, arbitrary: fc.constant('directory' as const) }] : []),
  );
}

/** The oracle: would this file, read as the store reads it, pass the schema? */
function valid(s: Slot): boolean {
  if (s === null || s === 'directory' || s.length > 1024 * 1024) return false;
  try {
    return persistedStateSchema.safeParse(JSON.parse(s.toString('utf8'))).success;
  } catch {
    return false;
  }
}

function storeIn(dir: string) {
  return new JsonFileStore<PersistedState>({
    dir,
    schema: persistedStateSchema as never,
    fresh: freshState,
    logger: logSink({ level: 'fatal' }).logger,
    now: () => NOW,
  });
}

async function place(path: string, s: Slot): Promise<void> {
  if (s === 'directory') await mkdir(path);
  else if (s !== null) await writeFile(path, s);
}

const KNOWN_KEYS = ['schema', 'public_ip', 'dns', 'ha_components', 'uptime', 'recovery'];

/** The parts of a state the schema knows. */
function known(state: PersistedState): Partial<PersistedState> {
  const { schema, public_ip, dns, ha_components, uptime, recovery } = state;
  return { schema, public_ip, dns, ha_components, uptime, recovery };
}

/** Each run gets its own state_dir with these files in it. */
async function setUp(main: Slot, bak: Slot): Promise<string> {
  const dir = await mkdtemp(join(base, 'run-'));
  await place(join(dir, 'state.json'), main);
  await place(join(dir, 'state.json.bak'), bak);
  return dir;
}

describe('state files (property)', () => {
  it('any/main and .bak contents/load gives a valid state and keeps unusable files aside', async () => {
    await fc.assert(
      fc.asyncProperty(slot(true), slot(true), async (main, bak) => {
        const dir = await setUp(main, bak);
        const loaded = await storeIn(dir).load(); // a throw fails the property
        const { state, outcome } = loaded;

        // A valid state, watchdog sections included.
        expect(persistedStateSchema.safeParse(state).success).toBe(true);
        if (state.uptime !== undefined) expect(uptimeStateSchema.safeParse(state.uptime).success).toBe(true);
        if (state.recovery !== undefined)
          expect(recoveryStateSchema.safeParse(state.recovery).success).toBe(true);

        // The outcome the files call for.
        const expected = valid(main)
          ? 'loaded'
          : valid(bak)
            ? 'from_backup'
            : main === null && bak === null
              ? 'new'
              : 'fresh';
        expect(outcome).toBe(expected);
        if (outcome === 'loaded') {
          const file = persistedStateSchema.parse(JSON.parse((main as Buffer).toString('utf8')));
          // Unknown top-level keys (a newer version's, or junk nested 200,000 deep) are dropped.
          expect(Object.keys(state).every((k) => KNOWN_KEYS.includes(k))).toBe(true);
          expect(known(state)).toEqual(known(file));
        }
        if (outcome === 'from_backup' || outcome === 'fresh') expect(loaded.message).toBeTruthy();

        // Nothing lost: an unusable main file (or a .bak that had to be given up) is kept, byte for byte.
        const names = await readdir(dir);
        const kept = async (prefix: string, original: Buffer) => {
          const aside = names.filter((f) => f.startsWith(`${prefix}.corrupt-`));
          expect(aside.length).toBeGreaterThan(0);
          const copies = await Promise.all(aside.map((f) => readFile(join(dir, f)).catch(() => null)));
          expect(copies.some((c) => c?.equals(original))).toBe(true);
        };
        if (Buffer.isBuffer(main) && outcome !== 'loaded') await kept('state.json', main);
        if (Buffer.isBuffer(bak) && outcome === 'fresh' && main !== null) await kept('state.json.bak', bak);
        await rm(dir, { recursive: true, force: true });
      }),
      params(200),
    );
  }, 60_000);

  it('any/loaded state/is saved and loads back unchanged', async () => {
    // Deeply nested unknown keys and a directory named state.json.bak included: before the fix each
    // made every save fail (RangeError or "over 1 MiB"; EISDIR) while the main file kept loading.
    await fc.assert(
      fc.asyncProperty(slot(true), slot(true), async (main, bak) => {
        const dir = await setUp(main, bak);
        const { state } = await storeIn(dir).load();
        await storeIn(dir).save(state);
        const again = await storeIn(dir).load();
        expect(again.outcome).toBe('loaded');
        expect(again.state).toEqual(JSON.parse(JSON.stringify(state)));
        await rm(dir, { recursive: true, force: true });
      }),
      params(100),
    );
  }, 60_000);

  // Before the fix: depth ~200k made JSON.stringify throw RangeError outside the save's try (not
  // even a StateError); depth ~1k+ made the indented file over 1 MiB, so every save was refused.
  it('unknown key/nested 1,000 to 200,000 deep/loads, is dropped, and the state saves', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1_000, max: 200_000 }), async (depth) => {
        const dir = await mkdtemp(join(base, 'deep-'));
        const doc = JSON.stringify(freshState()).replace(/^\{/, `{"x":${nested(depth)},`);
        await writeFile(join(dir, 'state.json'), doc);
        const loaded = await storeIn(dir).load();
        expect(loaded.outcome).toBe('loaded');
        expect('x' in loaded.state).toBe(false);
        await storeIn(dir).save(loaded.state);
        const again = await storeIn(dir).load();
        expect(again.outcome).toBe('loaded');
        expect(again.state).toEqual(freshState());
        await rm(dir, { recursive: true, force: true });
      }),
      params(20),
    );
  }, 30_000);

  it('state.json.bak/a directory/the loaded state saves, the directory kept aside', async () => {
    const dir = await mkdtemp(join(base, 'bakdir-'));
    await writeFile(join(dir, 'state.json'), JSON.stringify(freshState()));
    await mkdir(join(dir, 'state.json.bak'));
    const loaded = await storeIn(dir).load();
    expect(loaded.outcome).toBe('loaded');
    await storeIn(dir).save(loaded.state);
    expect((await storeIn(dir).load()).outcome).toBe('loaded');
    expect((await readdir(dir)).some((f) => f.startsWith('state.json.bak.corrupt-'))).toBe(true);
  });
});
