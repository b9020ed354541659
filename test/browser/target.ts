/**
 * What the browser tests point Chromium at: the HTTP server with the status page, on 127.0.0.1.
 *
 * - `fake` (the default): the real server (src/http/server.ts) and the real page assets, with an
 *   injected state provider, event stream and command function that records what it was asked.
 *   The tests push state documents and events as the agent would.
 * - `agent` (`STATUS_PAGE_TARGET=agent`): the built agent (dist/bin.js) as a user runs it, with
 *   `http_port` set and every endpoint on loopback fakes (Cloudflare API + DoH, IP echo sources).
 *   The world's IP changes at the echo sources, and the agent finds out by itself.
 *
 * Tests that need to script the agent's answers exactly run only against `fake`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import type { CommandName } from '../../src/commands.js';
import type { AgentEvent } from '../../src/events.js';
import { loadPageAssets } from '../../src/http/assets.js';
import { createMetrics } from '../../src/http/metrics.js';
import { type CommandAnswer, type SseMessage, startHttpServer } from '../../src/http/server.js';
import type { StatusDocument } from '../../src/status.js';
import { ManualClock } from '../fakes/clock.js';
import { FakeCloudflare } from '../fakes/cloudflare.js';
import { startEchoServer } from '../fakes/ip-echo.js';
import { BIN } from '../helpers/env.js';
import { logSink } from '../helpers/log-sink.js';
import { freePort } from '../helpers/net.js';
import { waitForOutput } from '../helpers/run-bin.js';
import { healthyState, IP_BEFORE } from './fixtures.js';

export type TargetKind = 'fake' | 'agent';

export const TARGET_KIND: TargetKind = process.env.STATUS_PAGE_TARGET === 'agent' ? 'agent' : 'fake';

export interface TargetOptions {
  /** `http_token`. */
  token?: string;
  /** Serve as the add-on does: only the Ingress proxy's address (given by `clientAddress`). */
  addon?: boolean;
  /** The client address the server sees (the Ingress proxy's, in the Ingress test). */
  clientAddress?: () => string;
  /** The first state document (fake only). */
  initial?: StatusDocument;
}

export interface PageTarget {
  kind: TargetKind;
  /** The page's URL, ending in `/`. */
  url: string;
  /** The §6 state document now (what `GET /state` answers). */
  state(): Promise<StatusDocument>;
  /** The world's public IPv4 becomes `ip`; resolves when the agent knows it. */
  changeIp(ip: string): Promise<void>;
  /** Commands run so far, in order (fake only; the agent's show in its effects). */
  readonly commands: ReadonlyArray<{ name: CommandName; payload: string }>;
  /** Pushes a state document or an event as the agent would (fake only). */
  push(message: SseMessage): void;
  close(): Promise<void>;
}

export function startTarget(options: TargetOptions = {}): Promise<PageTarget> {
  return TARGET_KIND === 'agent' ? startAgentTarget(options) : startFakeTarget(options);
}

/** The answers the fake gives, worded as the agent words them (src/agent.ts, src/domain/recovery-commands.ts). */
export const FAKE_ANSWERS: Record<CommandName, CommandAnswer> = {
  sync: { ok: true, message: 'DNS sync done: 1 change(s) made' },
  reboot: { ok: true, message: 'power-cycling the router now (plug tasmota 127.0.0.1, off 30 s)' },
  probe: { ok: true, message: 'probe round done: router 1.9 ms, WAN 22.8 ms' },
  recovery: { ok: true, message: '' },
};

export async function startFakeTarget(options: TargetOptions = {}): Promise<PageTarget> {
  const assets = await loadPageAssets();
  const sink = logSink();
  let doc = options.initial ?? healthyState();
  const listeners = new Set<(m: SseMessage) => void>();
  const commands: Array<{ name: CommandName; payload: string }> = [];
  const push = (m: SseMessage) => {
    if (m.event === 'state') doc = m.data;
    for (const l of listeners) l(m);
  };
  const server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    addon: options.addon ?? false,
    token: options.token,
    logger: sink.logger,
    clock: new ManualClock(Date.now()),
    probes: { health: () => ({ ok: true }) },
    state: () => doc,
    metrics: createMetrics({ processMetrics: false, version: '0.1.0' }),
    assets,
    ...(options.clientAddress ? { clientAddress: options.clientAddress } : {}),
    events: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    commands: async (name, payload) => {
      commands.push({ name, payload });
      if (name === 'recovery') {
        // As the agent does: the switch changes the state, which every page then shows.
        const enabled = (JSON.parse(payload) as { enabled?: boolean }).enabled === true;
        const recovery = { ...doc.recovery, enabled, state: enabled ? 'idle' : 'disabled' } as const;
        push({ event: 'state', data: { ...doc, recovery } });
        return {
          ok: true,
          message: enabled
            ? 'Auto recovery is on: the router is power-cycled after 3 min of WAN down, at most 3 times in 24 h'
            : 'Auto recovery is off: the agent alerts but never power-cycles',
        };
      }
      return FAKE_ANSWERS[name];
    },
  });
  return {
    kind: 'fake',
    url: `${server.url}/`,
    state: async () => doc,
    changeIp: async (ip) => {
      const next = healthyState(Date.now(), ip);
      push({
        event: 'event',
        data: {
          type: 'ip_changed',
          at: new Date().toISOString(),
          family: 'ipv4',
          old: doc.public_ip.ipv4,
          new: ip,
          sources: next.public_ip.sources_agreeing,
        } as AgentEvent,
      });
      push({ event: 'state', data: next });
    },
    commands,
    push,
    close: () => server.close(),
  };
}

const CF_TOKEN = 'cf-browser-test-token-5b2d9e41c7a0';

/** The built agent on loopback fakes (for when the agent serves the page; see the file comment). */
export async function startAgentTarget(options: TargetOptions = {}): Promise<PageTarget> {
  if (options.addon)
    throw new Error('the agent target cannot play the add-on (it would need the Supervisor)');
  const cf = await FakeCloudflare.start({ token: CF_TOKEN });
  cf.addZone('example.com');
  let ip = IP_BEFORE;
  const sources = await Promise.all([0, 1, 2].map(() => startEchoServer(() => ({ body: ip }))));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RECORDS: 'home.example.com,vpn.example.com',
    CLOUDFLARE_API_TOKEN: CF_TOKEN,
    CLOUDFLARE_API_URL: cf.apiUrl,
    DOH_URL: cf.dohUrl,
    IP_SOURCES: sources.map((s) => s.url).join(','),
    ROUTER_HOST: '',
    WAN_TARGETS: '127.0.0.1:9',
    STATE_DIR: await mkdtemp(join(tmpdir(), 'ddnsw-page-')),
    MIN_UPDATE_INTERVAL_SECONDS: '0',
    HTTP_PORT: String(port),
    HTTP_HOST: '127.0.0.1',
    LOG_FORMAT: 'json',
    ...(options.token ? { HTTP_TOKEN: options.token } : {}),
  };
  const child: ChildProcess = spawn(process.execPath, [BIN, 'run'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += String(d);
  });
  child.stderr?.on('data', (d) => {
    output += String(d);
  });
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code) => resolve(`exited with ${code}`)),
  );
  const listening = waitForOutput(child.stdout!, /HTTP server listening/).then(() => 'listening');
  const bound = new Promise<string>((resolve) => setTimeout(() => resolve('silent'), 15_000).unref());
  const outcome = await Promise.race([listening, exited, bound]);
  const stopAll = async () => {
    child.kill('SIGTERM');
    await exited;
    await Promise.all(sources.map((s) => s.close()));
    await cf.close();
  };
  if (outcome !== 'listening') {
    await stopAll();
    throw new Error(
      `The agent did not start its HTTP server (${outcome}); it must serve the status page when http_port is set. Its output:\n${output.slice(-2000)}`,
    );
  }
  const base = `http://127.0.0.1:${port}`;
  const auth: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  const getState = async () => {
    const res = await request(`${base}/state`, { headers: auth });
    return (await res.body.json()) as StatusDocument;
  };
  return {
    kind: 'agent',
    url: `${base}/`,
    state: getState,
    changeIp: async (next) => {
      ip = next;
      const res = await request(`${base}/api/command/sync`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{}',
      });
      await res.body.text();
    },
    commands: [],
    push: () => {
      throw new Error('push() needs the fake target');
    },
    close: stopAll,
  };
}
