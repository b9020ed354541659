import { describe, expect, it } from 'vitest';
import { MAX_COMMAND_BYTES, parseCommand, responseTopicProblem } from '../src/commands.js';

const b = (s: string) => Buffer.from(s);

describe('parseCommand', () => {
  it.each([
    ['sync/empty', 'sync', '', { command: 'sync' }],
    ['sync/press', 'sync', 'PRESS', { command: 'sync' }],
    ['sync/json-empty', 'sync', '{}', { command: 'sync' }],
    [
      'sync/records',
      'sync',
      '{"records":["a.example.com"]}',
      { command: 'sync', records: ['a.example.com'] },
    ],
    ['sync/transaction-echoed', 'sync', '{"transaction":"t-1"}', { command: 'sync', transaction: 't-1' }],
    ['sync/numeric-transaction', 'sync', '{"transaction":42}', { command: 'sync', transaction: '42' }],
    ['reboot/press', 'reboot', 'PRESS', { command: 'reboot' }],
    ['reboot/off-seconds', 'reboot', '{"off_seconds":45}', { command: 'reboot', offSeconds: 45 }],
    ['probe/empty', 'probe', '', { command: 'probe' }],
    ['recovery/ON', 'recovery', 'ON', { command: 'recovery', enabled: true }],
    ['recovery/off', 'recovery', 'off', { command: 'recovery', enabled: false }],
    [
      'recovery/json-enabled',
      'recovery',
      '{"enabled":false,"transaction":"x"}',
      { command: 'recovery', enabled: false, transaction: 'x' },
    ],
    ['recovery/json-state', 'recovery', '{"state":"ON"}', { command: 'recovery', enabled: true }],
  ])('%s → accepted', (_n, name, payload, expected) => {
    expect(parseCommand(name, b(payload))).toEqual({ kind: 'ok', value: expected });
  });

  it.each([
    ['sync/not-json', 'sync', 'please sync', /not valid JSON/],
    ['sync/json-array', 'sync', '[1,2]', /must be an object/],
    ['sync/unknown-field', 'sync', '{"recordz":["a"]}', /unknown field "recordz"/],
    ['sync/records-not-array', 'sync', '{"records":"a.example.com"}', /"records"/],
    ['sync/records-empty', 'sync', '{"records":[]}', /"records"/],
    ['reboot/off-seconds-negative', 'reboot', '{"off_seconds":-5}', /"off_seconds"/],
    ['reboot/off-seconds-string', 'reboot', '{"off_seconds":"30"}', /"off_seconds"/],
    ['recovery/maybe', 'recovery', 'MAYBE', /ON or OFF/],
    ['recovery/json-without-state', 'recovery', '{}', /needs "enabled"/],
    ['unknown-command', 'format_disk', '', /unknown command "format_disk"/],
  ])('%s → refused with a reason', (_n, name, payload, reason) => {
    const r = parseCommand(name, b(payload));
    expect(r.kind).toBe('invalid');
    if (r.kind === 'invalid') expect(r.reason).toMatch(reason);
  });

  it('an oversize payload (over 4 KiB) is refused without parsing it', () => {
    const big = JSON.stringify({ records: Array.from({ length: 400 }, (_, i) => `host${i}.example.com`) });
    expect(big.length).toBeGreaterThan(MAX_COMMAND_BYTES);
    const r = parseCommand('sync', b(big));
    expect(r).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/limited to 4096 bytes/) });
  });

  it('a refused JSON command still echoes its transaction', () => {
    expect(parseCommand('sync', b('{"transaction":"abc","bogus":1}'))).toMatchObject({
      kind: 'invalid',
      transaction: 'abc',
    });
  });
});

describe('responseTopicProblem', () => {
  const own = { baseTopic: 'ddns-watchdog', discoveryPrefix: 'homeassistant' };
  it.each([
    ['other/app-topic', 'my-flow/replies'],
    ['own/command-result', 'ddns-watchdog/command/result'],
    ['other/prefix-lookalike', 'ddns-watchdog-2/state'],
    ['other/case-differs', 'DDNS-watchdog/state'],
    ['other/discovery-lookalike', 'homeassistant2/x'],
  ])('%s: %s is allowed', (_n, topic) => {
    expect(responseTopicProblem(topic, own)).toBeNull();
  });

  it.each([
    ['own/state', 'ddns-watchdog/state', /under ddns-watchdog\//],
    ['own/availability', 'ddns-watchdog/availability', /under ddns-watchdog\//],
    ['own/command', 'ddns-watchdog/command/reboot', /under ddns-watchdog\//],
    ['own/base-itself', 'ddns-watchdog', /under ddns-watchdog\//],
    ['own/empty-level', 'ddns-watchdog//state', /under ddns-watchdog\//],
    ['discovery/device-config', 'homeassistant/device/ddns_watchdog/config', /under homeassistant\//],
    ['discovery/status', 'homeassistant/status', /under homeassistant\//],
    ['wildcard/plus', 'my/+/replies', /wildcard/],
    ['wildcard/hash', 'my/#', /wildcard/],
    ['nul', 'my/\0replies', /NUL/],
    ['empty', '', /empty/],
    ['reserved/dollar', '$SYS/broker', /\$/],
  ])('%s: %s is refused', (_n, topic, reason) => {
    expect(responseTopicProblem(topic, own)).toMatch(reason);
  });
});
