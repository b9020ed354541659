import { describe, expect, it } from 'vitest';
import {
  type CommandDeps,
  commandHandlers,
  runCommandPayload,
  WATCHDOG_NOT_RUNNING,
} from '../src/command-handlers.js';
import {
  type CommandHandlers,
  EMPTY_REBOOT,
  MAX_COMMAND_BYTES,
  parseCommand,
  responseTopicProblem,
} from '../src/commands.js';
import type { CycleResult } from '../src/reconciler/reconciler.js';
import type { WatchdogCommands } from '../src/watchdog/commands.js';
import { logSink } from './helpers/log-sink.js';

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
    ['reboot/press lower case', 'reboot', 'press', { command: 'reboot' }],
    ['reboot/json empty', 'reboot', '{}', { command: 'reboot' }],
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
    ['reboot/empty/never acted on', 'reboot', '', /reboot needs PRESS or a JSON object/],
    ['reboot/whitespace only/never acted on', 'reboot', ' \n', /an empty payload is never acted on/],
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

describe('commandHandlers', () => {
  const ok: CycleResult = { ok: true, changes: 0, retryAt: null, summary: [], ipVerified: true };
  /** Handlers over a scheduler stand-in that records what it was asked and "runs" `result`. */
  function handlers(
    o: {
      records?: string[];
      mode?: 'enforce' | 'dry-run';
      result?: CycleResult | null;
      ran?: boolean;
      watchdog?: CommandDeps['watchdog'];
    } = {},
  ) {
    const asked: Array<{ reason: string; records?: readonly string[] }> = [];
    let last: CycleResult | null = null;
    const h = commandHandlers({
      config: {
        records: (o.records ?? ['home.example.com', 'vpn.example.com']).map((name) => ({ name }) as never),
        mode: o.mode ?? 'enforce',
      },
      sync: async (reason, records) => {
        asked.push({ reason, ...(records ? { records } : {}) });
        last = o.result === undefined ? ok : o.result;
        return o.ran ?? true;
      },
      lastCycle: () => last,
      watchdog: o.watchdog ?? null,
    });
    return { h, asked };
  }

  it.each([
    ['sync/all/nothing to change', {}, undefined, { ok: true, message: 'DNS sync done: nothing to change' }],
    [
      'sync/changes/made',
      { result: { ...ok, changes: 2 } },
      undefined,
      { ok: true, message: 'DNS sync done: 2 change(s) made' },
    ],
    [
      'sync/dry-run/would be made',
      { mode: 'dry-run' as const, result: { ...ok, changes: 1 } },
      undefined,
      { ok: true, message: 'DNS sync done: 1 change(s) would be made (dry-run)' },
    ],
    [
      'sync/problems/failed (not refused), first five listed',
      { result: { ...ok, ok: false, summary: ['a', 'b', 'c', 'd', 'e', 'f'] } },
      undefined,
      { ok: false, failure: 'failed', message: 'DNS sync finished with problems: a; b; c; d; e' },
    ],
    [
      'sync/unknown record/refused before any cycle',
      {},
      ['nope.example.com'],
      { ok: false, message: 'not a configured record: nope.example.com' },
    ],
    [
      'sync/no records configured/refused',
      { records: [] },
      undefined,
      { ok: false, message: 'no records are configured: set records to manage DNS' },
    ],
    [
      'sync/agent stopping/did not run',
      { ran: false },
      undefined,
      { ok: false, message: 'the agent is stopping; the sync did not run' },
    ],
  ])('%s', async (_name, options, records, answer) => {
    const { h } = handlers(options);
    expect(await h.sync(records)).toEqual(answer);
  });

  it('sync/named records/normalised and passed to the scheduler as a command', async () => {
    const { h, asked } = handlers();
    await h.sync(['VPN.example.com.']);
    expect(asked).toEqual([{ reason: 'command', records: ['vpn.example.com'] }]);
  });

  it('sync/unknown record/no cycle runs', async () => {
    const { h, asked } = handlers();
    await h.sync(['home.example.com', 'nope.example.com']);
    expect(asked).toEqual([]);
  });

  it('watchdog not running/reboot, probe and recovery are refused, saying to try again', async () => {
    const { h } = handlers({ watchdog: () => null });
    expect([await h.reboot(undefined), await h.probe(), await h.recovery(true)]).toEqual([
      { ok: false, message: `reboot refused: ${WATCHDOG_NOT_RUNNING}` },
      { ok: false, message: `probe refused: ${WATCHDOG_NOT_RUNNING}` },
      { ok: false, message: `recovery refused: ${WATCHDOG_NOT_RUNNING}` },
    ]);
  });

  it('watchdog started later/the same handlers reach it once it runs', async () => {
    let running: WatchdogCommands | null = null;
    const { h } = handlers({ watchdog: () => running });
    expect((await h.probe()).ok).toBe(false);
    running = {
      reboot: async () => ({ ok: true, message: 'cycling' }),
      probe: async () => ({ ok: true, message: 'probed' }),
      recovery: async () => ({ ok: true, message: 'set' }),
    };
    expect(await h.probe()).toEqual({ ok: true, message: 'probed' });
  });

  it("watchdog wired/its three commands answer, with the payload's values", async () => {
    const calls: string[] = [];
    const { h } = handlers({
      watchdog: {
        reboot: async (off) => {
          calls.push(`reboot ${off}`);
          return { ok: true, message: 'cycling' };
        },
        probe: async () => {
          calls.push('probe');
          return { ok: true, message: 'probed' };
        },
        recovery: async (on) => {
          calls.push(`recovery ${on}`);
          return { ok: true, message: 'set' };
        },
      },
    });
    expect(await h.reboot(45)).toEqual({ ok: true, message: 'cycling' });
    expect(await h.probe()).toEqual({ ok: true, message: 'probed' });
    expect(await h.recovery(false)).toEqual({ ok: true, message: 'set' });
    expect(calls).toEqual(['reboot 45', 'probe', 'recovery false']);
  });
});

describe('runCommandPayload (the HTTP face of the MQTT command path)', () => {
  function recorder(answer = { ok: true, message: 'done' }) {
    const calls: string[] = [];
    const h: CommandHandlers = {
      sync: async (records) => {
        calls.push(`sync ${records?.join(',') ?? 'all'}`);
        return answer;
      },
      reboot: async (off) => {
        calls.push(`reboot ${off}`);
        return answer;
      },
      probe: async () => {
        calls.push('probe');
        return answer;
      },
      recovery: async (on) => {
        calls.push(`recovery ${on}`);
        return answer;
      },
    };
    return { h, calls };
  }
  const run = (h: CommandHandlers, name: 'sync' | 'reboot' | 'probe' | 'recovery', payload: string) => {
    const sink = logSink();
    return runCommandPayload(h, name, b(payload), { logger: sink.logger, via: 'http' }).then((r) => ({
      r,
      log: sink.lines().map((l) => String(l.msg)),
    }));
  };

  it.each([
    [
      'sync/json with records and transaction',
      'sync',
      '{"records":["a.example.com"],"transaction":"t1"}',
      'sync a.example.com',
      { command: 'sync', ok: true, message: 'done', transaction: 't1' },
    ],
    [
      'reboot/json off_seconds',
      'reboot',
      '{"off_seconds":45}',
      'reboot 45',
      { command: 'reboot', ok: true, message: 'done' },
    ],
    ['probe/json empty', 'probe', '{}', 'probe', { command: 'probe', ok: true, message: 'done' }],
    [
      'recovery/json enabled false',
      'recovery',
      '{"enabled":false}',
      'recovery false',
      { command: 'recovery', ok: true, message: 'done' },
    ],
  ])('%s → the handler runs with the parsed values', async (_n, name, payload, call, answer) => {
    const { h, calls } = recorder();
    const { r, log } = await run(h, name as 'sync', payload);
    expect(calls).toEqual([call]);
    expect(r).toEqual(answer);
    expect(log).toContain(`${name} command done: done`);
  });

  it.each([
    ['reboot/empty', 'reboot', '', EMPTY_REBOOT],
    ['sync/unknown field', 'sync', '{"recordz":[],"transaction":"t2"}', 'unknown field "recordz"'],
  ])('%s → invalid, nothing runs, the reason is the parser’s', async (_n, name, payload, reason) => {
    const { h, calls } = recorder();
    const { r, log } = await run(h, name as 'sync', payload);
    expect(calls).toEqual([]);
    expect(r).toMatchObject({ command: name, ok: false, message: reason, failure: 'invalid' });
    expect(log).toContain(`Refused the ${name} command: ${reason}.`);
  });

  it('a refusal from the handler → refused, with its message', async () => {
    const { h } = recorder({ ok: false, message: 'reboot refused: no plug is configured' });
    const { r } = await run(h, 'reboot', 'PRESS');
    expect(r).toEqual({
      command: 'reboot',
      ok: false,
      message: 'reboot refused: no plug is configured',
      failure: 'refused',
    });
  });

  it('a handler that throws → failed, logged, never thrown', async () => {
    const h = { ...recorder().h, probe: async () => Promise.reject(new Error('boom')) };
    const { r, log } = await run(h, 'probe', '{"transaction":"x"}');
    expect(r).toEqual({
      command: 'probe',
      ok: false,
      message: 'failed: boom',
      failure: 'failed',
      transaction: 'x',
    });
    expect(log).toContain('The probe command failed: boom');
  });
});
