import { describe, expect, it } from 'vitest';
import {
  type OversizePacket,
  oversizeStub,
  PacketRejected,
  PacketSizeFilter,
  type PacketSizeFilterOptions,
  readOversizeStub,
} from '../src/mqtt/packet-guard.js';

function varint(n: number): number[] {
  const out: number[] = [];
  let x = n;
  do {
    let b = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) b |= 0x80;
    out.push(b);
  } while (x > 0);
  return out;
}

function packet(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first, ...varint(body.length)]), body]);
}

function str(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

/** A PUBLISH; `props` (MQTT 5 only) are the raw property bytes. */
function publish(o: { topic: string; payload: Buffer; qos?: 0 | 1; id?: number; props?: Buffer }): Buffer {
  const qos = o.qos ?? 0;
  const parts = [str(o.topic)];
  if (qos > 0) parts.push(Buffer.from([(o.id ?? 1) >> 8, (o.id ?? 1) & 0xff]));
  if (o.props) parts.push(Buffer.from(varint(o.props.length)), o.props);
  parts.push(o.payload);
  return packet(0x30 | (qos << 1), Buffer.concat(parts));
}

const PINGRESP = Buffer.from([0xd0, 0x00]);
const SUBACK = packet(0x90, Buffer.from([0x00, 0x01, 0x01]));

/** Feeds `input` in chunks of `size` bytes (0: all at once) and returns everything passed on. */
function run(options: PacketSizeFilterOptions, input: Buffer, size = 0): Buffer {
  const filter = new PacketSizeFilter(options);
  const out: Buffer[] = [];
  const step = size || input.length;
  for (let i = 0; i < input.length; i += step) out.push(...filter.push(input.subarray(i, i + step)));
  return Buffer.concat(out);
}

const CHUNKINGS = [0, 1, 2, 3, 7, 64] as const;

describe('PacketSizeFilter', () => {
  it.each(CHUNKINGS)('pass/within-cap/chunks of %i: packets within the cap pass byte for byte', (size) => {
    const input = Buffer.concat([
      publish({ topic: 'dw/command/sync', payload: Buffer.from('PRESS'), qos: 1, id: 7 }),
      PINGRESP,
      SUBACK,
      publish({ topic: 'dw/x', payload: Buffer.alloc(100, 0x61) }),
    ]);
    for (const mode of ['stub', 'disconnect'] as const) {
      expect(run({ maxPacketBytes: 200, mode }, input, size).equals(input)).toBe(true);
    }
  });

  it.each(CHUNKINGS)(
    'stub/mqtt-3.1.1-qos1/chunks of %i: an oversize PUBLISH keeps topic and packet id, its payload becomes a stub',
    (size) => {
      const seen: OversizePacket[] = [];
      const big = publish({
        topic: 'dw/command/sync',
        payload: Buffer.alloc(5000, 0x7b),
        qos: 1,
        id: 0x1234,
      });
      const after = publish({ topic: 'dw/command/probe', payload: Buffer.from('') });
      const out = run(
        { maxPacketBytes: 300, mode: 'stub', protocolVersion: 4, onOversize: (p) => seen.push(p) },
        Buffer.concat([big, PINGRESP, after]),
        size,
      );
      const stubbed = publish({ topic: 'dw/command/sync', payload: oversizeStub(5000), qos: 1, id: 0x1234 });
      expect(out.equals(Buffer.concat([stubbed, PINGRESP, after]))).toBe(true);
      expect(seen).toEqual([{ kind: 'PUBLISH', bytes: big.length, stubbed: true }]);
    },
  );

  it.each(CHUNKINGS)(
    'stub/mqtt-5-properties/chunks of %i: the properties (response topic, correlation data) are kept',
    (size) => {
      const props = Buffer.concat([
        Buffer.from([0x08]),
        str('my/replies'),
        Buffer.from([0x09, 0x00, 0x02, 1, 2]),
      ]);
      const big = publish({ topic: 'dw/command/sync', payload: Buffer.alloc(3000), qos: 1, id: 9, props });
      const out = run({ maxPacketBytes: 256, mode: 'stub', protocolVersion: 5 }, big, size);
      const stubbed = publish({
        topic: 'dw/command/sync',
        payload: oversizeStub(3000),
        qos: 1,
        id: 9,
        props,
      });
      expect(out.equals(stubbed)).toBe(true);
    },
  );

  it('disconnect/broker: an oversize PUBLISH is rejected as soon as its fixed header is read', () => {
    const seen: OversizePacket[] = [];
    const filter = new PacketSizeFilter({
      maxPacketBytes: 1024,
      mode: 'disconnect',
      onOversize: (p) => seen.push(p),
    });
    // Only the first bytes of a 10 MB PUBLISH: the rest need never be read.
    const head = publish({ topic: 'dw/command/sync', payload: Buffer.alloc(10 * 1024 * 1024) }).subarray(
      0,
      64,
    );
    expect(() => filter.push(head)).toThrow(PacketRejected);
    expect(seen).toEqual([{ kind: 'PUBLISH', bytes: 10 * 1024 * 1024 + 2 + 15 + 5, stubbed: false }]);
  });

  it.each([
    ['reject/oversize-suback', packet(0x90, Buffer.alloc(500)), /SUBACK packet of 503 bytes/],
    ['reject/topic-larger-than-cap', publish({ topic: 'x'.repeat(400), payload: Buffer.alloc(10) }), /topic/],
    ['reject/malformed-length', Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), /malformed/],
  ])('%s: the connection must close (stub mode)', (_n, input, message) => {
    expect(() => run({ maxPacketBytes: 300, mode: 'stub', protocolVersion: 4 }, input)).toThrow(message);
  });
});

describe('readOversizeStub', () => {
  it('reads back the size a stub stands for', () => {
    expect(readOversizeStub(oversizeStub(262_145))).toBe(262_145);
  });
  it.each([
    ['empty', ''],
    ['press', 'PRESS'],
    ['json', '{"records":["a"]}'],
    ['nul-other', '\u0000abc'],
    ['mark-without-digits', '\u0000ddns-watchdog:oversize:'],
    ['mark-with-junk', '\u0000ddns-watchdog:oversize:12x'],
  ])('not-a-stub/%s', (_n, text) => {
    expect(readOversizeStub(Buffer.from(text))).toBeUndefined();
  });
});
