/**
 * One full run of the built agent with every feature on and every secret set (see fakes.ts), and
 * everything it let out, collected as evidence: `check`'s output, every log line (debug), every
 * MQTT message (a subscriber to `#` on the embedded broker, logged in with the credentials), every
 * HTTP answer (status line, headers, body) including the status page's files and /events, the
 * webhook and heartbeat bodies, and the state file with its `.bak`. Failures are provoked on the
 * way (a batch write refused, an IP source answering HTML, the first heartbeat and webhook
 * refused, a plug that hangs, a wrong MQTT password, wrong HTTP tokens) because error messages
 * are where a URL or a header most easily slips through.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { FakeCloudflare } from '../fakes/cloudflare.js';
import { type EchoServer, startEchoServer } from '../fakes/ip-echo.js';
import { startAgentProcess } from '../helpers/agent-process.js';
import { BIN, loopbackEnv } from '../helpers/env.js';
import { freePort } from '../helpers/net.js';
import { runBin } from '../helpers/run-bin.js';
import { until } from '../helpers/world.js';
import {
  type NotifyReceiver,
  type PlugKind,
  type SecretPlug,
  type Secrets,
  startNotifyReceiver,
  startSecretPlug,
} from './fakes.js';

export interface Evidence {
  /** Where the text came from, e.g. `log`, `mqtt ddns-watchdog/state`, `GET /metrics`. */
  where: string;
  text: string;
}

export interface RunResult {
  evidence: Evidence[];
  /** What the run exercised, for the test's positive checks. */
  seen: {
    webhookTypes: string[];
    webhookUrls: string[];
    heartbeatUrls: string[];
    plugAccepted: number;
    ipSourceUrls: string[];
    mqttTopics: string[];
    cloudflareAuth: string[];
    sseBytes: number;
    logLines: number;
    exitCode: number | null;
    rebootAnswer: string;
  };
}

const PORTAL = { status: 503, body: '<html><body>Captive portal: log in to continue</body></html>' };
const WEB_DIR = join(BIN, '..', 'web');
const RECORDS = ['home.example.com', 'vpn.example.com'];

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Connects to the agent's embedded broker once it is up (it starts with the agent). */
async function connectObserver(url: string, password: string): Promise<MqttClient> {
  const end = Date.now() + 15_000;
  for (;;) {
    try {
      return await mqtt.connectAsync(url, {
        username: 'ddns',
        password,
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 2000,
      });
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function fullRun(kind: PlugKind, format: 'json' | 'pretty', s: Secrets): Promise<RunResult> {
  const evidence: Evidence[] = [];
  const closers: Array<() => Promise<unknown>> = [];
  try {
    const cf = await FakeCloudflare.start({ token: s.cloudflare_api_token });
    closers.push(() => cf.close());
    cf.addZone('example.com');
    let ip = '81.2.69.160';
    /** Every source answers a captive portal's page: the agent says which sources failed. */
    let broken = false;
    const echo: EchoServer[] = await Promise.all([
      startEchoServer(() => (broken ? PORTAL : { body: ip, delayMs: 30 })),
      startEchoServer(() => (broken ? PORTAL : { body: ip, delayMs: 30 })),
      startEchoServer(() => PORTAL),
    ]);
    closers.push(() => Promise.all(echo.map((e) => e.close())));
    const notify: NotifyReceiver = await startNotifyReceiver();
    closers.push(() => notify.close());
    const plug: SecretPlug = await startSecretPlug(kind, s);
    closers.push(() => plug.close());
    const router = createServer((c) => c.destroy());
    await new Promise<void>((resolve) => router.listen(0, '127.0.0.1', () => resolve()));
    closers.push(() => new Promise<void>((resolve) => router.close(() => resolve())));
    const [brokerPort, httpPort, wan] = await Promise.all([freePort(), freePort(), closedPort()]);
    const env = loopbackEnv({
      LOG_LEVEL: 'debug',
      LOG_FORMAT: format,
      CLOUDFLARE_API_TOKEN: s.cloudflare_api_token,
      CLOUDFLARE_API_URL: cf.apiUrl,
      DOH_URL: cf.dohUrl,
      RECORDS: RECORDS.join(','),
      IP_SOURCES: echo.map((e) => `${e.url}ip?key=${s.ip_source_key}`).join(','),
      IP_SOURCES_V6: echo.map((e) => `${e.url}ip6?key=${s.ip_source_key}`).join(','),
      INTERVAL_SECONDS: '2',
      JITTER_SECONDS: '0',
      MIN_UPDATE_INTERVAL_SECONDS: '0',
      HTTP_TIMEOUT_MS: '1500',
      MQTT_USERNAME: 'ddns',
      MQTT_PASSWORD: s.mqtt_password,
      EMBEDDED_BROKER_PORT: String(brokerPort),
      HTTP_PORT: String(httpPort),
      HTTP_TOKEN: s.http_token,
      HEARTBEAT_URL: `${notify.url}/ping/${s.heartbeat_token}`,
      WEBHOOK_URL: `${notify.url}/hook/${s.webhook_path_token}?token=${s.webhook_query_token}`,
      ROUTER_HOST: '127.0.0.1',
      ROUTER_PROBE: `tcp:${(router.address() as AddressInfo).port}`,
      WAN_TARGETS: `127.0.0.1:${wan}`,
      PROBE_INTERVAL_SECONDS: '1',
      PROBE_TIMEOUT_MS: '300',
      RECOVERY_ENABLED: 'true',
      POWER_OFF_SECONDS: '1',
      WAN_DOWN_AFTER_SECONDS: '600',
      ...plug.env,
    });

    const check = await runBin(['check'], env);
    evidence.push(
      { where: 'check stdout', text: check.stdout },
      { where: 'check stderr', text: check.stderr },
    );

    notify.failNextOfEach();
    // The first batch write is refused: the agent falls back to single writes and says so.
    cf.failNext({ method: 'POST', path: /\/batch$/, status: 500 });
    const agent = startAgentProcess(env);
    closers.push(() => agent.kill('SIGKILL'));
    const base = `http://127.0.0.1:${httpPort}`;
    const auth = { authorization: `Bearer ${s.http_token}` };
    const answers: Evidence[] = [];
    const call = async (
      method: string,
      path: string,
      o: { headers?: Record<string, string>; body?: string } = {},
    ) => {
      const res = await fetch(`${base}${path}`, { method, headers: o.headers ?? auth, body: o.body ?? null });
      const text = await res.text();
      const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
      answers.push({ where: `HTTP ${method} ${path}`, text: `${res.status}\n${headers}\n\n${text}` });
      return { status: res.status, text, headers: res.headers };
    };
    const endOfRun = 30_000;
    // On the embedded broker from its first moment (it starts with the agent), so every message is seen.
    const obs = await connectObserver(`mqtt://127.0.0.1:${brokerPort}`, s.mqtt_password);
    closers.push(() => obs.endAsync(true));
    const messages: Evidence[] = [];
    obs.on('message', (topic, payload) =>
      messages.push({ where: `mqtt ${topic}`, text: `${topic} ${payload}` }),
    );
    await obs.subscribeAsync('#', { qos: 1 });
    await until(() => agent.stdout().length > 0 || !agent.running(), 'the first log line', endOfRun);
    await until(
      () => RECORDS.every((n) => cf.records({ name: n })[0]?.content === ip),
      'the first DNS writes',
      endOfRun,
    );

    // The HTTP server starts after MQTT and the watchdog: wait for it to answer.
    const httpUp = async () => {
      const end = Date.now() + endOfRun;
      for (;;) {
        const ok = await fetch(`${base}/healthz`).then(
          (r) => r.status > 0,
          () => false,
        );
        if (ok) return;
        if (Date.now() > end || !agent.running()) throw new Error('the HTTP server did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await httpUp();
    // A client with the wrong password is refused (and the broker says so in the log).
    await mqtt
      .connectAsync(`mqtt://127.0.0.1:${brokerPort}`, {
        username: 'ddns',
        password: 'wrong-password',
        reconnectPeriod: 0,
        protocolVersion: 4,
      })
      .then((c) => c.endAsync(true))
      .catch(() => undefined);

    // Server-sent events, read for the rest of the run.
    const sse = new AbortController();
    let sseText = '';
    const sseDone = fetch(`${base}/events`, { headers: auth, signal: sse.signal })
      .then(async (res) => {
        for await (const chunk of res.body ?? [])
          sseText += Buffer.from(chunk as Uint8Array).toString('utf8');
      })
      .catch(() => undefined);

    // An IP change, synced over HTTP, then a sync over MQTT.
    broken = true;
    await until(
      () => /Could not verify the public IPv4/.test(agent.stdout()),
      'a failed detection',
      endOfRun,
    );
    broken = false;
    ip = '81.2.69.161';
    await call('POST', '/api/command/sync', {
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{}',
    });
    await until(
      () => RECORDS.every((n) => cf.records({ name: n })[0]?.content === ip),
      'the IP change written',
      endOfRun,
    );
    const result = (name: string) => () =>
      messages.some(
        (m) => m.where === 'mqtt ddns-watchdog/command/result' && m.text.includes(`"command":"${name}"`),
      );
    await obs.publishAsync('ddns-watchdog/command/sync', 'PRESS', { qos: 1 });
    await until(result('sync'), 'the MQTT sync result', endOfRun);

    // A power cycle over HTTP whose first plug request hangs past http_timeout_ms.
    plug.hangOnce();
    const reboot = await call('POST', '/api/command/reboot', {
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{}',
    });
    await until(
      () =>
        messages.some(
          (m) => m.where === 'mqtt ddns-watchdog/event' && m.text.includes('"type":"power_cycle_finished"'),
        ),
      'the power cycle finished',
      endOfRun,
    );
    for (const [name, payload] of [
      ['probe', 'PRESS'],
      ['recovery', 'OFF'],
      ['recovery', 'ON'],
    ] as const) {
      await obs.publishAsync(`ddns-watchdog/command/${name}`, payload, { qos: 1 });
    }
    await until(
      () => messages.filter((m) => m.where === 'mqtt ddns-watchdog/command/result').length >= 4,
      'the command results',
      endOfRun,
    );

    // Every page and answer a person or a script sees.
    await call('GET', '/', { headers: { ...auth, accept: 'text/html' } });
    for (const name of readdirSync(WEB_DIR)) if (name !== 'index.html') await call('GET', `/${name}`);
    await call('GET', '/state');
    await call('GET', '/metrics');
    await call('GET', '/healthz', { headers: {} });
    await call('GET', '/state', { headers: {} });
    await call('GET', '/state', { headers: { authorization: 'Bearer not-the-token' } });
    await call('GET', '/', { headers: { accept: 'text/html' } });
    await call('GET', '/login', { headers: { accept: 'text/html' } });
    const login = await call('POST', '/login', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: s.http_token }),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    await call('GET', '/state', { headers: { cookie } });
    await call('POST', '/logout', { headers: { cookie, origin: base } });
    await call('POST', '/api/command/nonsense', {
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{}',
    });
    await until(() => notify.heartbeats().length >= 3, 'three heartbeats', endOfRun);

    const exit = await agent.kill('SIGTERM');
    sse.abort();
    await sseDone;
    evidence.push(...answers, ...messages, { where: 'HTTP GET /events', text: sseText });
    evidence.push(
      { where: 'log stdout', text: agent.stdout() },
      { where: 'log stderr', text: agent.stderr() },
    );
    for (const r of notify.requests)
      evidence.push({
        where: `body of ${r.method} to the ${r.path.startsWith('/hook/') ? 'webhook' : 'heartbeat'}`,
        text: r.body,
      });
    const stateDir = env.STATE_DIR!;
    for (const name of readdirSync(stateDir))
      evidence.push({ where: `state_dir/${name}`, text: readFileSync(join(stateDir, name), 'utf8') });

    return {
      evidence,
      seen: {
        webhookTypes: notify.webhooks().flatMap((r) => {
          try {
            return [String(JSON.parse(r.body).type)];
          } catch {
            return [];
          }
        }),
        webhookUrls: notify.webhooks().map((r) => r.target),
        heartbeatUrls: notify.heartbeats().map((r) => r.target),
        plugAccepted: plug.accepted(),
        ipSourceUrls: echo.flatMap((e) => e.requests.map((r) => r.url)),
        mqttTopics: [...new Set(messages.map((m) => m.where.slice(5)))],
        cloudflareAuth: [...new Set(cf.requests.map((r) => r.auth ?? ''))],
        sseBytes: sseText.length,
        logLines: agent.stdout().split('\n').length,
        exitCode: exit.code,
        rebootAnswer: reboot.text,
      },
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}
