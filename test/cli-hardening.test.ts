/**
 * The real executable against the faults of issue 6 (points 7 and 12): a password that breaks
 * URL parsing is never printed, config that used to fail only at run time fails at start with
 * exit 1, options files that are not regular files do not hang, and signals at awkward moments
 * (before the agent exists, twice during a stop) end cleanly with state saved.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startEchoServer } from './fakes/ip-echo.js';
import { loopbackEnv } from './helpers/env.js';
import { freePort } from './helpers/net.js';
import { type BinRun, runBin, waitForOutput } from './helpers/run-bin.js';

const PASSWORD = 'Cli-pw-3e8a6c1f';
const HOLD_IMPORT = fileURLToPath(new URL('./fixtures/signals/hold-import.mjs', import.meta.url));

async function tempFile(name: string, body: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ddnsw-cli-hard-'));
  const path = join(dir, name);
  await writeFile(path, body);
  return path;
}

/** Fails the test (the child is killed) instead of hanging when the binary does not exit in time. */
function guarded(child: ChildProcess, ms: number): void {
  const guard = setTimeout(() => child.kill('SIGKILL'), ms);
  child.on('exit', () => clearTimeout(guard));
}

describe('secrets in URLs that do not parse', () => {
  it.each([
    ['hash', `mqtt://ddns:${PASSWORD}#1@127.0.0.1:1883`],
    ['slash', `mqtt://ddns:${PASSWORD}/1@127.0.0.1:1883`],
    ['question-mark', `mqtt://ddns:${PASSWORD}?1@127.0.0.1:1883`],
    ['bad-escape', `mqtt://ddns:${PASSWORD}%zz@127.0.0.1:1883`],
    ['bad-port', `mqtt://ddns:${PASSWORD}@127.0.0.1:99999`],
  ])('check/MQTT_URL/%s → exit 1 naming mqtt_url, password never printed', async (_name, url) => {
    const r = await runBin(['check'], loopbackEnv({ MQTT_URL: url }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/mqtt_url \(MQTT_URL\): .+ — .+/);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });

  it('run/MQTT_URL with a bad escape → exit 1 at start, not "URI malformed" later', async () => {
    const r = await runBin(['run'], loopbackEnv({ MQTT_URL: `mqtt://ddns:a%zz${PASSWORD}@127.0.0.1:1` }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('%25');
    expect(r.stdout + r.stderr).not.toMatch(/URI malformed/);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });
});

describe('check output', () => {
  it('an IP source with a key in its query string: the key is never printed', async () => {
    const sources = await Promise.all([startEchoServer('81.2.69.160'), startEchoServer('81.2.69.160')]);
    try {
      const r = await runBin(
        ['check'],
        loopbackEnv({
          IP_SOURCES: sources.map((s) => `${s.url}ip?key=${PASSWORD}`).join(','),
          RECORDS: 'home.example.com',
        }),
      );
      expect(r.stdout).toContain('Public IP: IPv4 81.2.69.160');
      expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    } finally {
      await Promise.all(sources.map((s) => s.close()));
    }
  });
});

describe('config that used to fail only at run time', () => {
  it.each([['check'], ['run']])('%s/mqtt_ca_file: 123 → exit 1 naming the key', async (command) => {
    const file = await tempFile('ca.yaml', 'mqtt_ca_file: 123\n');
    const r = await runBin([command, '--config', file], loopbackEnv());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/mqtt_ca_file: cannot read 123 \(no such file\) — /);
  });

  it.each([
    ['full-width-digit', '５'],
    ['full-width-ip', '１.２.３.４'],
  ])('check/RECORDS=%s → exit 1, not a record for an IP', async (_name, value) => {
    const r = await runBin(['check'], loopbackEnv({ RECORDS: value }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/records\[0\] \(RECORDS\): .*looks like an IP address/);
  });

  it('check/a topic longer than MQTT allows → exit 1', async () => {
    const r = await runBin(['check'], loopbackEnv({ MQTT_BASE_TOPIC: 'a'.repeat(66_000) }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/mqtt_base_topic \(MQTT_BASE_TOPIC\): .*65,535 bytes/);
    expect(r.stderr.length).toBeLessThan(2000);
  });

  it('run/options file is a FIFO → exit 1 at once instead of hanging', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ddnsw-cli-fifo-'));
    const fifo = join(dir, 'options.yaml');
    execFileSync('mkfifo', [fifo]);
    const r = await runBin(['run', '--config', fifo], loopbackEnv(), { onSpawn: (c) => guarded(c, 8000) });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is a named pipe (FIFO), not a regular file');
  });

  it('run/options file is /dev/urandom → exit 1 without reading it', async () => {
    const r = await runBin(['run'], loopbackEnv({ CONFIG_FILE: '/dev/urandom' }), {
      onSpawn: (c) => guarded(c, 8000),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/dev/urandom is a character device, not a regular file');
  });
});

describe('signals', () => {
  it.each([['SIGTERM'], ['SIGINT']] as const)(
    'run/%s while the program is still loading → exit 0, not killed by the signal',
    async (signal) => {
      const stateDir = await mkdtemp(join(tmpdir(), 'ddnsw-early-'));
      let child: ChildProcess | undefined;
      const done = runBin(['run'], loopbackEnv({ STATE_DIR: stateDir }), {
        // The harness pauses the import of the CLI (the slow part of start-up) and says so.
        nodeArgs: ['--import', HOLD_IMPORT],
        onSpawn: (c) => {
          child = c;
          guarded(c, 8000);
        },
      });
      await waitForOutput(child!.stderr!, /holding dist\/cli\.js/);
      child!.kill(signal);
      const r = await done;
      expect(r.signal).toBeNull();
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`Received ${signal} before the agent started; nothing to stop or save.`);
      expect(existsSync(join(stateDir, 'state.json'))).toBe(false);
    },
  );

  it('check/SIGTERM while the program is still loading → exit 2 (not "in sync"), nothing changed', async () => {
    let child: ChildProcess | undefined;
    const done = runBin(['check', '--config', '/nonexistent/options.yaml'], loopbackEnv(), {
      nodeArgs: ['--import', HOLD_IMPORT],
      onSpawn: (c) => {
        child = c;
        guarded(c, 8000);
      },
    });
    await waitForOutput(child!.stderr!, /holding dist\/cli\.js/);
    child!.kill('SIGTERM');
    const r = await done;
    expect(r.signal).toBeNull();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Received SIGTERM; check stopped before it finished (nothing was changed).');
  });

  it('run/a second SIGTERM during the stop → skips the wait for in-flight requests, still saves state', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'ddnsw-twice-'));
    const hanging = await startEchoServer(() => ({ hang: true }));
    const port = await freePort();
    let child: ChildProcess | undefined;
    const done = runBin(
      ['run'],
      loopbackEnv({
        STATE_DIR: stateDir,
        RECORDS: 'home.example.com',
        HTTP_TIMEOUT_MS: '30000',
        IP_SOURCES: `${hanging.url}/a,${hanging.url}/b`,
        EMBEDDED_BROKER_PORT: String(port),
      }),
      { onSpawn: (c) => (child = c) },
    );
    try {
      await waitForOutput(child!.stdout!, /Started/);
      // The state written at start is removed: only a save during the stop can bring it back.
      const statePath = join(stateDir, 'state.json');
      await waitForFile(statePath);
      await unlink(statePath);
      const stopping = waitForOutput(child!.stdout!, /Received SIGTERM; stopping/);
      child!.kill('SIGTERM');
      await stopping;
      const t0 = Date.now();
      child!.kill('SIGTERM');
      const r: BinRun = await done;
      expect(r.signal).toBeNull();
      expect(r.code).toBe(0);
      // The first stop would give the hanging requests 1.5 s; the second signal does not wait.
      expect(Date.now() - t0).toBeLessThan(1400);
      expect(r.stdout).toContain('Received SIGTERM again');
      expect(r.stdout).toContain('State saved');
      expect(JSON.parse(await readFile(statePath, 'utf8')).schema).toBe(1);
    } finally {
      await hanging.close();
    }
  });
});

describe('stop with a state that cannot be saved', () => {
  it('run/state_dir is a file → SIGTERM says the state was not saved and exits 2, not "Stopped cleanly"', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ddnsw-notdir-'));
    const notADir = join(dir, 'afile');
    await writeFile(notADir, 'not a folder');
    const echo = await startEchoServer(() => ({ body: '81.2.69.160' }));
    const port = await freePort();
    let child: ChildProcess | undefined;
    const done = runBin(
      ['run'],
      loopbackEnv({
        STATE_DIR: notADir,
        RECORDS: 'home.example.com',
        IP_SOURCES: `${echo.url}/a,${echo.url}/b`,
        EMBEDDED_BROKER_PORT: String(port),
      }),
      { onSpawn: (c) => (child = c) },
    );
    try {
      await waitForOutput(child!.stdout!, /is not a directory/);
      child!.kill('SIGTERM');
      const r: BinRun = await done;
      expect(r.signal).toBeNull();
      expect(r.code).toBe(2);
      expect(r.stdout).toContain('the final state could not be saved');
      expect(r.stdout).not.toContain('Stopped cleanly');
    } finally {
      await echo.close();
    }
  });
});

/** Resolves once `path` exists (the agent's own first save), checking every 10 ms. */
async function waitForFile(path: string): Promise<void> {
  while (!existsSync(path)) await new Promise((r) => setTimeout(r, 10));
}
