/**
 * A plug switched by two URLs (agent-timed): `plug_off_url` and `plug_on_url`, requested with
 * `plug_method` (GET by default), optionally with an HTTP Basic login (plug_username /
 * plug_password, or user info in the URL; a Digest challenge is answered too). Any 2xx answer
 * counts as done. For firmwares without a dedicated driver (a relay board, OpenBeken, a script).
 *
 * The URLs' paths and queries may hold keys, so labels and messages show only scheme, host and port.
 */
import {
  type Credentials,
  loginSecrets,
  type PlugHttpDeps,
  type PlugHttpRequest,
  type PlugUrl,
  pickCredentials,
  plugHttpWithAuth,
  plugUrl,
  statusError,
} from './http-call.js';
import type { PlugDriver, PlugOutcome } from './plug-driver.js';

export interface HttpPlugOptions {
  offUrl: string;
  onUrl: string;
  /** GET, POST, PUT or PATCH. */
  method: string;
  username?: string | undefined;
  password?: string | undefined;
  http: PlugHttpDeps;
}

const HINTS = {
  refused: 'plug_username and plug_password',
  missing: 'set plug_username and plug_password',
};

interface Target {
  url: PlugUrl;
  key: 'plug_off_url' | 'plug_on_url';
  credentials: Credentials | undefined;
}

export class HttpPlug implements PlugDriver {
  readonly type = 'http' as const;
  readonly timing = 'agent_timed' as const;
  readonly label: string;
  readonly #off: Target;
  readonly #on: Target;
  readonly #method: string;
  readonly #http: PlugHttpDeps;

  constructor(o: HttpPlugOptions) {
    const target = (raw: string, key: Target['key']): Target => {
      const url = plugUrl(raw, key);
      return { url, key, credentials: pickCredentials(o.username, o.password, url.credentials, '') };
    };
    this.#off = target(o.offUrl, 'plug_off_url');
    this.#on = target(o.onUrl, 'plug_on_url');
    this.#method = o.method.toUpperCase();
    this.#http = o.http;
    this.label = `http ${this.#off.url.shown}`;
  }

  off(signal: AbortSignal): Promise<PlugOutcome> {
    return this.#request(this.#off, 'off', signal);
  }

  on(signal: AbortSignal): Promise<PlugOutcome> {
    return this.#request(this.#on, 'on', signal);
  }

  async #request(t: Target, word: 'on' | 'off', signal: AbortSignal): Promise<PlugOutcome> {
    const req: PlugHttpRequest = {
      method: this.#method,
      url: t.url.url,
      what: `The HTTP plug at ${t.url.shown} (${t.key})`,
      urlKey: t.key,
    };
    const answer = await plugHttpWithAuth(req, t.credentials, HINTS, this.#http, signal, {
      preemptiveBasic: true,
    });
    if (answer.status < 200 || answer.status >= 300) {
      const secrets = [
        ...loginSecrets(t.credentials),
        ...[...t.url.url.searchParams.values()],
        ...t.url.url.pathname.split('/').filter((seg) => seg.length >= 8),
      ];
      throw statusError(answer, req, `check ${t.key} and plug_method (${this.#method})`, secrets);
    }
    return {
      confirmed: true,
      message: `HTTP plug at ${t.url.shown} switched ${word} (HTTP ${answer.status}).`,
    };
  }
}
