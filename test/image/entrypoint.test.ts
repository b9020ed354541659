/**
 * docker/entrypoint.mjs, the script the image starts under tini, run here directly on the built
 * agent (dist/bin.js; `npm run build` first). As root — how the Supervisor starts every add-on — it
 * must hand the state directory to PUID:PGID, drop root for good and only then start the agent; as
 * any other user it must change nothing. The root cases need root (CI runs as root) and are
 * skipped, saying so, elsewhere.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, loopbackEnv } from '../helpers/env.js';
import { freePort } from '../helpers/net.js';
import { ROOT } from './dockerfile.js';

const ENTRYPOINT = join(ROOT, 'docker', 'entrypoint.mjs');
const isRoot = process.getuid?.() === 0;
/** nobody:nogroup on Debian and Alpine; any id works for setuid, it needs no passwd entry. */
const APP_ID = 65534;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(
  args: string[],
  env: NodeJS.ProcessEnv,
  as?: number,
): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [ENTRYPOINT, ...args], {
    env,
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(as !== undefined ? { uid: as, gid: as } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<Run>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

/** Resolves once the child has printed `pattern` on stdout. */
function printed(child: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve) => {
    let seen = '';
    child.stdout?.on('data', (d) => {
      seen += String(d);
      if (pattern.test(seen)) resolve();
    });
  });
}

/** `Uid:`, `Gid:`, `Groups:` and the capability sets of a running process, from /proc. */
function credentials(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const m = /^(Uid|Gid|Groups|CapPrm|CapEff|CapAmb):\s*(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim().replace(/\s+/g, ' ');
  }
  return out;
}

/** A state directory as the Supervisor leaves /data: root's, mode 0755, options.json root's with mode 0600. */
function supervisorLikeDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'entrypoint-data-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'options.json'), '{}\n', { mode: 0o600 });
  return dir;
}

describe('docker/entrypoint.mjs', () => {
  it('the built agent is there to be started (npm run build)', () => {
    expect(existsSync(BIN)).toBe(true);
  });

  it.skipIf(!isRoot)(
    'as root: gives the state directory to PUID, drops root for good, runs the agent, stops cleanly on SIGTERM',
    async () => {
      const data = supervisorLikeDataDir();
      const { child, done } = start(
        ['run'],
        loopbackEnv({
          STATE_DIR: data,
          PUID: String(APP_ID),
          PGID: String(APP_ID),
          EMBEDDED_BROKER_PORT: String(await freePort()),
        }),
      );
      await printed(child, /Started/);
      // The process that runs the agent is the entrypoint's own, now without any trace of root.
      const creds = credentials(child.pid!);
      expect(creds).toMatchObject({
        Uid: `${APP_ID} ${APP_ID} ${APP_ID} ${APP_ID}`,
        Gid: `${APP_ID} ${APP_ID} ${APP_ID} ${APP_ID}`,
        Groups: String(APP_ID),
        CapPrm: '0000000000000000',
        CapEff: '0000000000000000',
      });
      expect(statSync(join(data, 'options.json')).uid).toBe(APP_ID);
      child.kill('SIGTERM');
      const r = await done;
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Stopped cleanly');
      expect(r.stderr).toBe('');
      const state = statSync(join(data, 'state.json'));
      expect([state.uid, state.gid]).toEqual([APP_ID, APP_ID]);
      expect(statSync(data).uid).toBe(APP_ID);
    },
  );

  it.skipIf(!isRoot)(
    'as root: a symbolic link in the state directory is changed itself, never followed',
    async () => {
      const data = supervisorLikeDataDir();
      const outside = join(mkdtempSync(join(tmpdir(), 'entrypoint-outside-')), 'secret');
      writeFileSync(outside, 'root only\n', { mode: 0o600 });
      symlinkSync(outside, join(data, 'link'));
      const r = await start(['--version'], { PATH: process.env.PATH, STATE_DIR: data, PUID: String(APP_ID) })
        .done;
      expect(r.code).toBe(0);
      expect(lstatSync(join(data, 'link')).uid).toBe(APP_ID);
      expect(statSync(outside).uid).toBe(0);
    },
  );

  it.skipIf(!isRoot)(
    'as root: a STATE_DIR inside the system folders is left alone, and said so',
    async () => {
      const r = await start(['--version'], {
        PATH: process.env.PATH,
        STATE_DIR: '/etc/ddns-watchdog-test',
        PUID: String(APP_ID),
      }).done;
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/STATE_DIR=\/etc\/ddns-watchdog-test is inside the image's system folders/);
      expect(existsSync('/etc/ddns-watchdog-test')).toBe(false);
    },
  );

  it.skipIf(!isRoot).each([
    ['puid/zero', { PUID: '0' }, /PUID=0 would run the agent as root/],
    ['puid/not a number', { PUID: 'node' }, /PUID="node" is not a user or group id/],
    ['pgid/too large', { PGID: '99999999999' }, /PGID="99999999999" is not a user or group id/],
  ])('as root: %s → exit 1 naming the variable, agent not started', async (_name, extra, message) => {
    const data = supervisorLikeDataDir();
    const r = await start(['run'], { ...loopbackEnv({ STATE_DIR: data }), ...extra }).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(existsSync(join(data, 'state.json'))).toBe(false);
  });

  it.skipIf(!isRoot)(
    'as another user (docker run --user): changes nothing and runs the agent as that user',
    async () => {
      const data = supervisorLikeDataDir();
      chmodSync(data, 0o777);
      const { child, done } = start(
        ['run'],
        loopbackEnv({ STATE_DIR: data, EMBEDDED_BROKER_PORT: String(await freePort()) }),
        APP_ID,
      );
      await printed(child, /Started/);
      expect(credentials(child.pid!).Uid).toBe(`${APP_ID} ${APP_ID} ${APP_ID} ${APP_ID}`);
      child.kill('SIGTERM');
      const r = await done;
      expect(r.code).toBe(0);
      expect(statSync(data).uid).toBe(0);
      expect(statSync(join(data, 'options.json')).uid).toBe(0);
      expect(statSync(join(data, 'state.json')).uid).toBe(APP_ID);
    },
  );

  it('passes the command line through to the agent unchanged', async () => {
    const r = await start(['--version'], { PATH: process.env.PATH }, isRoot ? APP_ID : undefined).done;
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });
});
