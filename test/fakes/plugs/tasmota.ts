/**
 * A fake Tasmota plug on the test broker. Like the firmware (https://tasmota.github.io/docs/Commands/)
 * it listens on `cmnd/<topic>/#`, runs `Backlog` commands in order (`Delay n` waits n tenths of a
 * second on the test's clock; an empty `Backlog` clears the queue), switches its relay with
 * `Power`/`Power1` and reports on `stat/<topic>/RESULT` (`{"POWER":"OFF"}`) and `stat/<topic>/POWER`
 * (`OFF`) — or with the `POWER1` key, or not at all, as the test chooses.
 */
import type { MqttClient } from 'mqtt';
import type { Clock } from '../../../src/clock.js';
import { connectDevice, endClient, publishAsync, subscribed } from './broker.js';
import { Relay } from './relay.js';

export type TasmotaAnswer = 'POWER' | 'POWER1' | 'silent';

export interface TasmotaCommand {
  /** The command name from the topic, e.g. `Backlog`. */
  command: string;
  payload: string;
  at: number;
}

export interface FakeTasmota {
  relay: Relay;
  /** Every command received, in order. */
  commands: TasmotaCommand[];
  /** How it answers from now on. */
  answer: TasmotaAnswer;
  /** Backlog commands still queued (a running Delay included). */
  readonly queued: number;
  close(): Promise<void>;
}

export async function startFakeTasmota(o: {
  url: string;
  topic: string;
  clock: Clock;
  answer?: TasmotaAnswer;
  initiallyOn?: boolean;
}): Promise<FakeTasmota> {
  const relay = new Relay(o.clock, o.initiallyOn ?? true);
  const commands: TasmotaCommand[] = [];
  const client: MqttClient = await connectDevice(o.url, `tasmota-${o.topic}`);
  const queue: string[] = [];
  let running = false;
  let cancel = new AbortController();

  const fake: FakeTasmota = {
    relay,
    commands,
    answer: o.answer ?? 'POWER',
    get queued() {
      return queue.length + (running ? 1 : 0);
    },
    close: async () => {
      cancel.abort();
      await endClient(client);
    },
  };

  const report = async () => {
    if (fake.answer === 'silent') return;
    const state = relay.on ? 'ON' : 'OFF';
    const key = fake.answer;
    try {
      await publishAsync(client, `stat/${o.topic}/RESULT`, JSON.stringify({ [key]: state }));
      await publishAsync(client, `stat/${o.topic}/${key}`, state);
    } catch {
      // the test closed the device meanwhile
    }
  };

  const execute = async (line: string, signal: AbortSignal) => {
    const m = /^\s*(\S+)\s*(.*?)\s*$/.exec(line);
    if (!m?.[1]) return;
    const name = m[1].toLowerCase();
    const arg = (m[2] ?? '').toLowerCase();
    if (name === 'delay') {
      const tenths = Math.min(3600, Math.max(2, Number(arg) || 0));
      await o.clock.sleep(tenths * 100, signal);
      return;
    }
    if (name === 'power' || name === 'power1') {
      if (arg === 'on' || arg === '1' || arg === 'true') relay.set(true);
      else if (arg === 'off' || arg === '0' || arg === 'false') relay.set(false);
      else if (arg === 'toggle' || arg === '2') relay.set(!relay.on);
      await report();
    }
  };

  const drain = async () => {
    if (running) return;
    running = true;
    try {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const signal = cancel.signal;
        await execute(next, signal);
        if (signal.aborted) break;
      }
    } finally {
      running = false;
    }
  };

  client.on('message', (topic, payload) => {
    const command = topic.slice(`cmnd/${o.topic}/`.length);
    const text = payload.toString('utf8');
    commands.push({ command, payload: text, at: o.clock.now() });
    if (command.toLowerCase() === 'backlog') {
      if (text.trim() === '') {
        // A bare Backlog clears the queue, a running Delay included.
        queue.length = 0;
        cancel.abort();
        cancel = new AbortController();
        return;
      }
      queue.push(...text.split(';').filter((s) => s.trim() !== ''));
      void drain();
      return;
    }
    void execute(`${command} ${text}`, cancel.signal);
  });
  await subscribed(client, `cmnd/${o.topic}/#`);
  return fake;
}
