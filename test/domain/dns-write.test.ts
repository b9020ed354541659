import { describe, expect, it } from 'vitest';
import type { DnsRecord } from '../../src/domain/dns.js';
import { planFromApi } from '../../src/domain/dns-plan.js';
import {
  buildNewRecord,
  buildPatch,
  planRecovery,
  planWithoutToken,
  planWrite,
  type RecordSettings,
} from '../../src/domain/dns-write.js';

const auto: RecordSettings = { ttl: 1, ttlExplicit: false, proxied: undefined };
const explicit: RecordSettings = { ttl: 120, ttlExplicit: true, proxied: false };

function rec(content: string, id = 'r1'): DnsRecord {
  return {
    id,
    zoneId: 'z',
    name: 'home.example.com',
    type: 'A',
    content,
    proxied: false,
    ttl: 60,
    comment: null,
    tags: [],
  };
}

describe('buildPatch / buildNewRecord (the one place a body is built)', () => {
  it.each([
    [
      'patch/defaults/content-only-so-ttl-proxied-comment-tags-survive',
      auto,
      { id: 'r1', content: '81.2.69.9' },
    ],
    [
      'patch/ttl-set-by-user/sent',
      { ...auto, ttl: 300, ttlExplicit: true },
      { id: 'r1', content: '81.2.69.9', ttl: 300 },
    ],
    [
      'patch/proxied-set-by-user/sent',
      { ...auto, proxied: true },
      { id: 'r1', content: '81.2.69.9', proxied: true },
    ],
    ['patch/both-set', explicit, { id: 'r1', content: '81.2.69.9', ttl: 120, proxied: false }],
  ] as const)('%s', (_n, settings, body) => {
    expect(buildPatch('r1', '81.2.69.9', settings)).toEqual(body);
  });

  it.each([
    [
      'create/defaults/auto-ttl-no-proxied-flag',
      auto,
      { name: 'a.example.com', type: 'A', content: '81.2.69.9', ttl: 1 },
    ],
    [
      'create/explicit/ttl-and-proxied',
      explicit,
      { name: 'a.example.com', type: 'A', content: '81.2.69.9', ttl: 120, proxied: false },
    ],
  ] as const)('%s', (_n, settings, body) => {
    expect(buildNewRecord('a.example.com', 'A', '81.2.69.9', settings)).toEqual(body);
  });
});

describe('planWrite (what the cycle does once the id is known)', () => {
  const base = {
    name: 'a.example.com',
    type: 'A' as const,
    desired: '81.2.69.9',
    old: '81.2.69.1' as string | null,
    settings: auto,
    dryRun: false,
    createMissing: true,
  };
  it.each([
    [
      'id/enforce/patch',
      { recordId: 'r1' },
      {
        kind: 'patch',
        patch: { id: 'r1', content: '81.2.69.9' },
        old: '81.2.69.1',
        pending: 'changing from 81.2.69.1 to 81.2.69.9',
      },
    ],
    [
      'id/enforce/old-unknown',
      { recordId: 'r1', old: null },
      { kind: 'patch', pending: 'changing from unknown to 81.2.69.9' },
    ],
    [
      'id/dry-run/says-what-would-change',
      { recordId: 'r1', dryRun: true },
      { kind: 'dry_run', message: 'would update A a.example.com from 81.2.69.1 to 81.2.69.9' },
    ],
    [
      'no-id/enforce/create',
      { recordId: null },
      {
        kind: 'create',
        record: { name: 'a.example.com', type: 'A', content: '81.2.69.9', ttl: 1 },
        pending: 'creating it with 81.2.69.9',
      },
    ],
    [
      'no-id/dry-run/would-create',
      { recordId: null, dryRun: true },
      { kind: 'dry_run', message: 'would create A a.example.com → 81.2.69.9' },
    ],
    [
      'no-id/create-missing-off/only-the-user-can-fix',
      { recordId: null, createMissing: false },
      {
        kind: 'not_creatable',
        message:
          'A record a.example.com does not exist and create_missing_records is off: create it in Cloudflare or turn the option on',
      },
    ],
    [
      'no-id/create-missing-off/dry-run-says-so-too',
      { recordId: null, createMissing: false, dryRun: true },
      { kind: 'not_creatable' },
    ],
  ] as const)('%s', (_n, over, expected) => {
    expect(planWrite({ ...base, ...over })).toMatchObject(expected);
  });
});

describe('planWithoutToken (DoH only: always a dry run)', () => {
  const base = { name: 'a.example.com', type: 'A' as const, desired: '81.2.69.9' };
  it.each([
    [
      'differs/would-update',
      { neededApi: false, proxied: false, content: '81.2.69.1' },
      'would update A a.example.com from 81.2.69.1 to 81.2.69.9',
      true,
    ],
    [
      'missing/would-create',
      { neededApi: false, proxied: false, content: null },
      'would create A a.example.com → 81.2.69.9',
      true,
    ],
    [
      'proxied/cannot-be-read',
      { neededApi: true, proxied: true, content: null },
      'proxied record: its origin address cannot be read without cloudflare_api_token',
      false,
    ],
    [
      'unsure/not-counted-as-a-change',
      { neededApi: true, proxied: false, content: '81.2.69.1' },
      'would update A a.example.com from 81.2.69.1 to 81.2.69.9',
      false,
    ],
  ] as const)('%s', (_n, over, message, counts) => {
    expect(planWithoutToken({ ...base, ...over })).toEqual({ message, counts });
  });
});

describe('planRecovery (a stale id, or a record that already exists)', () => {
  it.each([
    ['gone/relisted-right/done', 'gone', [rec('81.2.69.9')], true, { kind: 'done' }],
    [
      'gone/relisted-other-id/patch-that-id',
      'gone',
      [rec('81.2.69.1', 'r2')],
      true,
      { kind: 'patch', id: 'r2' },
    ],
    ['gone/nothing-left/create', 'gone', [], true, { kind: 'create' }],
    ['gone/nothing-left/create-missing-off/give-up', 'gone', [], false, { kind: 'give_up' }],
    [
      'gone/two-records/conflict',
      'gone',
      [rec('81.2.69.1', 'a'), rec('81.2.69.2', 'b')],
      true,
      { kind: 'conflict', count: 2 },
    ],
    ['exists/right/satisfied', 'exists', [rec('81.2.69.9')], true, { kind: 'done' }],
    ['exists/other-content/patch-it', 'exists', [rec('81.2.69.1', 'r3')], true, { kind: 'patch', id: 'r3' }],
    [
      'exists/two-records/conflict',
      'exists',
      [rec('81.2.69.1', 'a'), rec('81.2.69.2', 'b')],
      true,
      { kind: 'conflict', count: 2 },
    ],
    ['exists/listing-empty/give-up-never-loop', 'exists', [], true, { kind: 'give_up' }],
  ] as const)('%s', (_n, cause, records, createMissing, expected) => {
    expect(planRecovery(cause, planFromApi(records, '81.2.69.9'), createMissing)).toMatchObject(expected);
  });
});
