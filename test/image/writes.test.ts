/**
 * The agent writes nowhere but its state directory and the temp directory (SPEC §8: the image's
 * root file system may be read-only). A full run of the built agent (dist/bin.js; `npm run build`
 * first) against a loopback world — fake IP echo services, fake Cloudflare API and DoH, a heartbeat
 * and webhook receiver, the embedded MQTT broker, a router and a WAN target on 127.0.0.1 — for a
 * few DNS cycles, then SIGTERM:
 *
 * 1. any user: cwd and HOME point at a fresh folder, TMPDIR at another; afterwards the cwd/HOME
 *    folder is still empty, nothing is left in TMPDIR, and only the state directory holds files;
 * 2. as root, where mount namespaces are allowed (CI): the same run through docker/entrypoint.mjs,
 *    as the image does it, inside a mount namespace where the whole file system is read-only except
 *    the state directory and TMPDIR — what `docker run --read-only --tmpfs /tmp -v data:/data` gives.
 *    Any write elsewhere fails there (EROFS) instead of landing somewhere unseen.
 *
 * The watchdog's settings (router and WAN probes, the plug, the HTTP server) are passed already;
 * they take effect as those parts are wired into the agent, and the HTTP server, once it answers,
 * is asked for /healthz by the image's health check.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeCloudflare } from '../fakes/cloudflare.js';
import { type EchoServer, startEchoServer } from '../fakes/ip-echo.js';
import { BIN } from '../helpers/env.js';
import { freePort } from '../helpers/net.js';
import { ROOT } from './dockerfile.js';

const TOKEN = 'writes-test-token-4c8e1a7f3b9d2e5a';
const ENTRYPOINT = join(ROOT, 'docker', 'entrypoint.mjs');
const CYCLES = 3;

let cf: FakeCloudflare;
let ip: EchoServer[];
let hooks: EchoServer;
let wan: Server;
let wanPort: number;

beforeAll(async () => {
  cf = await FakeCloudflare.start({ token: TOKEN });
  cf.addZone('example.com');
  ip = await Promise.all([startEchoServer('81.2.69.160'), startEchoServer('81.2.69.160')]);
  hooks = await startEchoServer('OK');
  // A WAN target that accepts TCP and closes: the probe's TLS handshake fails, a "WAN down" round.
  wan = createServer((s) => s.destroy());
  await new Promise<void>((r) => wan.listen(0, '127.0.0.1', r));
  wanPort = (wan.address() as { port: number }).port;
});

afterAll(async () => {
  await cf.close();
  await Promise.all([...ip, hooks].map((s) => s.close()));
  await new Promise((r) => wan.close(r));
});

function freshDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `writes-${name}-`));
}

/** Every file and folder under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

/** The agent's whole environment: every endpoint on loopback, every part switched on. */
async function agentEnv(dirs: {
  home: string;
  state: string;
  temp: string;
  record: string;
}): Promise<NodeJS.ProcessEnv> {
  return {
    PATH: process.env.PATH,
    HOME: dirs.home,
    TMPDIR: dirs.temp,
    STATE_DIR: dirs.state,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'debug',
    // DNS against the fakes, a cycle a second.
    CLOUDFLARE_API_TOKEN: TOKEN,
    CLOUDFLARE_API_URL: cf.apiUrl,
    DOH_URL: cf.dohUrl,
    IP_SOURCES: ip.map((s) => s.url).join(','),
    RECORDS: dirs.record,
    INTERVAL_SECONDS: '1',
    MIN_UPDATE_INTERVAL_SECONDS: '0',
    HEARTBEAT_URL: `${hooks.url}ping`,
    WEBHOOK_URL: `${hooks.url}hook`,
    // MQTT: the embedded broker, with discovery.
    EMBEDDED_BROKER_PORT: String(await freePort()),
    // The watchdog: router and WAN probes, a Tasmota plug on the embedded broker (never cycled).
    ROUTER_HOST: '127.0.0.1',
    ROUTER_PROBE: 'icmp',
    WAN_TARGETS: `127.0.0.1:${wanPort}`,
    PROBE_INTERVAL_SECONDS: '1',
    PLUG_TYPE: 'tasmota',
    PLUG_TOPIC: 'writes_test_plug',
    RECOVERY_ENABLED: 'false',
    // The HTTP server, on loopback.
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(await freePort()),
  };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts `argv`, waits for CYCLES DNS cycles (each asks every IP source) and the record's creation
 * (a DNS write: each run uses a new record name), asks /healthz, then SIGTERM.
 */
async function runCycles(
  argv: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<Run & { health?: string }> {
  const hitsBefore = ip[0]!.hits;
  const posts = () => cf.requests.filter((r) => r.method === 'POST').length;
  const postsBefore = posts();
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let early: number | null | undefined;
  void exited.then((code) => {
    early = code;
  });
  // Wait on what the agent does, not on a clock: every cycle asks the first IP source once.
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (early !== undefined || (ip[0]!.hits - hitsBefore >= CYCLES && posts() > postsBefore)) {
        clearInterval(poll);
        resolve();
      }
    }, 20);
  });
  if (early !== undefined) return { code: early, stdout, stderr };
  const health = await healthcheck(env);
  child.kill('SIGTERM');
  return { code: await exited, stdout, stderr, ...(health !== undefined ? { health } : {}) };
}

/** The image's health check against the running agent, when its HTTP server answers at all. */
async function healthcheck(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const r = spawnSync(process.execPath, [join(ROOT, 'docker', 'healthcheck.mjs')], {
    env: { PATH: process.env.PATH, HTTP_PORT: env.HTTP_PORT, HTTP_HOST: env.HTTP_HOST },
    encoding: 'utf8',
  });
  return /ECONNREFUSED/.test(r.stdout) ? undefined : `${r.status} ${r.stdout.trim()}`;
}

function mountNamespacesWork(): boolean {
  if (process.getuid?.() !== 0) return false;
  const r = spawnSync(
    'unshare',
    ['--mount', 'sh', '-c', 'mount -o remount,bind,ro / && ! touch /writes-probe 2>/dev/null'],
    {
      stdio: 'ignore',
    },
  );
  return r.status === 0;
}

describe('the agent writes only to state_dir and the temp directory', () => {
  it('a full run: cwd and HOME stay empty, TMPDIR is left clean, the state directory holds the state', async () => {
    const home = freshDir('home');
    const state = freshDir('state');
    const temp = freshDir('temp');
    const r = await runCycles(
      [process.execPath, BIN, 'run'],
      await agentEnv({ home, state, temp, record: 'plain.example.com' }),
      home,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Stopped cleanly');
    expect(cf.requests.some((q) => q.method === 'POST' && /dns_records/.test(q.path))).toBe(true);
    if (r.health !== undefined) expect(r.health).toMatch(/^0 healthy/);
    expect(tree(home)).toEqual([]);
    expect(tree(temp)).toEqual([]);
    expect(tree(state)).toContain('state.json');
  });

  it.skipIf(!mountNamespacesWork())(
    'the image’s way on a read-only root: entrypoint as root → agent as uid 65534, only /data and /tmp writable',
    async () => {
      const work = freshDir('workdir');
      chmodSync(work, 0o755);
      const state = freshDir('state');
      const temp = freshDir('temp');
      chmodSync(temp, 0o1777);
      const env = {
        ...(await agentEnv({ home: work, state, temp, record: 'read-only.example.com' })),
        PUID: '65534',
        PGID: '65534',
      };
      // Docker's --read-only: the root file system read-only; the volume and the tmpfs writable.
      const script = [
        'set -e',
        'mount --bind "$1" "$1"',
        'mount --bind "$2" "$2"',
        'mount -o remount,bind,ro /',
        'mount -o remount,bind,ro /dev/shm',
        'exec "$3" "$4" run',
      ].join('\n');
      const r = await runCycles(
        [
          'unshare',
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          script,
          'sh',
          state,
          temp,
          process.execPath,
          ENTRYPOINT,
        ],
        env,
        work,
      );
      expect(r.stderr).toBe('');
      expect(r.stdout).not.toMatch(/EROFS|read-only file system|EACCES|permission denied/i);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Stopped cleanly');
      if (r.health !== undefined) expect(r.health).toMatch(/^0 healthy/);
      expect(tree(work)).toEqual([]);
      expect(tree(temp)).toEqual([]);
      expect(tree(state)).toContain('state.json');
    },
  );
});
