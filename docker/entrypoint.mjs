// @ts-check
/**
 * The container's entrypoint, run by tini (PID 1): `node /app/docker/entrypoint.mjs [run|check|demo|…]`.
 *
 * Started as root — as the Home Assistant Supervisor starts every add-on, after it has created
 * /data as root and written /data/options.json as root with mode 0600 — it gives the state
 * directory (STATE_DIR, /data in the image) to the agent's user (PUID:PGID, default 1000:1000, the
 * image's `node` user), drops to that user for good (supplementary groups, group, then user: there
 * is no way back), and only then loads the agent (dist/bin.js) in this same process, so signals
 * from tini reach the agent directly.
 *
 * In the add-on STATE_DIR is always /data (the image sets it; it is not an option), so
 * options.json is handed over with it.
 *
 * Started as any other user (`docker run --user 1000:1000`), it changes nothing and loads the agent.
 * Either way the agent never runs as root. test/image/entrypoint.test.ts runs this file.
 *
 * Exit codes follow the agent's (SPEC §7): 1 for a bad PUID/PGID, 2 when root cannot be dropped.
 */
import { lchown, lstat, mkdir, opendir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const DEFAULT_ID = 1000;
/** Entries looked at in the state directory at most; it holds a handful of files. */
const MAX_ENTRIES = 10_000;
const MAX_DEPTH = 4;
/** Never handed to the agent's user, whatever STATE_DIR says. */
const SYSTEM_DIRS = ['/bin', '/sbin', '/lib', '/usr', '/etc', '/proc', '/sys', '/dev', '/run', '/var', '/app'];

/** @param {string} message @param {number} code @returns {never} */
function fail(message, code) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** @param {string} name @param {string | undefined} text @returns {number} */
function readId(name, text) {
  if (text === undefined || text.trim() === '') return DEFAULT_ID;
  const value = text.trim();
  if (!/^\d{1,10}$/.test(value) || Number(value) > 2147483646) {
    fail(`${name}=${JSON.stringify(value)} is not a user or group id — give a number such as 1000, or unset ${name}`, 1);
  }
  if (Number(value) === 0) {
    fail(`${name}=0 would run the agent as root — give another id such as 1000, or unset ${name}`, 1);
  }
  return Number(value);
}

/** @param {string} dir */
function isSystemDir(dir) {
  return dir === '/' || SYSTEM_DIRS.some((d) => dir === d || dir.startsWith(`${d}/`));
}

/**
 * Gives `dir` and what is inside it (a few levels, a bounded number of entries) to uid:gid.
 * Symbolic links are changed themselves, never followed. Returns how many entries changed.
 * @param {string} dir @param {number} uid @param {number} gid
 */
async function handOver(dir, uid, gid) {
  let seen = 0;
  let changed = 0;
  /** @param {string} path @param {number} depth */
  const visit = async (path, depth) => {
    if (++seen > MAX_ENTRIES) return;
    const st = await lstat(path);
    if (st.uid !== uid || st.gid !== gid) {
      await lchown(path, uid, gid);
      changed++;
    }
    if (!st.isDirectory() || depth >= MAX_DEPTH) return;
    for await (const entry of await opendir(path)) await visit(join(path, entry.name), depth + 1);
  };
  await visit(dir, 0);
  if (seen > MAX_ENTRIES) {
    process.stderr.write(
      `${dir} holds more than ${MAX_ENTRIES} entries; only the first were given to uid ${uid}. The state directory should hold a few files — check STATE_DIR.\n`,
    );
  }
  return changed;
}

/** @param {NodeJS.ProcessEnv} env */
async function dropRoot(env) {
  const uid = readId('PUID', env.PUID);
  const gid = readId('PGID', env.PGID);
  const stateDir = resolve(env.STATE_DIR?.trim() || '/data');
  if (isSystemDir(stateDir)) {
    process.stderr.write(
      `STATE_DIR=${stateDir} is inside the image's system folders; its owner is left as it is. Point STATE_DIR at a volume such as /data.\n`,
    );
  } else {
    try {
      await mkdir(stateDir, { recursive: true });
      await handOver(stateDir, uid, gid);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      process.stderr.write(
        `Could not give ${stateDir} to uid ${uid} (${reason}); the agent will say so if it cannot write its state there. On a bind mount, run: chown -R ${uid}:${gid} <host folder>.\n`,
      );
    }
  }
  try {
    process.setgroups?.([gid]);
    process.setgid?.(gid);
    process.setuid?.(uid);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    fail(
      `Could not switch from root to uid ${uid} (${reason}); refusing to run the agent as root. Run the container with --user ${uid}:${gid}, or allow setuid/setgid.`,
      2,
    );
  }
  if (process.getuid?.() !== uid || process.geteuid?.() !== uid || process.getgid?.() !== gid) {
    fail(`Still running as uid ${process.geteuid?.()} after switching to ${uid}; refusing to run the agent as root.`, 2);
  }
}

if (process.getuid?.() === 0) await dropRoot(process.env);
await import(new URL('../dist/bin.js', import.meta.url).href);
