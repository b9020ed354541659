/**
 * A fake Home Assistant Supervisor on 127.0.0.1 (port 0) for tests: answers `GET /services/mqtt`
 * with whatever the test sets (the ok envelope, 400 "no service", 401, garbage, a hang) and logs
 * every request. Other paths answer 404 like the real API's unknown routes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SupervisorRequest {
  method: string;
  path: string;
  /** The raw Authorization header. */
  auth: string | undefined;
}

export type MqttServiceAnswer =
  /** 200 with the Supervisor's envelope around `data`. */
  | { kind: 'ok'; data: Record<string, unknown> }
  /** Any status with a body sent as is (a string) or as JSON. */
  | { kind: 'raw'; status: number; body: unknown; contentType?: string }
  /** Never answers (the client's timeout must fire). */
  | { kind: 'hang' };

/** The envelope the Supervisor sends when the Mosquitto add-on provides the service. */
export function okData(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    addon: 'core_mosquitto',
    host: 'core-mosquitto',
    port: 1883,
    ssl: false,
    protocol: '3.1.1',
    username: 'addons',
    password: 'Sup3r-S3cret-Broker-Pw',
    ...overrides,
  };
}

/** What the real Supervisor answers when no add-on provides MQTT. */
export const NO_SERVICE: MqttServiceAnswer = {
  kind: 'raw',
  status: 400,
  body: { result: 'error', message: 'No mqtt service found', data: {} },
};

export interface FakeSupervisor {
  /** http://127.0.0.1:PORT, to pass as baseUrl or SUPERVISOR_URL. */
  url: string;
  requests: SupervisorRequest[];
  /** What requests to /services/mqtt get from now on (after any one-shot answers). */
  answer(a: MqttServiceAnswer): void;
  /** A one-shot answer for the next request, queued before the standing one. */
  answerNext(a: MqttServiceAnswer): void;
  close(): Promise<void>;
}

export async function startFakeSupervisor(
  initial: MqttServiceAnswer = { kind: 'ok', data: okData() },
): Promise<FakeSupervisor> {
  let current = initial;
  const once: MqttServiceAnswer[] = [];
  const requests: SupervisorRequest[] = [];
  const hung = new Set<ServerResponse>();

  const send = (res: ServerResponse, status: number, body: unknown, contentType = 'application/json') => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests.push({ method: req.method ?? 'GET', path, auth: req.headers.authorization });
    req.resume();
    if (req.method !== 'GET' || path !== '/services/mqtt') {
      send(res, 404, { result: 'error', message: `Unknown route ${path}` });
      return;
    }
    const a = once.shift() ?? current;
    if (a.kind === 'hang') {
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    if (a.kind === 'ok') {
      send(res, 200, { result: 'ok', data: a.data });
      return;
    }
    send(res, a.status, a.body, a.contentType);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer(a) {
      current = a;
    },
    answerNext(a) {
      once.push(a);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
