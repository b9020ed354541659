/**
 * Shelly Gen1 over HTTP (self-timed): `GET <plug_url>/relay/0?turn=off&timer=<s>` switches the
 * relay off and has the plug itself switch it back on after `s` seconds.
 *
 * Checked against the Shelly Gen1 API (https://shelly-api-docs.shelly.cloud/gen1/, "Shelly1/1PM:
 * /relay/{index}"): `turn=on|off|toggle`, `timer` = flip-back timer in seconds; the answer is the
 * relay's JSON status (`ison`, `has_timer`, `timer_remaining`, …). With a login set (Settings →
 * Restrict login) the device wants HTTP Basic authentication, user `admin` unless changed. The
 * relay's own safety net is `/settings/relay/0?auto_on=<s>` (docs/plugs.md).
 */
import {
  type Credentials,
  endpoint,
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

export interface ShellyPlugOptions {
  /** plug_url: the plug's base URL, e.g. http://192.168.1.50 (user info there counts as the login). */
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  http: PlugHttpDeps;
}

const HINTS = {
  refused: 'plug_username and plug_password (the Shelly login; the user is admin unless you changed it)',
  missing: 'set plug_password (and plug_username if it is not admin) to the Shelly login',
};

export class ShellyPlug implements PlugDriver {
  readonly type = 'shelly' as const;
  readonly timing = 'self_timed' as const;
  readonly label: string;
  readonly #base: PlugUrl;
  readonly #credentials: Credentials | undefined;
  readonly #http: PlugHttpDeps;

  constructor(o: ShellyPlugOptions) {
    this.#base = plugUrl(o.url, 'plug_url');
    this.#credentials = pickCredentials(o.username, o.password, this.#base.credentials, 'admin');
    this.#http = o.http;
    this.label = `shelly ${this.#base.shown}`;
  }

  async cycle(offSeconds: number, signal: AbortSignal): Promise<PlugOutcome> {
    if (!Number.isInteger(offSeconds) || offSeconds < 1) {
      throw new RangeError(
        `A Shelly power cycle needs a whole number of seconds of at least 1 (got ${offSeconds}); set power_off_seconds.`,
      );
    }
    const status = await this.#relay({ turn: 'off', timer: String(offSeconds) }, signal);
    if (status.ison !== false) {
      throw new PlugError(
        'PLUG_BAD_ANSWER',
        `The Shelly plug at ${this.#base.shown} answered the power cycle but reports its relay still on; check that relay 0 is the one powering the router and that nothing (a schedule, a button) switched it back.`,
      );
    }
    if (status.has_timer === false) {
      throw new PlugError(
        'PLUG_BAD_ANSWER',
        `The Shelly plug at ${this.#base.shown} switched off but did not start its ${offSeconds} s timer, so it will not switch itself back on; the agent has to switch it on. Update the plug's firmware, and set its auto_on (docs/plugs.md).`,
      );
    }
    return {
      confirmed: true,
      message: `Shelly plug at ${this.#base.shown} switched off; its own timer switches it back on after ${offSeconds} s.`,
    };
  }

  off(signal: AbortSignal): Promise<PlugOutcome> {
    return this.#switch(false, signal);
  }

  on(signal: AbortSignal): Promise<PlugOutcome> {
    return this.#switch(true, signal);
  }

  async #switch(on: boolean, signal: AbortSignal): Promise<PlugOutcome> {
    const status = await this.#relay({ turn: on ? 'on' : 'off' }, signal);
    const word = on ? 'on' : 'off';
    if (status.ison !== on) {
      throw new PlugError(
        'PLUG_BAD_ANSWER',
        `The Shelly plug at ${this.#base.shown} was told to switch ${word} but reports its relay ${on ? 'off' : 'on'}; check the plug (overpower protection, a schedule, a button).`,
      );
    }
    return { confirmed: true, message: `Shelly plug at ${this.#base.shown} switched ${word}.` };
  }

  async #relay(query: Record<string, string>, signal: AbortSignal): Promise<Record<string, unknown>> {
    const url = endpoint(this.#base.url, '/relay/0', query);
    const req: PlugHttpRequest = {
      method: 'GET',
      url,
      what: `The Shelly plug at ${this.#base.shown}`,
      urlKey: 'plug_url',
    };
    const answer = await plugHttpWithAuth(req, this.#credentials, HINTS, this.#http, signal, {
      preemptiveBasic: true,
    });
    const secrets = loginSecrets(this.#credentials);
    if (answer.status === 404) {
      throw statusError(
        answer,
        req,
        'check that plug_url is a Shelly Gen1 (for Plus/Pro/Gen3 plugs use plug_type shelly_rpc)',
        secrets,
      );
    }
    if (answer.status < 200 || answer.status >= 300) {
      throw statusError(answer, req, 'check the plug and plug_url', secrets);
    }
    const json = parseJson(answer.text);
    if (typeof json !== 'object' || json === null || typeof (json as { ison?: unknown }).ison !== 'boolean') {
      throw new PlugError(
        'PLUG_BAD_ANSWER',
        `The Shelly plug at ${this.#base.shown} answered without the relay's "ison" state; check that plug_url points at a Shelly Gen1 relay (for Plus/Pro/Gen3 plugs use plug_type shelly_rpc).`,
      );
    }
    return json as Record<string, unknown>;
  }
}
