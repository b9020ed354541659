/**
 * The outside world of the secrets test, on 127.0.0.1: the configured secrets (distinct random
 * strings), a heartbeat + webhook receiver whose first request of each kind fails, and the three
 * plugs that carry a secret (an `http` plug with a Basic login and a key in its URLs, a Shelly Gen2
 * with a digest password, Home Assistant with a token), each with a way to make it hang for one
 * request (the plug's timeout message is one more place a secret could slip into).
 */
import { randomBytes } from 'node:crypto';
import { systemClock } from '../../src/clock.js';
import { type FakeHomeAssistant, startFakeHomeAssistant } from '../fakes/plugs/home-assistant.js';
import { startFakeHttpPlug } from '../fakes/plugs/http-devices.js';
import {
  basicCredentials,
  type FakeRequest,
  type HttpFake,
  sendJson,
  startHttpFake,
} from '../fakes/plugs/http-server.js';
import type { Relay } from '../fakes/plugs/relay.js';
import { startFakeShellyGen2 } from '../fakes/plugs/shelly.js';

/** A random secret: 32 characters of base64url, as real tokens look. */
export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** Every secret one run configures, by what it is. */
export interface Secrets {
  cloudflare_api_token: string;
  mqtt_password: string;
  plug_password: string;
  /** A key in the http plug's off/on URLs (query). */
  plug_url_key: string;
  ha_token: string;
  http_token: string;
  /** The heartbeat URL's token (path). */
  heartbeat_token: string;
  /** The webhook URL's tokens (one in the path, one in the query). */
  webhook_path_token: string;
  webhook_query_token: string;
  /** The IP sources' `?key=`. */
  ip_source_key: string;
}

export function newSecrets(): Secrets {
  const s = {} as Secrets;
  for (const k of [
    'cloudflare_api_token',
    'mqtt_password',
    'plug_password',
    'plug_url_key',
    'ha_token',
    'http_token',
    'heartbeat_token',
    'webhook_path_token',
    'webhook_query_token',
    'ip_source_key',
  ] as const) {
    s[k] = newSecret();
  }
  return s;
}

export interface NotifyReceiver {
  url: string;
  /** The next heartbeat and the next webhook delivery are answered 500. */
  failNextOfEach(): void;
  requests: FakeRequest[];
  heartbeats(): FakeRequest[];
  webhooks(): FakeRequest[];
  close(): Promise<void>;
}

/** Heartbeats under /ping/…, webhooks under /hook/…; after `failNextOfEach`, the next of each is answered 500. */
export async function startNotifyReceiver(): Promise<NotifyReceiver> {
  const failing = new Set<string>();
  const fake = await startHttpFake((req, res) => {
    const kind = req.path.startsWith('/hook/') ? 'hook' : 'ping';
    if (failing.delete(kind)) return sendJson(res, 500, { error: 'injected failure' });
    sendJson(res, 200, 'OK');
  });
  return {
    failNextOfEach: () => {
      failing.add('hook');
      failing.add('ping');
    },
    url: fake.url,
    requests: fake.requests,
    heartbeats: () => fake.requests.filter((r) => r.path.startsWith('/ping/')),
    webhooks: () => fake.requests.filter((r) => r.path.startsWith('/hook/')),
    close: () => fake.close(),
  };
}

export type PlugKind = 'http' | 'shelly_rpc' | 'homeassistant';

export interface SecretPlug {
  kind: PlugKind;
  env: Record<string, string>;
  relay: Relay;
  http: HttpFake;
  /** Requests the device accepted with the right credentials. */
  accepted(): number;
  /** The next request hangs (the agent's deadline ends it); later ones are answered. */
  hangOnce(): void;
  close(): Promise<void>;
}

const ENTITY = 'switch.router_plug';

function hangFirst(http: HttpFake): () => void {
  return () => {
    http.hang = true;
    const seen = http.requests.length;
    const timer = setInterval(() => {
      if (http.requests.length > seen) {
        http.hang = false;
        clearInterval(timer);
      }
    }, 5);
  };
}

export async function startSecretPlug(kind: PlugKind, s: Secrets): Promise<SecretPlug> {
  if (kind === 'http') {
    const plug = await startFakeHttpPlug({
      clock: systemClock,
      username: 'plugadmin',
      password: s.plug_password,
    });
    const accepted = () =>
      plug.requests.filter((r) => basicCredentials(r.headers.authorization)?.password === s.plug_password)
        .length;
    return {
      kind,
      env: {
        PLUG_TYPE: 'http',
        PLUG_OFF_URL: `${plug.url}/off?key=${s.plug_url_key}`,
        PLUG_ON_URL: `${plug.url}/on?key=${s.plug_url_key}`,
        PLUG_USERNAME: 'plugadmin',
        PLUG_PASSWORD: s.plug_password,
      },
      relay: plug.relay,
      http: plug,
      accepted,
      hangOnce: hangFirst(plug),
      close: () => plug.close(),
    };
  }
  if (kind === 'shelly_rpc') {
    const plug = await startFakeShellyGen2({ clock: systemClock, password: s.plug_password });
    return {
      kind,
      env: { PLUG_TYPE: 'shelly_rpc', PLUG_URL: plug.url, PLUG_PASSWORD: s.plug_password },
      relay: plug.relay,
      http: plug,
      accepted: () => plug.stats.authenticated,
      hangOnce: hangFirst(plug),
      close: () => plug.close(),
    };
  }
  const ha: FakeHomeAssistant = await startFakeHomeAssistant({
    clock: systemClock,
    haToken: s.ha_token,
    supervisorToken: newSecret(),
    entities: [ENTITY],
  });
  return {
    kind,
    env: { PLUG_TYPE: 'homeassistant', PLUG_ENTITY_ID: ENTITY, HA_URL: ha.url, HA_TOKEN: s.ha_token },
    relay: ha.entities.get(ENTITY)!,
    http: ha,
    accepted: () => ha.requests.filter((r) => r.headers.authorization === `Bearer ${s.ha_token}`).length,
    hangOnce: hangFirst(ha),
    close: () => ha.close(),
  };
}
