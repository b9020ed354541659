/**
 * Found by the crash test (issue 11 point 5): SPEC §5 says a restarted agent that finds a cycle in
 * progress "first makes sure the plug is on". With an HTTP plug that is so only when the broker
 * answers: Agent.start (src/agent.ts) awaits the MQTT start-up — up to connectWaitMs, 5 s, when the
 * broker cannot be reached, as when it sits behind the router that is off — before it starts the
 * watchdog, whose first act is the plug. Measured: 0.5 s with the broker up, 5.5 s with it down.
 * A plug that does not need MQTT could be switched on before the wait. Fails until then; kept out
 * of CI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshRecovery, startCycle } from '../../src/domain/recovery-state.js';
import { freshState } from '../../src/state/schema.js';
import { startAgentProcess } from '../helpers/agent-process.js';
import { until } from '../helpers/world.js';
import { type Lane, saveState, startLane } from './lab.js';

let lane: Lane;
beforeAll(async () => {
  lane = await startLane(0, '81.2.69.160');
});
afterAll(() => lane.close());

describe('a cycle left in phase off, the broker unreachable', () => {
  it('restart/http plug/on within 2 s of the start, not after the MQTT wait', async () => {
    const recovery = startCycle(freshRecovery(), Date.now() - 5000, { plug: 'http', offSeconds: 1 });
    await saveState(lane.stateDir, { ...freshState(), recovery });
    lane.plug.relay.set(false);
    const p = startAgentProcess({ ...lane.env(), MQTT_URL: 'mqtt://127.0.0.1:9' });
    try {
      await until(() => lane.plug.relay.on, 'the plug on', 15_000);
      const ms = lane.plug.relay.changes.at(-1)!.at - p.spawnedAt;
      expect(ms).toBeLessThan(2000);
    } finally {
      await p.kill('SIGKILL');
    }
  });
});
