/**
 * A plug that Home Assistant switches (agent-timed): `POST …/api/services/<domain>/turn_off` (or
 * `turn_on`) with `{"entity_id": plug_entity_id}`, the domain taken from the entity id
 * (`switch.router_plug` → `switch`; `light.` and `input_boolean.` work the same way).
 *
 * Where the API is:
 * - in the add-on (SUPERVISOR_TOKEN set, and no ha_url + ha_token given): the Supervisor's proxy
 *   `http://supervisor/core/api/...` with `Authorization: Bearer <SUPERVISOR_TOKEN>` (the manifest
 *   declares `homeassistant_api: true`). SUPERVISOR_URL or the `supervisorUrl` option move the base
 *   (tests, development), as in src/supervisor.ts;
 * - elsewhere: `<ha_url>/api/...` with `Authorization: Bearer <ha_token>` (a long-lived token).
 *
 * Checked against the Home Assistant REST API (https://developers.home-assistant.io/docs/api/rest/:
 * `POST /api/services/<domain>/<service>`, Bearer token, answers 200 with the states that changed)
 * and "Add-on communication" (https://developers.home-assistant.io/docs/add-ons/communication:
 * Core's API through `http://supervisor/core/api/` with the add-on's SUPERVISOR_TOKEN).
 */
import { ConfigError } from '../errors.js';
import { type PlugHttpDeps, type PlugHttpRequest, plugHttp, plugUrl, statusError } from './http-call.js';
import { type PlugDriver, PlugError, type PlugOutcome } from './plug-driver.js';

export const DEFAULT_SUPERVISOR_URL = 'http://supervisor';

export interface HomeAssistantPlugOptions {
  /** plug_entity_id, e.g. switch.router_plug. */
  entityId: string;
  haUrl?: string | undefined;
  haToken?: string | undefined;
  /** The process environment (SUPERVISOR_TOKEN, SUPERVISOR_URL). */
  env: Readonly<Record<string, string | undefined>>;
  /** Overrides SUPERVISOR_URL and http://supervisor. */
  supervisorUrl?: string | undefined;
  http: PlugHttpDeps;
}

/** The service domain of an entity id: `switch.router_plug` → `switch`. */
export function entityDomain(entityId: string): string {
  const m = /^([a-z0-9_]+)\.[a-z0-9_]+$/.exec(entityId);
  if (!m?.[1]) {
    throw new ConfigError([
      `plug_entity_id: "${entityId}" is not an entity id — give one like switch.router_plug`,
    ]);
  }
  return m[1];
}

interface Route {
  /** Base of the API, ending in /api. */
  api: URL;
  token: string;
  /** How the API is named in messages. */
  what: string;
  /** Which key holds the address. */
  urlKey: string;
  /** What to check when it cannot be reached. */
  reach: string;
  /** What to check when the token is refused. */
  refused: string;
}

export class HomeAssistantPlug implements PlugDriver {
  readonly type = 'homeassistant' as const;
  readonly timing = 'agent_timed' as const;
  readonly label: string;
  readonly #entityId: string;
  readonly #domain: string;
  readonly #route: Route;
  readonly #http: PlugHttpDeps;

  constructor(o: HomeAssistantPlugOptions) {
    this.#entityId = o.entityId;
    this.#domain = entityDomain(o.entityId);
    this.#http = o.http;
    this.#route = route(o);
    this.label = `homeassistant ${o.entityId}`;
  }

  off(signal: AbortSignal): Promise<PlugOutcome> {
    return this.#call('turn_off', signal);
  }

  on(signal: AbortSignal): Promise<PlugOutcome> {
    return this.#call('turn_on', signal);
  }

  async #call(service: 'turn_on' | 'turn_off', signal: AbortSignal): Promise<PlugOutcome> {
    const r = this.#route;
    const url = new URL(r.api);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/services/${this.#domain}/${service}`;
    const call = `${this.#domain}.${service}`;
    const req: PlugHttpRequest = {
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${r.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ entity_id: this.#entityId }),
      what: `${r.what} (${call} for ${this.#entityId})`,
      urlKey: r.urlKey,
      reach: r.reach,
    };
    const answer = await plugHttp(req, this.#http, signal);
    const secrets = [r.token];
    if (answer.status === 401 || answer.status === 403) {
      throw new PlugError(
        'PLUG_REFUSED',
        `${r.what} refused the token (HTTP ${answer.status}) for ${call}; check ${r.refused}.`,
      );
    }
    if (answer.status === 400 || answer.status === 404) {
      throw statusError(
        answer,
        req,
        `check plug_entity_id (the entity must exist and its domain ${this.#domain} must have ${service})`,
        secrets,
      );
    }
    if (answer.status === 502 || answer.status === 503 || answer.status === 504) {
      throw new PlugError(
        'PLUG_UNREACHABLE',
        `${r.what} answered HTTP ${answer.status}: Home Assistant is not running or still starting; the plug was not switched.`,
      );
    }
    if (answer.status < 200 || answer.status >= 300) {
      throw statusError(answer, req, "check Home Assistant's log", secrets);
    }
    const word = service === 'turn_on' ? 'on' : 'off';
    return {
      confirmed: true,
      message: `Home Assistant switched ${this.#entityId} ${word} (${call}).`,
    };
  }
}

function route(o: HomeAssistantPlugOptions): Route {
  const haUrl = o.haUrl?.trim() ?? '';
  const haToken = o.haToken ?? '';
  const supervisorToken = o.env.SUPERVISOR_TOKEN ?? '';
  if (haUrl !== '' && haToken !== '') {
    const base = plugUrl(haUrl, 'ha_url');
    const api = new URL(base.url);
    api.pathname = `${api.pathname.replace(/\/+$/, '')}/api`;
    api.search = '';
    return {
      api,
      token: haToken,
      what: `Home Assistant at ${base.shown}`,
      urlKey: 'ha_url',
      reach: 'that Home Assistant is running and reachable at ha_url',
      refused: 'ha_token (a long-lived access token from your Home Assistant profile → Security)',
    };
  }
  if (supervisorToken !== '') {
    const raw = (o.supervisorUrl ?? o.env.SUPERVISOR_URL?.trim()) || DEFAULT_SUPERVISOR_URL;
    const base = plugUrl(raw, 'SUPERVISOR_URL');
    const api = new URL(base.url);
    api.pathname = `${api.pathname.replace(/\/+$/, '')}/core/api`;
    api.search = '';
    return {
      api,
      token: supervisorToken,
      what: 'Home Assistant (through the Supervisor)',
      urlKey: 'SUPERVISOR_URL',
      reach: 'that Home Assistant is running (the Supervisor forwards to it)',
      refused: 'that the add-on manifest declares homeassistant_api: true, or set ha_url and ha_token',
    };
  }
  throw new ConfigError([
    haUrl === ''
      ? 'ha_url: is not set, but plug_type is homeassistant outside the add-on — give the Home Assistant address, e.g. http://homeassistant.local:8123'
      : 'ha_token: is not set, but plug_type is homeassistant with ha_url — give a long-lived access token created in Home Assistant (your profile → Security)',
  ]);
}
