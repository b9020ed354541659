/**
 * A real Mosquitto broker for tests, on 127.0.0.1 only, with a generated configuration in a temp
 * directory: anonymous, with a password file (made by `mosquitto_passwd -b`), and/or a TLS listener
 * whose CA and server certificate are generated with the `openssl` CLI.
 *
 * Tests use `mosquittoAvailable()` (and `mosquittoPasswdAvailable()`, `opensslAvailable()`) with
 * `it.skipIf`, so a machine without Mosquitto skips them with a clear reason. The binary is found
 * through MOSQUITTO_BIN (exclusively, when set), else /usr/sbin/mosquitto, /usr/local/sbin, PATH.
 *
 * Mosquitto 2 started as root drops privileges to the `mosquitto` user, which then cannot read the
 * temp directory; the generated config sets `user <current user>` when running as root to stop that.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';

function findBinary(name: string, candidates: string[]): string | undefined {
  for (const c of candidates) if (c && existsSync(c)) return c;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** MOSQUITTO_BIN when set (only it: set it to a missing path to force the skip), else the usual places. */
export function mosquittoBinary(): string | undefined {
  const pinned = process.env.MOSQUITTO_BIN;
  if (pinned !== undefined && pinned !== '') return existsSync(pinned) ? pinned : undefined;
  return findBinary('mosquitto', ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto']);
}

export function mosquittoPasswdBinary(): string | undefined {
  return findBinary('mosquitto_passwd', ['/usr/bin/mosquitto_passwd', '/usr/local/bin/mosquitto_passwd']);
}

export function opensslBinary(): string | undefined {
  return findBinary('openssl', ['/usr/bin/openssl', '/usr/local/bin/openssl']);
}

export function mosquittoAvailable(): boolean {
  return mosquittoBinary() !== undefined;
}

export function mosquittoPasswdAvailable(): boolean {
  return mosquittoAvailable() && mosquittoPasswdBinary() !== undefined;
}

export function opensslAvailable(): boolean {
  return opensslBinary() !== undefined;
}

/** Why the Mosquitto tests are skipped (empty when they run). */
export function mosquittoSkipReason(): string {
  return mosquittoAvailable()
    ? ''
    : 'no mosquitto binary; install the mosquitto package or set MOSQUITTO_BIN';
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface MosquittoOptions {
  /** User name → password; anonymous access is then refused. */
  users?: Record<string, string>;
  /** Serve TLS (mqtts) with a CA generated for this broker; `caFile` points at the CA certificate. */
  tls?: boolean;
  /** Also open a WebSocket listener (`wsUrl`). */
  websockets?: boolean;
  /** Extra lines for mosquitto.conf (global settings, e.g. `max_packet_size 20000`). */
  config?: string[];
}

export interface FakeMosquitto {
  /** mqtt://127.0.0.1:PORT or mqtts://127.0.0.1:PORT */
  url: string;
  port: number;
  /** ws://127.0.0.1:PORT when `websockets` was asked for. */
  wsUrl?: string;
  /** The generated CA certificate (PEM) when `tls` was asked for. */
  caFile?: string;
  /** The temp directory with the config, password file and certificates. */
  dir: string;
  /** Everything Mosquitto wrote to stdout/stderr. */
  output(): string;
  /** SIGTERM and wait for the process to exit; removes the temp directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (an abrupt crash) and wait for the exit; the temp directory stays until stop(). */
  kill(): Promise<void>;
}

async function generateCerts(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const openssl = opensslBinary();
  if (!openssl) throw new Error('openssl is not installed; TLS tests cannot generate certificates');
  const ca = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const ext = join(dir, 'server.ext');
  const run = (args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    caKey,
    '-out',
    ca,
    '-days',
    '2',
    '-subj',
    '/CN=ddns-watchdog test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  run(['req', ...ec, '-keyout', key, '-out', csr, '-subj', '/CN=127.0.0.1']);
  await writeFile(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '',
    ].join('\n'),
  );
  run([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  return { ca, cert, key };
}

function waitForPort(
  port: number,
  child: ChildProcess,
  output: () => string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise<void>((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(new Error(`mosquitto exited (${child.exitCode ?? child.signalCode}):\n${output()}`));
        return;
      }
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`mosquitto did not listen on ${port}:\n${output()}`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<FakeMosquitto> {
  const bin = mosquittoBinary();
  if (!bin)
    throw new Error('mosquitto is not installed (install the mosquitto package or set MOSQUITTO_BIN)');
  const dir = await mkdtemp(join(tmpdir(), 'ddns-watchdog-mosquitto-'));

  const lines = [
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
  ];
  lines.push('per_listener_settings false', ...(options.config ?? []));
  if (process.getuid?.() === 0) lines.push(`user ${userInfo().username}`);
  const users = options.users ?? {};
  if (Object.keys(users).length > 0) {
    const passwd = mosquittoPasswdBinary();
    if (!passwd) throw new Error('mosquitto_passwd is not installed; password tests cannot run');
    const file = join(dir, 'passwd');
    await writeFile(file, '', { mode: 0o600 });
    for (const [user, password] of Object.entries(users)) {
      execFileSync(passwd, ['-b', file, user, password], { stdio: 'pipe' });
    }
    lines.push('allow_anonymous false', `password_file ${file}`);
  } else {
    lines.push('allow_anonymous true');
  }
  const certs = options.tls ? await generateCerts(dir) : undefined;

  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const wsPort = options.websockets ? await freePort() : undefined;
    const config = [...lines, `listener ${port} 127.0.0.1`];
    if (certs) config.push(`cafile ${certs.ca}`, `certfile ${certs.cert}`, `keyfile ${certs.key}`);
    if (wsPort !== undefined) config.push(`listener ${wsPort} 127.0.0.1`, 'protocol websockets');
    const confFile = join(dir, 'mosquitto.conf');
    await writeFile(confFile, `${config.join('\n')}\n`);

    let out = '';
    const child = spawn(bin, ['-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await waitForPort(port, child, () => out);
      if (wsPort !== undefined) await waitForPort(wsPort, child, () => out);
    } catch (err) {
      child.kill('SIGKILL');
      await exited;
      // Someone took the port between freePort() and mosquitto's bind: try another one.
      if (tries < 3 && /Address already in use/i.test(out)) continue;
      await rm(dir, { recursive: true, force: true });
      throw err;
    }

    let stopped: Promise<void> | undefined;
    const signal = async (sig: NodeJS.Signals) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      await exited;
    };
    const result: FakeMosquitto = {
      url: `${certs ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
      port,
      dir,
      output: () => out,
      kill: () => signal('SIGKILL'),
      stop: () => {
        stopped ??= (async () => {
          await signal('SIGTERM');
          await rm(dir, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
    if (wsPort !== undefined) result.wsUrl = `ws://127.0.0.1:${wsPort}`;
    if (certs) result.caFile = certs.ca;
    return result;
  }
}
