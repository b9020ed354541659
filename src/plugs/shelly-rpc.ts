/**
 * Shelly Gen2+ (Plus, Pro, Gen3, Gen4) over the HTTP RPC API (self-timed):
 * `GET <plug_url>/rpc/Switch.Set?id=0&on=false&toggle_after=<s>` switches output 0 off and has the
 * plug flip it back on after `s` seconds.
 *
 * Checked against the Shelly Gen2 docs:
 * - "Switch" (https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/Switch): `Switch.Set`
 *   takes `id`, `on` and the optional flip-back timer `toggle_after` (seconds) and answers
 *   `{"was_on": <bool>}`. Its config has `auto_on` / `auto_on_delay` (docs/plugs.md).
 * - "Authentication" (https://shelly-api-docs.shelly.cloud/gen2/General/Authentication): with a
 *   password set, every HTTP request is answered 401 with a SHA-256 Digest challenge whose realm
 *   is the device id; the user name is always `admin`. See ./digest.ts.
 * - "RPC over HTTP": GET /rpc/<Method>?<params>; a failed call answers a JSON `{code, message}`.
 */
import {
  type Credentials,
  endpoint,
  excerpt,
  loginSecrets,
  type PlugHttpDeps,
  type PlugHttpRequest,
  type PlugUrl,
  parseJson,
  pickCredentials,
  plugHttpWithAuth,
  plugUrl,
  statusError,
} from './http-call.js';
import { type PlugDriver, PlugError, type PlugOutcome } from './plug-driver.js';

export interface ShellyRpcPlugOptions {
  /** plug_url: the plug's base URL, e.g. http://192.168.1.51. */
  url: string;
  /** Gen2+ always uses `admin`; kept for completeness. */
  username?: string | undefined;
  password?: string | undefined;
  http: PlugHttpDeps;
}

const HINTS = {
  refused: 'plug_password (a Shelly Plus/Pro/Gen3 login is user admin and the device password)',
  missing: 'set plug_password to the password of the Shelly (its user name is always admin)',
};

export class ShellyRpcPlug implements PlugDriver {
  readonly type = 'shelly_rpc' as const;
  readonly timing = 'self_timed' as const;
  readonly label: string;
  readonly #base: PlugUrl;
  readonly #credentials: Credentials | undefined;
  readonly #http: PlugHttpDeps;

  constructor(o: ShellyRpcPlugOptions) {
    this.#base = plugUrl(o.url, 'plug_url');
    this.#credentials = pickCredentials(o.username, o.password, this.#base.credentials, 'admin');
    this.#http = o.http;
    this.label = `shelly_rpc ${this.#base.shown}`;
  }

  async cycle(offSeconds: number, signal: AbortSignal): Promise<PlugOutcome> {
    if (!Number.isFinite(offSeconds) || offSeconds <= 0) {
      throw new RangeError(
        `A Shelly power cycle needs a positive number of seconds (got ${offSeconds}); set power_off_seconds.`,
      );
    }
    await this.#set({ on: 'false', toggle_after: String(offSeconds) }, signal);
    return {
      confirmed: true,
      message: `Shelly plug at ${this.#base.shown} switched off; it flips itself back on after ${offSeconds} s (toggle_after).`,
    };
  }

  async off(signal: AbortSignal): Promise<PlugOutcome> {
    await this.#set({ on: 'false' }, signal);
    return { confirmed: true, message: `Shelly plug at ${this.#base.shown} switched off.` };
  }

  async on(signal: AbortSignal): Promise<PlugOutcome> {
    await this.#set({ on: 'true' }, signal);
    return { confirmed: true, message: `Shelly plug at ${this.#base.shown} switched on.` };
  }

  async #set(params: Record<string, string>, signal: AbortSignal): Promise<void> {
    const url = endpoint(this.#base.url, '/rpc/Switch.Set', { id: '0', ...params });
    const req: PlugHttpRequest = {
      method: 'GET',
      url,
      what: `The Shelly plug at ${this.#base.shown}`,
      urlKey: 'plug_url',
    };
    const answer = await plugHttpWithAuth(req, this.#credentials, HINTS, this.#http, signal);
    const secrets = loginSecrets(this.#credentials);
    const json = parseJson(answer.text) as
      | { was_on?: unknown; code?: unknown; message?: unknown }
      | undefined;
    if (answer.status === 404) {
      throw statusError(
        answer,
        req,
        'check that plug_url is a Shelly Plus/Pro/Gen3 (for Gen1 plugs use plug_type shelly)',
        secrets,
      );
    }
    if (answer.status < 200 || answer.status >= 300) {
      const said = typeof json?.message === 'string' ? `: ${excerpt(json.message, secrets)}` : '';
      throw new PlugError(
        'PLUG_BAD_ANSWER',
        `The Shelly plug at ${this.#base.shown} refused Switch.Set (HTTP ${answer.status}${said}); check that switch 0 exists on this device and plug_url.`,
      );
    }
    if (typeof json !== 'object' || json === null || typeof json.was_on !== 'boolean') {
      throw new PlugError(
        'PLUG_BAD_ANSWER',
        `The Shelly plug at ${this.#base.shown} answered Switch.Set without "was_on"; check that plug_url points at a Shelly Plus/Pro/Gen3 (for Gen1 plugs use plug_type shelly).`,
      );
    }
  }
}
