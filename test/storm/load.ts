/**
 * The storm's load: a mixed stream of commands (sync, probe, reboot, recovery, and junk) sent at a
 * fixed rate on the MQTT command topics and on `POST /api/command/<name>`, with what came back
 * counted: each MQTT command's answer on `<base>/command/result`, each HTTP request's status (or
 * the transport error when there was no answer).
 */
import type { MqttClient } from 'mqtt';
import { Pool } from 'undici';

export interface MqttCommand {
  topic: string;
  payload: string | Buffer;
}

export interface HttpCommand {
  path: string;
  contentType: string;
  body: string;
}

/** The MQTT commands, sent in turn: the sequence repeats, so every kind is in every second of the storm. */
export function mqttMix(base: string): MqttCommand[] {
  const t = (name: string, payload: string | Buffer): MqttCommand => ({
    topic: `${base}/command/${name}`,
    payload,
  });
  return [
    t('sync', ''),
    t('sync', 'PRESS'),
    t('sync', '{}'),
    t('sync', '{"records":["home.example.com"]}'),
    t('sync', '{"transaction":"storm"}'),
    t('probe', 'PRESS'),
    t('probe', '{}'),
    t('reboot', 'PRESS'),
    t('reboot', '{"off_seconds":5}'),
    t('reboot', ''),
    t('recovery', 'ON'),
    t('recovery', 'OFF'),
    t('recovery', '{"enabled":true}'),
    // junk
    t('sync', '{'),
    t('sync', '{"foo":1}'),
    t('sync', '{"records":"nope"}'),
    t('probe', 'x'.repeat(5000)),
    t('reboot', Buffer.from([0xff, 0xfe, 0x00, 0x01])),
    t('recovery', 'maybe'),
    t('explode', 'PRESS'),
  ];
}

export function httpMix(): HttpCommand[] {
  const j = (name: string, body: string): HttpCommand => ({
    path: `/api/command/${name}`,
    contentType: 'application/json',
    body,
  });
  return [
    j('sync', '{}'),
    j('sync', '{"records":["vpn.example.com"]}'),
    j('sync', '{"transaction":"storm-http"}'),
    j('probe', '{}'),
    j('reboot', '{}'),
    j('reboot', '{"off_seconds":5}'),
    j('recovery', '{"enabled":false}'),
    j('recovery', '{"enabled":true}'),
    // junk
    j('sync', 'not json'),
    j('reboot', '{"off_seconds":"soon"}'),
    j('explode', '{}'),
    { path: '/api/command/sync', contentType: 'text/plain', body: 'PRESS' },
    j('probe', JSON.stringify({ pad: 'x'.repeat(5000) })),
  ];
}

export interface LoadTally {
  mqttSent: number;
  /** Publishes the client could not hand to the broker (its error callback). */
  mqttSendErrors: number;
  httpSent: number;
  /** Status code → count. */
  httpStatus: Map<number, number>;
  /** Transport errors (no answer) by code. */
  httpErrors: Map<string, number>;
  /** Requests still waiting for their answer. */
  httpPending: number;
  /** Achieved send rates per second, by face. */
  seconds: number;
}

const bump = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);

/**
 * Sends `rate` commands a second on each face for `seconds`, in ticks of 10 ms. Resolves when the
 * last one was sent (answers may still be on their way: see `httpPending` and the MQTT results).
 */
export async function storm(o: {
  mqtt: MqttClient;
  base: string;
  token: string;
  /** Commands a second on each face; 0 leaves that face quiet. */
  rate: { mqtt: number; http: number };
  seconds: number;
  tally: LoadTally;
  pool: Pool;
}): Promise<void> {
  const mq = mqttMix(o.base);
  const hm = httpMix();
  const tick = 10;
  const started = Date.now();
  let mi = 0;
  let hi = 0;
  const { tally } = o;
  while (Date.now() - started < o.seconds * 1000) {
    const elapsedTicks = (Date.now() - started) / tick + 1;
    const mqttDue = Math.floor((elapsedTicks * o.rate.mqtt * tick) / 1000);
    const httpDue = Math.floor((elapsedTicks * o.rate.http * tick) / 1000);
    while (tally.mqttSent < mqttDue) {
      const c = mq[mi++ % mq.length]!;
      tally.mqttSent++;
      o.mqtt.publish(c.topic, c.payload, { qos: 1 }, (err) => {
        if (err) tally.mqttSendErrors++;
      });
    }
    while (tally.httpSent < httpDue) {
      const c = hm[hi++ % hm.length]!;
      tally.httpSent++;
      tally.httpPending++;
      o.pool
        .request({
          path: c.path,
          method: 'POST',
          headers: { authorization: `Bearer ${o.token}`, 'content-type': c.contentType },
          body: c.body,
          headersTimeout: 60_000,
          bodyTimeout: 60_000,
        })
        .then(
          async (res) => {
            await res.body.dump();
            bump(tally.httpStatus, res.statusCode);
          },
          (err: { code?: string }) => bump(tally.httpErrors, err.code ?? 'error'),
        )
        .finally(() => {
          tally.httpPending--;
        });
    }
    await new Promise((r) => setTimeout(r, tick));
  }
  tally.seconds = (Date.now() - started) / 1000;
}

export function newTally(): LoadTally {
  return {
    mqttSent: 0,
    mqttSendErrors: 0,
    httpSent: 0,
    httpStatus: new Map(),
    httpErrors: new Map(),
    httpPending: 0,
    seconds: 0,
  };
}

/**
 * A keep-alive connection pool to the agent's HTTP server, as many scripts or pages would open.
 * A request waits in the pool (client side) while all its connections are busy.
 */
export function agentPool(url: string, connections: number): Pool {
  return new Pool(url, { connections, pipelining: 1 });
}
