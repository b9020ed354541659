/**
 * Found while running the secrets test (issue 11 point 6): `ddns-watchdog check` "writes nothing"
 * (SPEC §7), yet it builds a whole Agent from the configuration — heartbeat_url and webhook_url
 * included — so a check run POSTs an `ip_changed` event (old: null) to the user's webhook and pings
 * the heartbeat's exit URL `/0` ("exited 0": healthchecks.io marks the check up) even when check
 * itself exits 2. A check from a laptop would tell the monitoring that the agent is alive.
 * src/check.ts runCheck (Agent.create with the full config; agent.stop pings `exit`).
 */
import { describe, expect, it } from 'vitest';
import { startEchoServer } from '../fakes/ip-echo.js';
import { loopbackEnv } from '../helpers/env.js';
import { runBin } from '../helpers/run-bin.js';
import { startNotifyReceiver } from './fakes.js';

describe('check has no side effects on notifications', () => {
  it('check/heartbeat_url and webhook_url set/neither is called', async () => {
    const notify = await startNotifyReceiver();
    const echo = await startEchoServer('81.2.69.160');
    try {
      const r = await runBin(
        ['check'],
        loopbackEnv({
          RECORDS: 'home.example.com',
          IP_SOURCES: echo.url,
          HEARTBEAT_URL: `${notify.url}/ping/0b1c2d3e`,
          WEBHOOK_URL: `${notify.url}/hook/4f5a6b7c`,
        }),
      );
      expect(r.stdout).toContain('Public IP: IPv4 81.2.69.160');
      expect(notify.requests.map((q) => `${q.method} ${q.path} ${q.body.slice(0, 60)}`)).toEqual([]);
    } finally {
      await Promise.all([notify.close(), echo.close()]);
    }
  });
});
