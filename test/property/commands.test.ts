/**
 * Property: any MQTT command payload (SPEC §6) — any bytes, invalid UTF-8 included, 0 to 8 KiB,
 * or a payload too large to have been read at all — is parsed into a well-formed command or
 * refused with a reason. Never a throw: a crash here would take the MQTT bridge down with it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, MAX_COMMAND_BYTES, parseCommand } from '../../src/commands.js';
import { anyText, bytes, jsonValue, params } from './arbitraries.js';

/** The fields each command's JSON payload may hold (SPEC §6); anything else is an unknown field. */
const FIELDS: Record<string, readonly string[]> = {
  sync: ['records', 'transaction'],
  reboot: ['off_seconds', 'transaction'],
  probe: ['transaction'],
  recovery: ['enabled', 'state', 'transaction'],
};

/** The plain (non-JSON) payloads the buttons and the switch send. */
const PLAIN = ['', 'PRESS', 'press', 'ON', 'OFF', 'on', 'off', 'On', 'Off', 'true', 'false', '1', '0'];

const name = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...COMMAND_NAMES) },
  {
    weight: 1,
    arbitrary: fc.oneof(anyText(12), fc.constantFrom('result', 'Sync', 'REBOOT', 'sync/', '+', '#')),
  },
);

/** A JSON object of the command's own fields with values of any type, sometimes with a stranger. */
const commandObject = fc
  .record(
    {
      records: fc.oneof(fc.array(fc.oneof(fc.domain(), anyText(16)), { maxLength: 4 }), jsonValue(2)),
      off_seconds: fc.oneof(fc.integer({ min: -10, max: 5000 }), fc.double(), jsonValue(1)),
      enabled: fc.oneof(fc.boolean(), jsonValue(1)),
      state: fc.oneof(fc.constantFrom('ON', 'OFF', 'on', 'off', 'On', ''), jsonValue(1)),
      transaction: fc.oneof(
        anyText(40),
        fc.string({ minLength: 190, maxLength: 210 }),
        fc.integer(),
        jsonValue(1),
      ),
      extra: jsonValue(1),
    },
    { requiredKeys: [] },
  )
  .map((o) => {
    const { extra, ...rest } = o as Record<string, unknown>;
    return extra === undefined ? rest : { ...rest, [`x_${typeof extra}`]: extra };
  });

const padding = fc.constantFrom('', ' ', '\n', '\t', '  \r\n ');

/** Payload bytes: random, plain words, JSON objects (some right at the 4 KiB limit), any JSON. */
const payload: fc.Arbitrary<Buffer> = fc.oneof(
  bytes(8 * 1024),
  fc.tuple(padding, fc.constantFrom(...PLAIN), padding).map(([a, w, b]) => Buffer.from(`${a}${w}${b}`)),
  fc.tuple(padding, commandObject, padding).map(([a, o, b]) => Buffer.from(`${a}${JSON.stringify(o)}${b}`)),
  fc
    .tuple(commandObject, fc.integer({ min: MAX_COMMAND_BYTES - 40, max: MAX_COMMAND_BYTES + 40 }))
    .map(([o, size]) => {
      const text = JSON.stringify(o);
      return Buffer.from(text + ' '.repeat(Math.max(0, size - Buffer.byteLength(text))));
    }),
  jsonValue(3).map((v) => Buffer.from(JSON.stringify(v) ?? '')),
);

/** Set when the payload was too large for the MQTT packet cap and never read. */
const oversize = fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: undefined, freq: 8 });

function jsonObjectOf(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

describe('MQTT command payloads (property)', () => {
  it('any/name, bytes and size/parse to a well-formed command or a refusal with a reason', () => {
    fc.assert(
      fc.property(name, payload, oversize, (cmd, bytes, over) => {
        const result = parseCommand(cmd, bytes, over); // a throw fails the property
        const known = (COMMAND_NAMES as readonly string[]).includes(cmd);
        const size = over ?? bytes.length;
        const text = bytes.toString('utf8').trim();
        const obj = jsonObjectOf(text);

        if (result.kind === 'invalid') {
          expect(result.command).toBe(cmd);
          expect(typeof result.reason).toBe('string');
          expect(result.reason.trim().length).toBeGreaterThan(0);
          // The transaction of a JSON command is echoed even on a refusal.
          const t = obj?.transaction;
          if (known && size <= MAX_COMMAND_BYTES && (typeof t === 'string' || typeof t === 'number')) {
            expect(result.transaction).toBe(String(t));
          }
          return;
        }

        // Accepted: only known commands of at most 4 KiB, without unknown fields; never an empty
        // reboot (SPEC §6: that is what clearing a retained reboot by hand sends).
        expect(known).toBe(true);
        if (cmd === 'reboot') expect(text).not.toBe('');
        expect(size).toBeLessThanOrEqual(MAX_COMMAND_BYTES);
        const value = result.value;
        expect(value.command).toBe(cmd);
        if (value.transaction !== undefined) expect(typeof value.transaction).toBe('string');
        if (!PLAIN.includes(text)) {
          // Neither a button press nor ON/OFF: it must have been a JSON object of the command's own fields.
          expect(obj).not.toBeNull();
          for (const key of Object.keys(obj ?? {})) expect(FIELDS[cmd]).toContain(key);
          const t = obj?.transaction;
          if (t !== undefined) expect(value.transaction).toBe(String(t));
        }
        switch (value.command) {
          case 'sync':
            if (value.records !== undefined) {
              expect(value.records.length).toBeGreaterThan(0);
              for (const r of value.records) {
                expect(typeof r).toBe('string');
                expect(r.length).toBeGreaterThan(0);
              }
            }
            break;
          case 'reboot':
            if (value.offSeconds !== undefined) {
              expect(Number.isInteger(value.offSeconds)).toBe(true);
              expect(value.offSeconds).toBeGreaterThanOrEqual(1);
              expect(value.offSeconds).toBeLessThanOrEqual(3600);
            }
            break;
          case 'recovery':
            expect(typeof value.enabled).toBe('boolean');
            break;
          case 'probe':
            break;
        }
      }),
      params(3000),
    );
  });

  it('json/unknown field/is refused naming the field', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...COMMAND_NAMES),
        fc.stringMatching(/^[a-z_][a-z0-9_]{0,15}$/),
        jsonValue(2),
        (cmd, field, v) => {
          fc.pre(!FIELDS[cmd]!.includes(field));
          const result = parseCommand(cmd, Buffer.from(JSON.stringify({ [field]: v })));
          expect(result.kind).toBe('invalid');
          if (result.kind === 'invalid') expect(result.reason).toContain(field);
        },
      ),
      params(500),
    );
  });

  it('reboot/empty or blank payload/is refused, naming PRESS', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(' ', '\t', '\r', '\n'), { size: 'max', maxLength: 64 }),
        (blanks) => {
          const result = parseCommand('reboot', Buffer.from(blanks.join('')));
          expect(result.kind).toBe('invalid');
          if (result.kind === 'invalid') expect(result.reason).toMatch(/PRESS/);
        },
      ),
      params(100),
    );
    for (const payload of ['PRESS', 'press', '{}', '{"off_seconds":30}']) {
      expect(parseCommand('reboot', Buffer.from(payload)).kind).toBe('ok');
    }
  });

  it('size/over 4 KiB, read or not/is refused with the limit in the reason', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...COMMAND_NAMES),
        fc.integer({ min: MAX_COMMAND_BYTES + 1, max: 64 * 1024 }),
        fc.boolean(),
        (cmd, size, read) => {
          const result = read
            ? parseCommand(cmd, Buffer.alloc(size, 0x20))
            : parseCommand(cmd, Buffer.alloc(0), size);
          expect(result.kind).toBe('invalid');
          if (result.kind === 'invalid') expect(result.reason).toContain(String(MAX_COMMAND_BYTES));
        },
      ),
      params(300),
    );
  });
});
