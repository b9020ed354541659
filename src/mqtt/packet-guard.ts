/**
 * A cap on the size of MQTT packets read from a connection, enforced on the byte stream before any
 * parser sees it, so an oversize packet is never buffered whole (mqtt-packet, under both mqtt.js and
 * aedes, reads a packet's full length into memory before anything can look at it).
 *
 * The guard reads each packet's fixed header (type and remaining length) and passes packets within
 * the cap through untouched. An oversize packet either closes the connection (`mode: 'disconnect'`,
 * the embedded broker's choice), or, when it is a PUBLISH and `mode: 'stub'` (the client's choice),
 * is passed on with its payload replaced by a short stub that says how big it was: the parser then
 * handles (and acknowledges) an ordinary small message, and the receiver refuses it with a reason.
 * Every other oversize packet closes the connection. Never: know topics or commands.
 */
import { Duplex } from 'node:stream';

/**
 * The largest MQTT packet the agent's client and the embedded broker accept, in bytes (fixed header
 * included, as MQTT 5's Maximum Packet Size counts it). Our largest message is the device discovery
 * config (about 12 KB with every entity) or the state document (about 150 bytes per record).
 */
export const MAX_PACKET_BYTES = 256 * 1024;

const PUBLISH = 3;
const PACKET_NAMES = [
  'reserved',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'AUTH',
];

/** Starts the stub payload; a NUL first byte is never part of a command or status payload. */
const STUB_MARK = '\u0000ddns-watchdog:oversize:';
/** Room kept for the fixed header and the stub when an oversize PUBLISH is rewritten. */
const STUB_ROOM = 64;

/** The payload that stands in for one of `bytes` bytes that was not read. */
export function oversizeStub(bytes: number): Buffer {
  return Buffer.from(`${STUB_MARK}${bytes}`);
}

/** The size of the payload a stub stands in for, or undefined when `payload` is not a stub. */
export function readOversizeStub(payload: Buffer): number | undefined {
  if (payload.length > STUB_MARK.length + 16 || payload[0] !== 0) return undefined;
  const text = payload.toString('latin1');
  if (!text.startsWith(STUB_MARK)) return undefined;
  const digits = text.slice(STUB_MARK.length);
  return /^\d{1,15}$/.test(digits) ? Number(digits) : undefined;
}

export interface OversizePacket {
  /** PUBLISH, CONNECT, … */
  kind: string;
  /** Size of the whole packet as announced by its fixed header. */
  bytes: number;
  /** True when the packet was passed on as a stub; false when the connection is closed. */
  stubbed: boolean;
}

/** Thrown by PacketSizeFilter when the connection must be closed. */
export class PacketRejected extends Error {
  constructor(
    message: string,
    readonly packet?: OversizePacket,
  ) {
    super(message);
    this.name = 'PacketRejected';
  }
}

export interface PacketSizeFilterOptions {
  maxPacketBytes: number;
  /** 'stub': oversize PUBLISH packets are passed on with a stub payload; 'disconnect': never. */
  mode: 'stub' | 'disconnect';
  /** Needed in 'stub' mode: MQTT 5 PUBLISH packets carry properties after the packet id. */
  protocolVersion?: 4 | 5;
  /** Told about every oversize packet (before the connection closes, when it does). */
  onOversize?: (packet: OversizePacket) => void;
}

type State = 'header' | 'length' | 'pass' | 'head-of-oversize' | 'skip';

/**
 * The framing state machine: feed it the bytes read from the connection, in order, in chunks of any
 * size; it returns the bytes to hand to the MQTT parser. Throws PacketRejected when the connection
 * must close (a malformed length, or an oversize packet that cannot be stubbed).
 */
export class PacketSizeFilter {
  readonly #o: PacketSizeFilterOptions;
  #state: State = 'header';
  /** Fixed header bytes of the current packet (type byte + remaining length). */
  #head: number[] = [];
  #length = 0;
  #multiplier = 1;
  /** Bytes of the current packet's body still to pass or skip. */
  #remaining = 0;
  /** The start of an oversize PUBLISH body (its variable header), read to build the stub. */
  #start: Buffer[] = [];
  #startBytes = 0;

  constructor(options: PacketSizeFilterOptions) {
    this.#o = options;
  }

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    while (i < chunk.length) {
      switch (this.#state) {
        case 'header':
          this.#head = [chunk[i]!];
          this.#length = 0;
          this.#multiplier = 1;
          this.#state = 'length';
          i++;
          break;
        case 'length': {
          const byte = chunk[i]!;
          i++;
          this.#head.push(byte);
          this.#length += (byte & 0x7f) * this.#multiplier;
          this.#multiplier *= 128;
          if (byte & 0x80) {
            if (this.#head.length > 4) throw new PacketRejected('malformed MQTT packet length');
            break;
          }
          this.#onLength(out);
          break;
        }
        case 'pass': {
          const n = Math.min(this.#remaining, chunk.length - i);
          out.push(chunk.subarray(i, i + n));
          i += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = 'header';
          break;
        }
        case 'head-of-oversize': {
          const room = this.#startLimit() - this.#startBytes;
          const n = Math.min(this.#remaining, chunk.length - i, room);
          this.#start.push(chunk.subarray(i, i + n));
          this.#startBytes += n;
          this.#remaining -= n;
          i += n;
          this.#tryStub(out);
          break;
        }
        case 'skip': {
          const n = Math.min(this.#remaining, chunk.length - i);
          i += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = 'header';
          break;
        }
      }
    }
    return out;
  }

  #onLength(out: Buffer[]): void {
    const total = this.#head.length + this.#length;
    const type = this.#head[0]! >> 4;
    this.#remaining = this.#length;
    if (total <= this.#o.maxPacketBytes) {
      out.push(Buffer.from(this.#head));
      this.#state = this.#length === 0 ? 'header' : 'pass';
      return;
    }
    const kind = PACKET_NAMES[type] ?? 'unknown';
    if (this.#o.mode === 'stub' && type === PUBLISH) {
      this.#start = [];
      this.#startBytes = 0;
      this.#state = 'head-of-oversize';
      return;
    }
    const packet: OversizePacket = { kind, bytes: total, stubbed: false };
    this.#o.onOversize?.(packet);
    throw new PacketRejected(
      `an MQTT ${kind} packet of ${total} bytes is over the ${this.#o.maxPacketBytes}-byte limit`,
      packet,
    );
  }

  /** How much of an oversize PUBLISH is read to find its variable header: the stubbed packet fits the cap. */
  #startLimit(): number {
    return Math.max(0, this.#o.maxPacketBytes - STUB_ROOM);
  }

  /** Once the variable header of an oversize PUBLISH is in, emits the stubbed packet. */
  #tryStub(out: Buffer[]): void {
    const start = this.#start.length === 1 ? this.#start[0]! : Buffer.concat(this.#start);
    this.#start = [start];
    const qos = (this.#head[0]! >> 1) & 0x03;
    const headerLength = publishVariableHeaderLength(start, qos, this.#o.protocolVersion ?? 4);
    const total = this.#head.length + this.#length;
    if (headerLength === undefined) {
      // Not complete yet: wait for more, unless there is no more room or no more body.
      if (this.#remaining > 0 && this.#startBytes < this.#startLimit()) return;
      const packet: OversizePacket = { kind: 'PUBLISH', bytes: total, stubbed: false };
      this.#o.onOversize?.(packet);
      throw new PacketRejected(
        `an MQTT PUBLISH packet of ${total} bytes is over the ${this.#o.maxPacketBytes}-byte limit, and its topic and properties alone do not fit`,
        packet,
      );
    }
    const stub = oversizeStub(this.#length - headerLength);
    const bodyLength = headerLength + stub.length;
    out.push(Buffer.from([this.#head[0]!, ...encodeLength(bodyLength)]));
    out.push(start.subarray(0, headerLength));
    out.push(stub);
    this.#o.onOversize?.({ kind: 'PUBLISH', bytes: total, stubbed: true });
    this.#start = [];
    this.#startBytes = 0;
    this.#state = this.#remaining === 0 ? 'header' : 'skip';
  }
}

/**
 * Length of a PUBLISH variable header (topic, packet id when QoS > 0, MQTT 5 properties) at the
 * start of `body`, or undefined when `body` does not hold all of it yet.
 */
function publishVariableHeaderLength(body: Buffer, qos: number, version: 4 | 5): number | undefined {
  if (body.length < 2) return undefined;
  let n = 2 + body.readUInt16BE(0) + (qos > 0 ? 2 : 0);
  if (version === 5) {
    let props = 0;
    let multiplier = 1;
    for (let k = 0; ; k++) {
      if (k >= 4 || n >= body.length) return undefined;
      const byte = body[n]!;
      n++;
      props += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      if (!(byte & 0x80)) break;
    }
    n += props;
  }
  return n <= body.length ? n : undefined;
}

function encodeLength(length: number): number[] {
  const bytes: number[] = [];
  let x = length;
  do {
    let byte = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) byte |= 0x80;
    bytes.push(byte);
  } while (x > 0);
  return bytes;
}

/** The socket-like parts of a stream that the guarded stream passes on. */
type Inner = Duplex & { setNoDelay?: (noDelay?: boolean) => unknown };

/**
 * A duplex stream over `inner` whose readable side carries `inner`'s bytes through a
 * PacketSizeFilter; writes go straight to `inner`. A rejected packet destroys `inner` (the
 * connection closes; `onOversize` has been told why) and ends this stream without an error.
 */
export class GuardedStream extends Duplex {
  readonly #inner: Inner;
  readonly #filter: PacketSizeFilter;

  constructor(inner: Inner, options: PacketSizeFilterOptions) {
    super({ allowHalfOpen: false });
    this.#inner = inner;
    this.#filter = new PacketSizeFilter(options);
    inner.on('data', (chunk: Buffer) => {
      let out: Buffer[];
      try {
        out = this.#filter.push(chunk);
      } catch {
        inner.destroy();
        this.destroy();
        return;
      }
      let more = true;
      for (const b of out) more = this.push(b) && more;
      if (!more) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => this.destroy());
  }

  /** Passed on to a TCP socket (Nagle off for small packets). */
  setNoDelay(noDelay = true): this {
    this.#inner.setNoDelay?.(noDelay);
    return this;
  }

  override _read(): void {
    this.#inner.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.#inner.write(chunk, encoding)) callback();
    else this.#inner.once('drain', () => callback());
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.#inner.end(() => callback());
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.#inner.destroy();
    callback(err);
  }
}
