/**
 * The demo world's router: a TCP server on 127.0.0.1 (the agent probes it with `router_probe:
 * tcp:<port>`) that can lose its power. A powered router accepts and closes each connection (the
 * probe's handshake completes: the router answered). An unpowered one must not answer at all —
 * no handshake, no reset (a reset would count as "alive", as on a real network) — so the probe
 * ends at its own deadline, as with a router that is off.
 *
 * On loopback the kernel completes handshakes for any listening socket, so "no answer" is made
 * the way an overloaded server makes it: the listener lives in a worker thread, which is frozen
 * (Atomics.wait) so it stops accepting, and its small accept queue is filled with the demo's own
 * idle connections; further connection attempts then get no answer until the worker thaws. The
 * power coming back thaws it: the queued connections are accepted and closed, and the router
 * answers again.
 */
import { createConnection, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { Clock } from '../clock.js';
import { LOOPBACK } from './http-service.js';

export interface DemoRouter {
  readonly host: string;
  readonly port: number;
  /** False while the power is off. */
  readonly powered: boolean;
  /** The power goes off: from now on connection attempts get no answer. */
  powerOff(): Promise<void>;
  /** The power comes back: the router answers again. */
  powerOn(): Promise<void>;
  close(): Promise<void>;
}

/** The listener, run in the worker (plain CommonJS: it is evaluated, not loaded from a file). */
const WORKER_CODE = `
const { parentPort } = require('node:worker_threads');
const net = require('node:net');
const server = net.createServer((socket) => { socket.on('error', () => {}); socket.destroy(); });
server.listen({ host: '${LOOPBACK}', port: 0, backlog: 1 }, () => {
  parentPort.postMessage({ type: 'listening', port: server.address().port });
});
parentPort.on('message', (m) => {
  if (m.type !== 'freeze') return;
  parentPort.postMessage({ type: 'frozen' });
  Atomics.wait(m.flag, 0, 0);
  parentPort.postMessage({ type: 'thawed' });
});
`;

/** Idle connections at most, to fill the accept queue (the backlog is 1: a few are enough). */
const MAX_FILLERS = 32;
/** A connection attempt not answered within this long: the queue is full, the router silent. */
const SILENT_AFTER_MS = 150;

function next(worker: Worker, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>) => {
      if (m.type !== type) return;
      worker.off('message', onMessage);
      worker.off('error', reject);
      resolve(m);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });
}

/** Connects; resolves with the socket once connected, or null when no answer came within `ms`. */
async function attempt(port: number, clock: Clock, ms: number): Promise<Socket | null> {
  const socket = createConnection({ host: LOOPBACK, port });
  socket.on('error', () => {});
  const gaveUp = new AbortController();
  const connected = new Promise<boolean>((resolve) => {
    socket.once('connect', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
  const ok = await Promise.race([connected, clock.sleep(ms, gaveUp.signal).then(() => false)]);
  gaveUp.abort();
  if (ok) return socket;
  socket.destroy();
  return null;
}

export async function startDemoRouter(clock: Clock): Promise<DemoRouter> {
  const worker = new Worker(WORKER_CODE, { eval: true });
  const listening = await next(worker, 'listening');
  const port = Number(listening.port);
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const fillers: Socket[] = [];
  let powered = true;

  const powerOn = async (): Promise<void> => {
    if (powered) return;
    powered = true;
    const thawed = next(worker, 'thawed');
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    await thawed;
    for (const s of fillers.splice(0)) s.destroy();
  };

  return {
    host: LOOPBACK,
    port,
    get powered() {
      return powered;
    },
    powerOff: async () => {
      if (!powered) return;
      powered = false;
      Atomics.store(flag, 0, 0);
      const frozen = next(worker, 'frozen');
      worker.postMessage({ type: 'freeze', flag });
      await frozen;
      // Fill the accept queue: once an attempt gets no answer, neither will the probe's.
      for (let i = 0; i < MAX_FILLERS; i++) {
        const socket = await attempt(port, clock, SILENT_AFTER_MS);
        if (!socket) break;
        fillers.push(socket);
      }
    },
    powerOn,
    close: async () => {
      await powerOn();
      await worker.terminate();
    },
  };
}
