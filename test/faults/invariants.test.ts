/**
 * The fault suite's invariant check is not vacuous: a wrong DNS write, a deletion, a state file
 * that does not load or differs from memory, a plug left off, an agent that no longer runs and a
 * fault nobody mentions each make expectInvariants fail.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TOKEN } from '../helpers/world.js';
import { type FaultWorld, faultWorld, GOOD_IP } from './fault-world.js';

let w: FaultWorld | null = null;
afterEach(async () => {
  await w?.close();
  w = null;
});

const OK = { verified: [GOOD_IP], said: /Created A home\.example\.com|"action":"create"/ };

/** Sends a request to the fake Cloudflare as if the agent had. */
async function api(fw: FaultWorld, method: string, path: string, body?: unknown): Promise<void> {
  await fetch(`${fw.cf.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

describe('expectInvariants catches each broken invariant', () => {
  it('invariant/holds-after-a-plain-run', async () => {
    w = await faultWorld();
    await w.check(OK);
  });

  it('invariant/a-write-of-an-unverified-address-fails-it', async () => {
    w = await faultWorld();
    const id = w.cf.records({ name: 'home.example.com' })[0]!.id;
    await api(w, 'PATCH', `/zones/${w.zoneId}/dns_records/${id}`, { content: '81.2.69.66' });
    await expect(w.check(OK)).rejects.toThrow(/wrote 81\.2\.69\.66: not a verified public IP/);
  });

  it('invariant/a-batch-with-a-wrong-address-or-a-delete-fails-it', async () => {
    w = await faultWorld();
    const id = w.cf.records({ name: 'home.example.com' })[0]!.id;
    await api(w, 'POST', `/zones/${w.zoneId}/dns_records/batch`, { deletes: [{ id }] });
    await expect(w.check(OK)).rejects.toThrow(/deleted a record/);
  });

  it('invariant/a-state-file-that-does-not-load-fails-it', async () => {
    w = await faultWorld();
    await w.agent.stop({ graceMs: 0 });
    await writeFile(join(w.stateDir, 'state.json'), '{"schema":1');
    await expect(w.check({ ...OK, stopped: true })).rejects.toThrow(/JSON/);
  });

  it('invariant/a-state-file-behind-memory-fails-it', async () => {
    w = await faultWorld();
    const rec = w.agent.state.state.dns.records['home.example.com/A']!;
    rec.record_id = 'not-what-was-saved';
    await expect(w.check({ ...OK, stopped: true })).rejects.toThrow();
  });

  it('invariant/the-plug-left-off-fails-it', async () => {
    w = await faultWorld();
    await expect(w.check({ ...OK, plug: () => false })).rejects.toThrow(/left off/);
  });

  it('invariant/an-agent-that-no-longer-runs-cycles-fails-it', async () => {
    w = await faultWorld();
    await w.agent.scheduler.stop();
    await expect(w.check(OK)).rejects.toThrow(/no longer runs DNS cycles/);
  });

  it('invariant/a-fault-nobody-mentions-fails-it', async () => {
    w = await faultWorld();
    await expect(w.check({ ...OK, said: /the zone is on fire/ })).rejects.toThrow(
      /no log line or event matches/,
    );
  });
});
