import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.js';
import { resolveRouterHost } from '../src/probes/gateway.js';
import { fetchSupervisorNetworkInfo } from '../src/supervisor.js';

const TOKEN = 'sv-token-4b1d9e7a2c3f5061bb22';

/** `GET /network/info` as a Home Assistant OS host on Ethernet answers it (Wi-Fi present, off). */
function networkInfo(overrides: { eth0?: Record<string, unknown>; ipv4?: Record<string, unknown> } = {}) {
  return {
    result: 'ok',
    data: {
      interfaces: [
        {
          interface: 'eth0',
          type: 'ethernet',
          enabled: true,
          connected: true,
          primary: true,
          mac: '02:42:AC:11:00:02',
          ipv4: {
            method: 'auto',
            address: ['192.168.1.50/24'],
            nameservers: ['192.168.1.1'],
            gateway: '192.168.1.1',
            ready: true,
            ...overrides.ipv4,
          },
          ipv6: {
            method: 'auto',
            address: ['fe80::42:acff:fe11:2/64'],
            nameservers: [],
            gateway: 'fe80::1',
            ready: true,
          },
          wifi: null,
          vlan: null,
          ...overrides.eth0,
        },
        {
          interface: 'wlan0',
          type: 'wireless',
          enabled: false,
          connected: false,
          primary: false,
          ipv4: { method: 'disabled', address: [], nameservers: [], gateway: null, ready: false },
          ipv6: null,
          wifi: null,
          vlan: null,
        },
      ],
      docker: { interface: 'hassio', address: '172.30.32.0/23', gateway: '172.30.32.1', dns: '172.30.32.3' },
      host_internet: true,
      supervisor_internet: true,
    },
  };
}

type Answer = { status: number; body: unknown } | 'hang';

let answer: Answer = { status: 200, body: networkInfo() };
const seen: Array<{ path: string; auth: string | undefined }> = [];
const hung = new Set<ServerResponse>();
let server: Server;
let url: string;
const dispatcher = new Agent({ connect: { timeout: 2_000 } });

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push({ path: req.url ?? '', auth: req.headers.authorization });
    req.resume();
    if (req.url !== '/network/info') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"result":"error"}');
      return;
    }
    if (answer === 'hang') {
      hung.add(res);
      return;
    }
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  answer = { status: 200, body: networkInfo() };
  seen.length = 0;
  for (const res of hung) res.destroy();
  hung.clear();
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await dispatcher.close();
});

const fetchIt = (timeoutMs = 2000) =>
  fetchSupervisorNetworkInfo({ baseUrl: url, token: TOKEN, dispatcher, timeoutMs });

async function appError(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect(String((err as Error).message)).not.toContain(TOKEN);
  return err as AppError;
}

describe('fetchSupervisorNetworkInfo', () => {
  it('ok: each interface with its primary flag and IPv4 gateway; the bearer token is sent', async () => {
    expect(await fetchIt()).toEqual({
      interfaces: [
        { name: 'eth0', primary: true, connected: true, ipv4Gateway: '192.168.1.1' },
        { name: 'wlan0', primary: false, connected: false, ipv4Gateway: null },
      ],
      docker: { address: '172.30.32.0/23', gateway: '172.30.32.1' },
    });
    expect(seen).toEqual([{ path: '/network/info', auth: `Bearer ${TOKEN}` }]);
  });

  it('ok/ipv4 null and gateway empty: no gateway', async () => {
    answer = { status: 200, body: networkInfo({ eth0: { ipv4: null } }) };
    expect((await fetchIt()).interfaces[0]?.ipv4Gateway).toBeNull();
    answer = { status: 200, body: networkInfo({ ipv4: { gateway: '' } }) };
    expect((await fetchIt()).interfaces[0]?.ipv4Gateway).toBeNull();
  });

  it('403: SUPERVISOR_AUTH naming hassio_api and router_host', async () => {
    answer = { status: 403, body: { result: 'error', message: 'Forbidden' } };
    const err = await appError(fetchIt());
    expect(err.code).toBe('SUPERVISOR_AUTH');
    expect(err.message).toContain('hassio_api: true');
    expect(err.message).toContain('set router_host');
  });

  it('500: SUPERVISOR_HTTP', async () => {
    answer = { status: 500, body: { result: 'error' } };
    expect((await appError(fetchIt())).code).toBe('SUPERVISOR_HTTP');
  });

  it('not JSON / wrong shape: SUPERVISOR_MALFORMED', async () => {
    answer = { status: 200, body: '<html>' };
    expect((await appError(fetchIt())).code).toBe('SUPERVISOR_MALFORMED');
    answer = { status: 200, body: { result: 'ok', data: { interfaces: {} } } };
    const err = await appError(fetchIt());
    expect(err.code).toBe('SUPERVISOR_MALFORMED');
    expect(err.message).toContain('data.interfaces');
  });

  it('no answer: HTTP_TIMEOUT within its own deadline', async () => {
    answer = 'hang';
    expect((await appError(fetchIt(150))).code).toBe('HTTP_TIMEOUT');
  });
});

describe('resolveRouterHost in the add-on (SUPERVISOR_TOKEN set)', () => {
  const env = () => ({ SUPERVISOR_TOKEN: TOKEN, SUPERVISOR_URL: url });

  it("the host's primary gateway, not the add-on container's own route", async () => {
    const r = await resolveRouterHost({
      configured: undefined,
      env: env(),
      dispatcher,
      routeTablePath: '/nonexistent/never-read',
    });
    expect(r).toEqual({ kind: 'gateway', host: '192.168.1.1', source: 'supervisor', iface: 'eth0' });
    expect(seen.map((s) => s.path)).toEqual(['/network/info']);
  });

  it('manifest without hassio_api (403): none, with the cause and the advice once', async () => {
    answer = { status: 403, body: { result: 'error', message: 'Forbidden' } };
    const r = await resolveRouterHost({ configured: undefined, env: env(), dispatcher });
    expect(r.kind).toBe('none');
    const message = (r as { message: string }).message;
    expect(message).toContain('hassio_api: true');
    expect(message.match(/router_host/gi)).toHaveLength(1);
    expect(message).not.toContain(TOKEN);
  });

  it('Supervisor silent: none after the timeout, never a throw', async () => {
    answer = 'hang';
    const r = await resolveRouterHost({ configured: undefined, env: env(), dispatcher, timeoutMs: 150 });
    expect(r).toMatchObject({
      kind: 'none',
      reason: expect.stringContaining('did not answer within 150 ms'),
    });
  });

  it('router_host set: the Supervisor is not asked', async () => {
    expect(await resolveRouterHost({ configured: '192.168.7.1', env: env(), dispatcher })).toEqual({
      kind: 'configured',
      host: '192.168.7.1',
    });
    expect(seen).toEqual([]);
  });
});
