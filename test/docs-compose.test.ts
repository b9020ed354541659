/**
 * docs/docker-compose.yml and docs/mosquitto/mosquitto.conf (issue 9.5, docs/docker.md): the
 * compose file sets only real configuration keys (secrets only through `<KEY>_FILE` and compose
 * secrets), keeps state in volumes, leaves the image's health check alone, and loads as a real
 * configuration; the Mosquitto config, run by a real Mosquitto on loopback, refuses anonymous
 * clients, takes the password file's users, and keeps retained messages across a restart.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { listConfigKeys } from '../src/config/keys.js';
import { loadConfig } from '../src/config/load.js';
import {
  freePort,
  mosquittoBinary,
  mosquittoPasswdAvailable,
  mosquittoPasswdBinary,
} from './fakes/mosquitto.js';

const DOCS = new URL('../docs/', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, DOCS), 'utf8');

interface Service {
  image?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: Array<string | { type?: string; source?: string; target: string }>;
  secrets?: Array<string | { source: string; target?: string }>;
  ports?: Array<string | number | { target: number; published?: number | string }>;
  healthcheck?: { disable?: boolean; test?: string | string[] };
  network_mode?: string;
  read_only?: boolean;
  tmpfs?: string | string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string; environment?: string }>;
}

const compose = parse(read('docker-compose.yml')) as Compose;
const KEYS = listConfigKeys();
const CONFIG_ENV = new Set(KEYS.map((k) => k.envName));
const SECRET_ENV = new Set(KEYS.filter((k) => k.secret).map((k) => k.envName));

function agentService(): Service {
  const found = Object.values(compose.services).filter((s) => s.image?.startsWith('ddns-watchdog'));
  expect(found).toHaveLength(1);
  return found[0]!;
}

function environment(s: Service): Record<string, string> {
  const env = s.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((line) => {
        const at = line.indexOf('=');
        return at < 0 ? [line, ''] : [line.slice(0, at), line.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Volume mounts as { source, target }; a named volume's source is its name. */
function mounts(s: Service): Array<{ source: string; target: string }> {
  return (s.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { source: v.source ?? '', target: v.target };
    const [source = '', target = ''] = v.split(':');
    return { source, target };
  });
}

/** Environment variables the image's own scripts read (docker/*.mjs), e.g. PUID and PGID. */
function imageVariables(): Set<string> {
  const names = new Set<string>();
  for (const script of ['entrypoint.mjs', 'healthcheck.mjs']) {
    const text = readFileSync(new URL(`../docker/${script}`, import.meta.url), 'utf8');
    for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)) names.add(m[1]!);
  }
  return names;
}

function containerPort(p: NonNullable<Service['ports']>[number]): number {
  if (typeof p === 'number') return p;
  if (typeof p === 'object') return p.target;
  const parts = p.split(':');
  return Number(parts[parts.length - 1]!.split('/')[0]);
}

describe('docs/docker-compose.yml', () => {
  it('compose/environment/every variable is a configuration key, its _FILE form, or one the image reads', () => {
    const extra = imageVariables();
    expect(extra).toContain('PUID');
    const env = environment(agentService());
    expect(Object.keys(env).length).toBeGreaterThan(5);
    for (const name of Object.keys(env)) {
      const fileOf = /^(.+)_FILE$/.exec(name)?.[1];
      const known =
        CONFIG_ENV.has(name) || (fileOf !== undefined && SECRET_ENV.has(fileOf)) || extra.has(name);
      expect(known, `${name} is not a configuration key (docs/configuration.md)`).toBe(true);
    }
  });

  it('compose/secrets/are given only through _FILE, each a compose secret mounted at /run/secrets', () => {
    const agent = agentService();
    const env = environment(agent);
    for (const name of SECRET_ENV) expect(env, `${name} must be ${name}_FILE`).not.toHaveProperty(name);
    const files = Object.entries(env).filter(([name]) => name.endsWith('_FILE'));
    expect(files.map(([n]) => n).sort()).toEqual([
      'CLOUDFLARE_API_TOKEN_FILE',
      'HTTP_TOKEN_FILE',
      'MQTT_PASSWORD_FILE',
    ]);
    const granted = (agent.secrets ?? []).map((s) => (typeof s === 'string' ? s : s.source));
    for (const [name, path] of files) {
      const secret = /^\/run\/secrets\/([\w.-]+)$/.exec(path)?.[1];
      expect(secret, `${name}=${path}`).toBeDefined();
      expect(granted, `${name}: the service is not given secret ${secret}`).toContain(secret);
      expect(compose.secrets?.[secret!]?.file, `secret ${secret} has no file`).toMatch(/^\.\/secrets\//);
    }
    // Nothing that looks like a credential is written into the file itself.
    expect(read('docker-compose.yml')).not.toMatch(/mqtt:\/\/[^/\s]*@/);
  });

  it('compose/volumes/state lives in named volumes for the agent (/data) and for Mosquitto', () => {
    const agent = agentService();
    const env = environment(agent);
    if (env.STATE_DIR !== undefined) expect(env.STATE_DIR).toBe('/data');
    const data = mounts(agent).find((m) => m.target === '/data');
    expect(data, 'the agent needs a volume at /data').toBeDefined();
    expect(compose.volumes).toHaveProperty(data!.source);
    const broker = compose.services.mosquitto!;
    const brokerData = mounts(broker).find((m) => m.target === '/mosquitto/data');
    expect(brokerData, 'Mosquitto needs a volume at /mosquitto/data').toBeDefined();
    expect(compose.volumes).toHaveProperty(brokerData!.source);
    // A read-only root needs somewhere for temp files.
    if (agent.read_only) expect([agent.tmpfs ?? []].flat()).toContain('/tmp');
  });

  it('compose/health check/the image HEALTHCHECK stays in charge and can reach the HTTP port', () => {
    const agent = agentService();
    const hc = agent.healthcheck;
    if (hc !== undefined) {
      expect(hc.disable, 'do not disable the image health check').not.toBe(true);
      expect([hc.test ?? []].flat().join(' ')).toContain('/app/docker/healthcheck.mjs');
    }
    const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8');
    const imagePort = /HTTP_PORT=(\d+)/.exec(dockerfile)?.[1];
    expect(imagePort).toBeDefined();
    const port = environment(agent).HTTP_PORT ?? imagePort!;
    expect(Number(port), 'HTTP_PORT=0 turns the server off and the health check checks nothing').not.toBe(0);
    for (const p of agent.ports ?? []) expect(containerPort(p)).toBe(Number(port));
  });

  it('compose/network/on a bridge network the router and the broker are named explicitly', () => {
    const agent = agentService();
    const env = environment(agent);
    if (agent.network_mode === 'host') return;
    // The container's default gateway is the Docker host (docs/probes.md): say where the router is.
    expect(env.ROUTER_HOST).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const host = new URL(env.MQTT_URL!).hostname;
    expect(Object.keys(compose.services)).toContain(host);
  });

  it('compose/mosquitto/mounts the documented mosquitto.conf at the paths it names', () => {
    const broker = compose.services.mosquitto!;
    const conf = mounts(broker).find((m) => m.target === '/mosquitto/config/mosquitto.conf');
    expect(conf?.source).toBe('./mosquitto/mosquitto.conf');
    expect(existsSync(new URL('mosquitto/mosquitto.conf', DOCS))).toBe(true);
    const text = read('mosquitto/mosquitto.conf');
    const passwd = /^password_file (\S+)$/m.exec(text)?.[1];
    expect(mounts(broker).map((m) => m.target)).toContain(passwd);
    const persistence = /^persistence_location (\S+?)\/?$/m.exec(text)?.[1];
    expect(mounts(broker).map((m) => m.target)).toContain(persistence);
  });

  it('compose/environment/loads as a valid configuration, secrets read from their files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'compose-env-'));
    try {
      const env: Record<string, string> = {};
      for (const [name, value] of Object.entries(environment(agentService()))) {
        const secret = /^\/run\/secrets\/([\w.-]+)$/.exec(value)?.[1];
        if (secret === undefined) {
          env[name] = value;
          continue;
        }
        const file = join(dir, secret);
        await writeFile(file, `${secret.replace(/_/g, '-')}-Zq8wP3nV7kR2tY6uB1xM\n`, { mode: 0o600 });
        env[name] = file;
      }
      const loaded = await loadConfig({ env, isTTY: false });
      expect(loaded.config.records.map((r) => r.name)).toEqual(['home.example.com']);
      expect(loaded.config.mode).toBe('enforce'); // the token was read from its file
      expect(loaded.config.mqtt_url).toBe('mqtt://mosquitto:1883');
      expect(loaded.config.router_host).toBe('192.168.1.1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// ───────────────────────── the Mosquitto configuration, run for real ─────────────────────────

interface Broker {
  url: string;
  stop(): Promise<void>;
}

/** Waits until something accepts TCP connections on the port, or the process has exited. */
async function listening(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited:\n${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen:\n${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * docs/mosquitto/mosquitto.conf with only what a test must change: the container paths moved
 * into `dir`, the listener on a loopback port, and (as root) no drop to a `mosquitto` user.
 */
async function startDocumentedBroker(dir: string, port: number): Promise<Broker> {
  const text = read('mosquitto/mosquitto.conf');
  for (const line of ['listener 1883', 'password_file /mosquitto/config/passwd', 'allow_anonymous false']) {
    expect(text.split('\n')).toContain(line);
  }
  let conf = text
    .replace(/^listener 1883$/m, `listener ${port} 127.0.0.1`)
    .replaceAll('/mosquitto/config/', `${dir}/config/`)
    .replaceAll('/mosquitto/data/', `${dir}/data/`)
    .replace(/^log_dest stdout$/m, 'log_dest stderr');
  if (process.getuid?.() === 0) conf += `\nuser ${userInfo().username}\n`;
  const confFile = join(dir, 'mosquitto.conf');
  await writeFile(confFile, conf);
  let out = '';
  const child = spawn(mosquittoBinary()!, ['-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await listening(port, child, () => out);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

describe.skipIf(!mosquittoPasswdAvailable())('docs/mosquitto/mosquitto.conf on a real Mosquitto', () => {
  let dir: string | undefined;
  let broker: Broker | undefined;
  afterEach(async () => {
    await broker?.stop();
    broker = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('mosquitto/logins/anonymous refused, the password file users accepted, retained messages kept across a restart', async () => {
    dir = await mkdtemp(join(tmpdir(), 'compose-mosquitto-'));
    await mkdir(join(dir, 'config'));
    await mkdir(join(dir, 'data'));
    const passwd = join(dir, 'config', 'passwd');
    await writeFile(passwd, '', { mode: 0o600 });
    execFileSync(mosquittoPasswdBinary()!, ['-b', passwd, 'ddns', 'agent-pass-1'], { stdio: 'pipe' });
    execFileSync(mosquittoPasswdBinary()!, ['-b', passwd, 'homeassistant', 'ha-pass-2'], { stdio: 'pipe' });
    const port = await freePort();
    broker = await startDocumentedBroker(dir, port);
    const options = { reconnectPeriod: 0, connectTimeout: 3000 };

    await expect(mqtt.connectAsync(broker.url, options)).rejects.toThrow(/Not authorized|Bad user/i);
    await expect(
      mqtt.connectAsync(broker.url, { ...options, username: 'ddns', password: 'wrong' }),
    ).rejects.toThrow(/Not authorized|Bad user/i);

    const agent = await mqtt.connectAsync(broker.url, {
      ...options,
      username: 'ddns',
      password: 'agent-pass-1',
    });
    await agent.publishAsync('ddns-watchdog/availability', 'online', { qos: 1, retain: true });
    await agent.endAsync();

    // A clean stop saves the retained messages in the data folder; a new broker reads them back.
    await broker.stop();
    expect(await readdir(join(dir, 'data'))).toContain('mosquitto.db');
    broker = await startDocumentedBroker(dir, port);
    const ha = await mqtt.connectAsync(broker.url, {
      ...options,
      username: 'homeassistant',
      password: 'ha-pass-2',
    });
    const got = new Promise<string>((resolve) =>
      ha.on('message', (_t, payload) => resolve(payload.toString())),
    );
    await ha.subscribeAsync('ddns-watchdog/availability', { qos: 1 });
    expect(await got).toBe('online');
    await ha.endAsync();
  });
});
