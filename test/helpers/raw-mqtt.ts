/**
 * A hand-made MQTT 3.1.1 publisher for the oversize-message tests: it announces a PUBLISH of any
 * size and streams its payload in 64 KiB pieces of zeros, so the test process never holds the
 * message whole, and it notices when the other side closes the connection part way.
 */
import { connect, type Socket } from 'node:net';

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

function str(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

export interface RawPublishResult {
  /** Payload bytes handed to the socket before it closed (or all of them). */
  written: number;
  /** True when the other side closed the connection before the whole message was sent. */
  cutOff: boolean;
  socket: Socket;
}

/** Connects (MQTT 3.1.1, clean session) and streams one QoS 0 PUBLISH of `payloadBytes` bytes. */
export async function rawPublish(
  url: string,
  o: { topic: string; payloadBytes: number; clientId?: string },
): Promise<RawPublishResult> {
  const u = new URL(url);
  const socket = connect({ host: u.hostname, port: Number(u.port) });
  let closed = false;
  socket.on('error', () => {
    closed = true;
  });
  socket.on('close', () => {
    closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.setNoDelay(true);
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, 0x02, 0, 60]),
    str(o.clientId ?? `raw-${process.pid}-${Date.now().toString(36)}`),
  ]);
  const connack = new Promise<Buffer>((resolve, reject) => {
    socket.once('data', resolve);
    socket.once('close', () => reject(new Error('closed before CONNACK')));
  });
  socket.write(Buffer.concat([Buffer.from([0x10, ...varint(body.length)]), body]));
  const ack = await connack;
  if (ack[0] !== 0x20 || ack[3] !== 0) throw new Error(`CONNECT refused: ${ack.toString('hex')}`);

  const topic = str(o.topic);
  socket.write(Buffer.concat([Buffer.from([0x30, ...varint(topic.length + o.payloadBytes)]), topic]));
  const zeros = Buffer.alloc(64 * 1024);
  let written = 0;
  while (written < o.payloadBytes && !closed) {
    const n = Math.min(zeros.length, o.payloadBytes - written);
    const more = socket.write(n === zeros.length ? zeros : zeros.subarray(0, n));
    written += n;
    if (!more && !closed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }
  return { written, cutOff: closed, socket };
}
