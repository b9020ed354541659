/**
 * The demo world's smart plug: a Tasmota device on the agent's embedded broker. Like the firmware
 * (https://tasmota.github.io/docs/Commands/) it listens on `cmnd/<topic>/#`, runs a `Backlog` in
 * order (`Delay n` waits n tenths of a second; an empty `Backlog` clears the queue), switches its
 * relay with `Power`/`Power1` (`on`/`off`/`toggle`), and reports on `stat/<topic>/RESULT`
 * (`{"POWER":"OFF"}`) and `stat/<topic>/POWER` (`OFF`). The relay powers the demo's router.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Clock } from '../clock.js';

export interface DemoPlug {
  readonly topic: string;
  readonly on: boolean;
  close(): Promise<void>;
}

export interface DemoPlugOptions {
  /** The broker, e.g. mqtt://127.0.0.1:1883. */
  url: string;
  topic: string;
  clock: Clock;
  /** Called when the relay switches (after the switch, before the report). */
  onSwitch: (on: boolean) => Promise<void> | void;
}

export async function startDemoPlug(o: DemoPlugOptions): Promise<DemoPlug> {
  // The first connection fails at once when the broker is not there (no retries: the demo then
  // stops and says why); once connected, it reconnects like a real plug.
  const client: MqttClient = await mqtt.connectAsync(
    o.url,
    {
      clientId: `demo-tasmota-${o.topic}`,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      clean: true,
      will: { topic: `tele/${o.topic}/LWT`, payload: Buffer.from('Offline'), qos: 1, retain: true },
    },
    false,
  );
  const prefix = `cmnd/${o.topic}/`;
  let relay = true;
  const queue: string[] = [];
  let draining = false;
  let cancel = new AbortController();
  const stopped = new AbortController();

  const report = async (): Promise<void> => {
    const state = relay ? 'ON' : 'OFF';
    try {
      await client.publishAsync(`stat/${o.topic}/RESULT`, JSON.stringify({ POWER: state }), { qos: 1 });
      await client.publishAsync(`stat/${o.topic}/POWER`, state, { qos: 1 });
    } catch {
      // the demo is closing the plug
    }
  };

  const execute = async (line: string, signal: AbortSignal): Promise<void> => {
    const m = /^\s*(\S+)\s*(.*?)\s*$/.exec(line);
    if (!m?.[1]) return;
    const name = m[1].toLowerCase();
    const arg = (m[2] ?? '').toLowerCase();
    if (name === 'delay') {
      const tenths = Math.min(3600, Math.max(2, Number(arg) || 0));
      await o.clock.sleep(tenths * 100, signal);
      return;
    }
    if (name !== 'power' && name !== 'power1') return;
    let want = relay;
    if (['on', '1', 'true'].includes(arg)) want = true;
    else if (['off', '0', 'false'].includes(arg)) want = false;
    else if (['toggle', '2'].includes(arg)) want = !relay;
    if (want !== relay) {
      relay = want;
      await o.onSwitch(relay);
    }
    await report();
  };

  const drain = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    try {
      for (let line = queue.shift(); line !== undefined; line = queue.shift()) {
        const signal = cancel.signal;
        await execute(line, signal);
        if (signal.aborted || stopped.signal.aborted) break;
      }
    } finally {
      draining = false;
    }
  };

  client.on('message', (topic, payload) => {
    if (!topic.startsWith(prefix)) return;
    const command = topic.slice(prefix.length);
    const body = payload.toString('utf8');
    if (command.toLowerCase() === 'backlog') {
      if (body.trim() === '') {
        queue.length = 0;
        cancel.abort();
        cancel = new AbortController();
        return;
      }
      queue.push(...body.split(';').filter((s) => s.trim() !== ''));
      void drain();
      return;
    }
    void execute(`${command} ${body}`, cancel.signal);
  });
  await client.subscribeAsync(`${prefix}#`, { qos: 1 });
  await client.publishAsync(`tele/${o.topic}/LWT`, 'Online', { qos: 1, retain: true });

  return {
    topic: o.topic,
    get on() {
      return relay;
    },
    close: async () => {
      stopped.abort();
      cancel.abort();
      await client.endAsync(true);
    },
  };
}
