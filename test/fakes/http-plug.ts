/**
 * A smart plug on loopback HTTP for the watchdog tests, and a minimal PlugDriver that talks to it.
 *
 * The device: `GET /relay?turn=off|on[&timer=N]` switches the relay and answers `{"ison": …}`;
 * with `timer` it switches itself back on after N seconds of the clock it is given (a self-timed
 * plug's firmware timer). It records every request, and can fail (HTTP 500) or drop off the
 * network (connections reset). The driver is not the code under test (the watchdog service is):
 * it is the smallest PlugDriver over real HTTP, in either timing.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Clock } from '../../src/clock.js';
import {
  type PlugDriver,
  PlugError,
  type PlugOutcome,
  type PlugTiming,
} from '../../src/plugs/plug-driver.js';

export interface PlugCall {
  /** The time of the device's clock. */
  at: number;
  turn: 'on' | 'off';
  /** Self-timed: switch back on after this many seconds. */
  timer: number | null;
  /** The device acted on it (not failing, not offline). */
  accepted: boolean;
}

export type PlugMode = 'ok' | 'fail' | 'offline';

export class FakeHttpPlug {
  readonly url: string;
  readonly calls: PlugCall[] = [];
  mode: PlugMode = 'ok';
  /** The relay. A plug starts on. */
  ison = true;
  /** Called whenever the relay switches (by a command or by its own timer). */
  onSwitch: ((ison: boolean) => void) | null = null;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #clock: Clock;
  #generation = 0;

  private constructor(server: Server, url: string, clock: Clock) {
    this.#server = server;
    this.url = url;
    this.#clock = clock;
  }

  static async start(clock: Clock): Promise<FakeHttpPlug> {
    let plug: FakeHttpPlug | null = null;
    const server = createServer((req, res) => plug?.handle(req.url ?? '/', req.socket, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    plug = new FakeHttpPlug(server, `http://127.0.0.1:${port}`, clock);
    const created = plug;
    server.on('connection', (s: Socket) => created.track(s));
    return created;
  }

  /** The accepted commands, as `off`, `on`, `off+30` (self-timed). */
  commands(): string[] {
    return this.calls
      .filter((c) => c.accepted)
      .map((c) => (c.timer === null ? c.turn : `${c.turn}+${c.timer}`));
  }

  track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
  }

  handle(path: string, socket: Socket, res: import('node:http').ServerResponse): void {
    const url = new URL(path, 'http://plug');
    const turn = url.searchParams.get('turn');
    const timerText = url.searchParams.get('timer');
    const timer = timerText === null ? null : Number(timerText);
    if (url.pathname !== '/relay' || (turn !== 'on' && turn !== 'off')) {
      res.writeHead(404).end();
      return;
    }
    const accepted = this.mode === 'ok';
    this.calls.push({ at: this.#clock.now(), turn, timer, accepted });
    if (this.mode === 'offline') {
      socket.resetAndDestroy();
      return;
    }
    if (this.mode === 'fail') {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"relay fault"}');
      return;
    }
    const generation = ++this.#generation;
    this.#switch(turn === 'on');
    if (timer !== null) {
      void this.#clock.sleep(timer * 1000).then(() => {
        if (this.#generation === generation) this.#switch(turn !== 'on');
      });
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ison: this.ison }));
  }

  #switch(on: boolean): void {
    if (this.ison === on) return;
    this.ison = on;
    this.onSwitch?.(on);
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** A PlugDriver for FakeHttpPlug, in the timing asked for. */
export function fakePlugDriver(url: string, timing: PlugTiming): PlugDriver {
  const send = async (query: string, signal: AbortSignal): Promise<PlugOutcome> => {
    const body = await get(`${url}/relay?${query}`, signal);
    return { confirmed: true, message: `the plug answered ison=${String(body.ison)}` };
  };
  const driver: PlugDriver = {
    type: timing === 'self_timed' ? 'shelly' : 'http',
    timing,
    label: `test plug ${url}`,
    off: (signal) => send('turn=off', signal),
    on: (signal) => send('turn=on', signal),
  };
  if (timing === 'self_timed') driver.cycle = (off, signal) => send(`turn=off&timer=${off}`, signal);
  return driver;
}

function get(url: string, signal: AbortSignal): Promise<{ ison?: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { signal, timeout: 2000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) {
          reject(new PlugError('PLUG_REFUSED', `the plug answered HTTP ${res.statusCode}: ${text}`));
          return;
        }
        resolve(JSON.parse(text) as { ison?: unknown });
      });
      res.on('error', (err) =>
        reject(new PlugError('PLUG_UNREACHABLE', `the plug dropped the answer: ${err.message}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 2 s')));
    req.on('error', (err) =>
      reject(new PlugError('PLUG_UNREACHABLE', `the plug could not be reached: ${err.message}`)),
    );
    req.end();
  });
}
