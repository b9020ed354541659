/**
 * The agent's side of the plug tests: the real MqttConnection (src/mqtt/client.ts) behind the
 * PlugMqtt port, as the agent wires it, and a wait for an observable condition.
 */
import { MqttConnection } from '../../../src/mqtt/client.js';
import { plugMqttOver } from '../../../src/plugs/mqtt-port.js';
import type { PlugMqtt } from '../../../src/plugs/plug-driver.js';
import { logSink } from '../../helpers/log-sink.js';

export const AGENT_CLIENT_ID = 'ddns-watchdog-test';

export async function agentMqtt(url: string): Promise<{ mqtt: PlugMqtt; stop: () => Promise<void> }> {
  const conn = new MqttConnection({
    url,
    clientId: AGENT_CLIENT_ID,
    availabilityTopic: 'ddns-watchdog/availability',
    protocolVersion: 4,
    reconnectPeriodMs: 50,
    connectWaitMs: 3000,
    logger: logSink().logger,
  });
  await conn.start();
  if (!conn.connected) throw new Error(`the agent's MQTT connection to ${url} did not come up`);
  return { mqtt: plugMqttOver(conn), stop: () => conn.stop() };
}

/** Resolves once `cond()` holds; fails after `ms` (real time) naming `what`. */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
