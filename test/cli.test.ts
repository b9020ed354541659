/**
 * The real executable (dist/bin.js, built by `npm test`) as a user runs it: exit codes, the
 * `check` plan against a loopback fake Cloudflare, config errors naming their key, SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeCloudflare } from './fakes/cloudflare.js';
import { type EchoServer, startEchoServer } from './fakes/ip-echo.js';
import { BIN, loopbackEnv } from './helpers/env.js';
import { freePort } from './helpers/net.js';

const TOKEN = 'cli-test-token-5b8e2f1a9c3d7e6f';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

const baseEnv = loopbackEnv;

/** For tests whose options file names the endpoints: env must not override them. */
function fileEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ROUTER_HOST: '',
    WAN_TARGETS: '127.0.0.1:9',
    LOG_FORMAT: 'json',
  };
}

function run(
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { onSpawn?: (c: ChildProcess) => void } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const start = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - start }));
    opts.onSpawn?.(child);
  });
}

async function tempFile(name: string, body: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ddnsw-cli-'));
  const path = join(dir, name);
  await writeFile(path, body);
  return path;
}

describe('ddns-watchdog CLI', () => {
  it('--version and --help', async () => {
    const v = await run(['--version'], baseEnv());
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const h = await run(['--help'], baseEnv());
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('Usage: ddns-watchdog [command] [--config FILE]');
  });

  it('an unknown command or flag → exit 1 with a hint', async () => {
    const r = await run(['frobnicate'], baseEnv());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Unknown command "frobnicate"/);
    const f = await run(['--nope'], baseEnv());
    expect(f.code).toBe(1);
    expect(f.stderr).toMatch(/--help/);
  });

  it.each([
    ['env/bad-ttl', { TTL: '30' }, /ttl/],
    ['env/bad-number', { INTERVAL_SECONDS: 'soon' }, /interval_seconds/],
    ['env/placeholder-token', { CLOUDFLARE_API_TOKEN: 'your_token' }, /cloudflare_api_token/],
    ['env/bad-record-name', { RECORDS: 'bad_name!.example.com' }, /records/],
    ['env/bad-url-scheme', { CLOUDFLARE_API_URL: 'ftp://127.0.0.1/x' }, /cloudflare_api_url/],
    ['env/bad-port', { EMBEDDED_BROKER_PORT: '70000' }, /embedded_broker_port/],
    [
      'env/secret-file-missing',
      { CLOUDFLARE_API_TOKEN_FILE: '/nonexistent/token' },
      /CLOUDFLARE_API_TOKEN_FILE/,
    ],
  ])('config error %s → exit 1 naming the key', async (_n, extra, key) => {
    const r = await run(['check'], baseEnv(extra as Record<string, string>));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(key);
    expect(r.stdout).toBe('');
  });

  it('several problems in a file are all reported at once, with the closest key for a typo', async () => {
    const file = await tempFile('opts.yaml', 'cloudfare_api_token: abc\nttl: 5\ninterval_seconds: 0\n');
    const r = await run(['check', '--config', file], baseEnv());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cloudfare_api_token.*cloudflare_api_token/);
    expect(r.stderr).toMatch(/ttl/);
    expect(r.stderr).toMatch(/interval_seconds/);
  });

  it('a token given to a failing config is never printed', async () => {
    const r = await run(['check'], baseEnv({ CLOUDFLARE_API_TOKEN: TOKEN, TTL: '5' }));
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });
});

describe('ddns-watchdog check against a loopback Cloudflare', () => {
  let cf: FakeCloudflare;
  let ip: EchoServer[];
  beforeAll(async () => {
    cf = await FakeCloudflare.start({ token: TOKEN });
    cf.addZone('example.com');
    ip = await Promise.all([startEchoServer('81.2.69.160'), startEchoServer('81.2.69.160')]);
  });
  afterAll(async () => {
    await cf.close();
    await Promise.all(ip.map((s) => s.close()));
  });

  async function optionsFile(records: string[]): Promise<string> {
    return tempFile(
      'options.yaml',
      [
        `cloudflare_api_token: ${TOKEN}`,
        `cloudflare_api_url: ${cf.apiUrl}`,
        `doh_url: ${cf.dohUrl}`,
        'ip_sources:',
        ...ip.map((s) => `  - ${s.url}`),
        'records:',
        ...records.map((r) => `  - ${r}`),
      ].join('\n'),
    );
  }

  it('changes pending → prints the plan per record, exit 3, writes nothing', async () => {
    cf.addRecord({ name: 'old.example.com', type: 'A', content: '81.2.69.1' });
    const file = await optionsFile(['old.example.com', 'new.example.com']);
    cf.clearLog();
    const r = await run(['check', '--config', file], fileEnv());
    expect(r.stdout).toContain('Public IP: IPv4 81.2.69.160');
    expect(r.stdout).toContain('Zone example.com: token can read the zone');
    expect(r.stdout).toContain(
      'old.example.com A: would update A old.example.com from 81.2.69.1 to 81.2.69.160',
    );
    expect(r.stdout).toContain('new.example.com A: would create A new.example.com → 81.2.69.160');
    expect(r.code).toBe(3);
    expect(cf.requests.filter((q) => q.method !== 'GET')).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it('in sync → exit 0', async () => {
    cf.addRecord({ name: 'same.example.com', type: 'A', content: '81.2.69.160' });
    const r = await run(['check', '--config', await optionsFile(['same.example.com'])], fileEnv());
    expect(r.stdout).toContain('same.example.com A: in sync (81.2.69.160)');
    expect(r.code).toBe(0);
  });

  it('a token Cloudflare refuses → exit 2 naming the permission', async () => {
    cf.failNext({ path: /zones$/, status: 403 });
    const r = await run(['check', '--config', await optionsFile(['same.example.com'])], fileEnv());
    expect(r.stdout).toMatch(/Zone · Zone · Read/);
    expect(r.code).toBe(2);
  });
});

describe('ddns-watchdog run', () => {
  it('SIGTERM → clean stop, exit 0 within 5 s, state saved', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'ddnsw-run-'));
    const hanging = await startEchoServer(() => ({ hang: true }));
    const port = await freePort();
    let child: ChildProcess | undefined;
    const done = run(
      ['run'],
      baseEnv({
        STATE_DIR: stateDir,
        RECORDS: 'home.example.com',
        HTTP_TIMEOUT_MS: '30000',
        IP_SOURCES: `${hanging.url}/a,${hanging.url}/b`,
        EMBEDDED_BROKER_PORT: String(port),
      }),
      { onSpawn: (c) => (child = c) },
    );
    // Wait until it has started (first log line), then ask it to stop while requests hang.
    await new Promise<void>((resolve) => {
      child!.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('Started')) resolve();
      });
    });
    const t0 = Date.now();
    child!.kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(r.stdout).toContain('Stopped cleanly');
    const { readFile } = await import('node:fs/promises');
    expect(JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8')).schema).toBe(1);
    await hanging.close();
  });
});
