/**
 * The storm's world on 127.0.0.1: a fake Cloudflare whose two records already hold the IP, three
 * IP echo services, a router and two WAN targets that count the probe connections they get (the
 * WAN resets them: it is down), an agent-timed HTTP plug, a broker (in the test's process, so the
 * agent's memory is its own), and the built agent with its HTTP face on.
 */
import { type AddressInfo, createServer, type Server } from 'node:net';
import { systemClock } from '../../src/clock.js';
import { FakeCloudflare } from '../fakes/cloudflare.js';
import { type EchoServer, startEchoServer } from '../fakes/ip-echo.js';
import { type RecordingBroker, startRecordingBroker } from '../fakes/plugs/broker.js';
import { type FakeHttpPlug, startFakeHttpPlug } from '../fakes/plugs/http-devices.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { loopbackEnv } from '../helpers/env.js';
import { freePort } from '../helpers/net.js';

export const TOKEN = 'storm-cf-token-3c9a71e0b52d84f6';
export const HTTP_TOKEN = 'storm-http-token-8e2b5d0c7f1a9364';
export const RECORDS = ['home.example.com', 'vpn.example.com'];
export const BASE = 'ddns-watchdog';

export interface Counter {
  port: number;
  connections: number;
  close(): Promise<void>;
}

async function countingServer(onSocket: (s: import('node:net').Socket) => void): Promise<Counter> {
  const c = { port: 0, connections: 0, close: async () => {} };
  const server: Server = createServer((s) => {
    c.connections++;
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  c.port = (server.address() as AddressInfo).port;
  c.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return c;
}

export interface StormWorld {
  cf: FakeCloudflare;
  broker: RecordingBroker;
  plug: FakeHttpPlug;
  router: Counter;
  wan: Counter[];
  agent: AgentProcess;
  httpUrl: string;
  ip: string;
  close(): Promise<void>;
}

export async function startStormWorld(firstIp: string): Promise<StormWorld> {
  const cf = await FakeCloudflare.start({ token: TOKEN });
  cf.addZone('example.com');
  for (const name of RECORDS) cf.addRecord({ name, type: 'A', content: firstIp, ttl: 60 });
  const box = { ip: firstIp };
  const echo: EchoServer[] = await Promise.all([0, 1, 2].map(() => startEchoServer(() => box.ip)));
  const router = await countingServer((s) => s.destroy());
  const wan = await Promise.all([0, 1].map(() => countingServer((s) => s.resetAndDestroy())));
  const plug = await startFakeHttpPlug({ clock: systemClock });
  const broker = await startRecordingBroker();
  const httpPort = await freePort();
  const env = loopbackEnv({
    LOG_LEVEL: 'info',
    CLOUDFLARE_API_TOKEN: TOKEN,
    CLOUDFLARE_API_URL: cf.apiUrl,
    DOH_URL: cf.dohUrl,
    RECORDS: RECORDS.join(','),
    IP_SOURCES: echo.map((e) => e.url).join(','),
    INTERVAL_SECONDS: '60',
    JITTER_SECONDS: '0',
    MIN_UPDATE_INTERVAL_SECONDS: '0',
    MQTT_URL: broker.url,
    HTTP_PORT: String(httpPort),
    HTTP_TOKEN,
    ROUTER_HOST: '127.0.0.1',
    ROUTER_PROBE: `tcp:${router.port}`,
    WAN_TARGETS: wan.map((w) => `127.0.0.1:${w.port}`).join(','),
    PROBE_INTERVAL_SECONDS: '5',
    PROBE_TIMEOUT_MS: '500',
    RECOVERY_ENABLED: 'true',
    PLUG_TYPE: 'http',
    PLUG_OFF_URL: `${plug.url}/off`,
    PLUG_ON_URL: `${plug.url}/on`,
    POWER_OFF_SECONDS: '1',
    WAN_DOWN_AFTER_SECONDS: '600',
  });
  const agent = startAgentProcess(env);
  const world: StormWorld = {
    cf,
    broker,
    plug,
    router,
    wan,
    agent,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    get ip() {
      return box.ip;
    },
    set ip(v: string) {
      box.ip = v;
    },
    close: async () => {
      await agent.kill('SIGKILL');
      await Promise.all([
        cf.close(),
        broker.close(),
        plug.close(),
        router.close(),
        ...wan.map((w) => w.close()),
        ...echo.map((e) => e.close()),
      ]);
    },
  };
  return world;
}
