/**
 * `ping` stand-ins for tests: small executable shell scripts written into a temp directory that
 * the probe finds through the PATH of the environment it is given (never process.env, never the
 * real ping). Each script prints what a real ping prints and exits as it does, and appends one
 * line per call to a log (`LC_ALL|argv`), so tests can check the arguments and the locale.
 *
 * The PATH holds only the stand-in directory: a missing stand-in is a missing binary, and no test
 * can reach the system's ping by accident.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Absolute paths: the stand-ins' PATH holds nothing but themselves. */
const tool = (name: string) => [`/bin/${name}`, `/usr/bin/${name}`].find((p) => existsSync(p)) ?? name;
const SLEEP = tool('sleep');
const CAT = tool('cat');

const IPUTILS_REPLY = `PING $HOST ($HOST) 56(84) bytes of data.
64 bytes from $HOST: icmp_seq=1 ttl=64 time=0.512 ms

--- $HOST ping statistics ---
1 packets transmitted, 1 received, 0% packet loss, time 0ms
rtt min/avg/max/mdev = 0.512/0.512/0.512/0.000 ms`;

const BUSYBOX_REPLY = `PING $HOST ($HOST): 56 data bytes
64 bytes from $HOST: seq=0 ttl=64 time=1.234 ms

--- $HOST ping statistics ---
1 packets transmitted, 1 packets received, 0% packet loss
round-trip min/avg/max = 1.234/1.234/1.234 ms`;

const IPUTILS_NO_REPLY = `PING $HOST ($HOST) 56(84) bytes of data.

--- $HOST ping statistics ---
1 packets transmitted, 0 received, 100% packet loss, time 0ms`;

/** What a stand-in does. */
export type PingBehaviour =
  | 'iputils-reply'
  | 'busybox-reply'
  /** exit 1, "100% packet loss". */
  | 'no-reply'
  /** iputils without the capability: exit 2, "ping: socket: Operation not permitted". */
  | 'eperm'
  /** BusyBox as a plain user: exit 1, "ping: permission denied (are you root?)". */
  | 'busybox-eperm'
  /** exit 2, "ping: connect: Network is unreachable". */
  | 'net-unreachable'
  /** The same after 120 ms: a loaded Pi taking its time to start ping. */
  | 'net-unreachable-slow'
  /** Never exits on its own; it also leaves a child of its own (a `sleep`), whose pid it writes to `<dir>/child.pid`. */
  | 'hang'
  /** An old iputils `ping` that does not know `-6` (exit 2, usage); any other call replies. */
  | 'no-dash-6';

function body(behaviour: PingBehaviour, dir: string): string {
  const out = (text: string, code: number, stream: 'out' | 'err' = 'out') =>
    `${CAT} ${stream === 'err' ? '>&2 ' : ''}<<EOF\n${text}\nEOF\nexit ${code}\n`;
  switch (behaviour) {
    case 'iputils-reply':
      return out(IPUTILS_REPLY, 0);
    case 'busybox-reply':
      return out(BUSYBOX_REPLY, 0);
    case 'no-reply':
      return out(IPUTILS_NO_REPLY, 1);
    case 'eperm':
      return out('ping: socket: Operation not permitted', 2, 'err');
    case 'busybox-eperm':
      return out('ping: permission denied (are you root?)', 1, 'err');
    case 'net-unreachable':
      return out('ping: connect: Network is unreachable', 2, 'err');
    case 'net-unreachable-slow':
      return `${SLEEP} 0.12\n${out('ping: connect: Network is unreachable', 2, 'err')}`;
    case 'hang':
      return `${SLEEP} 30 &\necho $! > '${join(dir, 'child.pid')}'\nwait\n`;
    case 'no-dash-6':
      return `if [ "$1" = "-6" ]; then\n${out("ping: invalid option -- '6'\nUsage: ping [-LRUbdfnqrvVaAD] destination", 2, 'err')}fi\n${out(IPUTILS_REPLY, 0)}`;
  }
}

export interface PingStandIns {
  dir: string;
  /** The environment to hand the probe: PATH = the stand-in directory only. */
  env: Record<string, string>;
  /** Writes (or replaces) the stand-in `name` (`ping`, `ping6`). */
  write(behaviour: PingBehaviour, name?: string): Promise<void>;
  /** Writes a `ping` that exists but may not be executed (EACCES). */
  writeNotExecutable(name?: string): Promise<void>;
  /** Every call so far: `{ lcAll, args, name }`. */
  calls(): Promise<Array<{ name: string; lcAll: string; args: string[] }>>;
  /** The pid a `hang` stand-in's own child wrote, or null. */
  hangChildPid(): Promise<number | null>;
  remove(): Promise<void>;
}

export async function pingStandIns(): Promise<PingStandIns> {
  const dir = await mkdtemp(join(tmpdir(), 'ping-stand-in-'));
  const log = join(dir, 'calls.log');
  const write = async (behaviour: PingBehaviour, name = 'ping') => {
    const script = [
      '#!/bin/sh',
      // $HOST = the last argument (the target), as ping prints it.
      'for HOST in "$@"; do :; done',
      `printf '%s|%s|%s\\n' '${name}' "\${LC_ALL:-}" "$*" >> '${log}'`,
      body(behaviour, dir),
    ].join('\n');
    await writeFile(join(dir, name), script);
    await chmod(join(dir, name), 0o755);
  };
  return {
    dir,
    env: { PATH: dir },
    write,
    async writeNotExecutable(name = 'ping') {
      await writeFile(join(dir, name), '#!/bin/sh\nexit 0\n');
      await chmod(join(dir, name), 0o644);
    },
    async calls() {
      const text = existsSync(log) ? await readFile(log, 'utf8') : '';
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const [name = '', lcAll = '', args = ''] = l.split('|');
          return { name, lcAll, args: args.split(' ').filter((a) => a !== '') };
        });
    },
    async hangChildPid() {
      const file = join(dir, 'child.pid');
      if (!existsSync(file)) return null;
      const n = Number((await readFile(file, 'utf8')).trim());
      return Number.isInteger(n) && n > 0 ? n : null;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** True while `pid` is a live process (a zombie waiting for its parent counts as gone). */
export async function processAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ..." — the state follows the closing parenthesis.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
