/**
 * Home Assistant Supervisor API client, used in add-on mode (SUPERVISOR_TOKEN set): asks the
 * Supervisor which MQTT broker to use (`GET /services/mqtt`), and decides where the agent's MQTT
 * connection goes (`resolveMqttTarget`). Never: connect to MQTT itself.
 *
 * The Supervisor is reached at `http://supervisor`. The environment variable `SUPERVISOR_URL`
 * overrides that base (for tests and development against a fake Supervisor); an explicit
 * `baseUrl` option overrides both. The token and the broker's password never appear in an error
 * or a log line.
 */
import { type Dispatcher, request } from 'undici';
import { z } from 'zod';
import { type Clock, systemClock } from './clock.js';
import { AppError, errorMessage, HttpTimeoutError } from './errors.js';
import type { Logger } from './log.js';

export const DEFAULT_SUPERVISOR_URL = 'http://supervisor';

export type SupervisorMqtt =
  | { kind: 'broker'; url: string; username?: string; password?: string }
  | { kind: 'none'; reason: string };

export interface FetchSupervisorMqttOptions {
  /** Default: env SUPERVISOR_URL, else http://supervisor. */
  baseUrl?: string;
  /** The add-on's SUPERVISOR_TOKEN. */
  token: string;
  dispatcher?: Dispatcher;
  timeoutMs: number;
  /** Where SUPERVISOR_URL is read from. Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The Supervisor's base URL: SUPERVISOR_URL when set, else http://supervisor (no trailing slash). */
export function supervisorBaseUrl(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const fromEnv = env.SUPERVISOR_URL?.trim();
  return (fromEnv ? fromEnv : DEFAULT_SUPERVISOR_URL).replace(/\/+$/, '');
}

const portSchema = z.union([
  z.number().int().min(1).max(65535),
  z
    .string()
    .regex(/^\d{1,5}$/)
    .transform(Number)
    .pipe(z.number().int().min(1).max(65535)),
]);

const optionalText = z
  .string()
  .nullish()
  .transform((v) => (v === null || v === undefined || v === '' ? undefined : v));

const envelopeSchema = z.object({
  result: z.literal('ok'),
  data: z.object({
    host: z.string().min(1),
    port: portSchema,
    ssl: z.boolean(),
    username: optionalText,
    password: optionalText,
    protocol: optionalText,
  }),
});

const WHAT = 'The Supervisor API (GET /services/mqtt)';
const NO_BROKER_REASON =
  'the Supervisor has no MQTT service; install the Mosquitto broker add-on or set mqtt_url';

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Issue list without values (values could be the password). */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.code}`)
    .join(', ');
}

/**
 * Asks the Supervisor for the MQTT service. 400 (no MQTT service installed) is `kind: 'none'`; any
 * other failure throws an AppError (codes SUPERVISOR_AUTH, SUPERVISOR_HTTP, SUPERVISOR_MALFORMED,
 * SUPERVISOR_UNREACHABLE; HTTP_TIMEOUT for a timeout).
 */
export async function fetchSupervisorMqtt(o: FetchSupervisorMqttOptions): Promise<SupervisorMqtt> {
  if (!o.token) {
    throw new AppError(
      'SUPERVISOR_AUTH',
      `${WHAT} needs SUPERVISOR_TOKEN, which is empty; set mqtt_url instead.`,
    );
  }
  const base = (o.baseUrl ?? supervisorBaseUrl(o.env)).replace(/\/+$/, '');
  let statusCode: number;
  let text: string;
  try {
    const res = await request(`${base}/services/mqtt`, {
      method: 'GET',
      headers: { authorization: `Bearer ${o.token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(o.timeoutMs),
      ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    });
    statusCode = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') throw new HttpTimeoutError(WHAT, o.timeoutMs);
    const code = (err as { code?: string }).code;
    throw new AppError(
      'SUPERVISOR_UNREACHABLE',
      `${WHAT} could not be reached at ${base} (${code ?? errorMessage(err)}); set mqtt_url to connect to a broker directly.`,
    );
  }

  if (statusCode === 400) return { kind: 'none', reason: NO_BROKER_REASON };
  if (statusCode === 401 || statusCode === 403) {
    throw new AppError(
      'SUPERVISOR_AUTH',
      `${WHAT} refused the add-on's token (HTTP ${statusCode}); the add-on manifest must declare services: ["mqtt:want"]. Or set mqtt_url.`,
    );
  }
  if (statusCode < 200 || statusCode >= 300) {
    throw new AppError(
      'SUPERVISOR_HTTP',
      `${WHAT} answered HTTP ${statusCode}; check the Supervisor's log, or set mqtt_url.`,
    );
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('SUPERVISOR_MALFORMED', `${WHAT} answered something that is not JSON; set mqtt_url.`);
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    throw new AppError(
      'SUPERVISOR_MALFORMED',
      `${WHAT} answered an unexpected envelope (${describeIssues(parsed.error)}); set mqtt_url.`,
    );
  }
  const d = parsed.data.data;
  const out: SupervisorMqtt = {
    kind: 'broker',
    url: `${d.ssl ? 'mqtts' : 'mqtt'}://${hostForUrl(d.host)}:${d.port}`,
  };
  if (d.username !== undefined) out.username = d.username;
  if (d.password !== undefined) out.password = d.password;
  return out;
}

export type MqttTarget =
  | {
      kind: 'url';
      url: string;
      username?: string;
      password?: string;
      /** Where the URL came from: mqtt_url, or the Supervisor's MQTT service. */
      source: 'config' | 'supervisor';
    }
  | { kind: 'embedded'; host: string; port: number };

export interface ResolveMqttTargetOptions {
  config: {
    mqtt_url: string;
    mqtt_username?: string | undefined;
    mqtt_password?: string | undefined;
    embedded_broker_host: string;
    embedded_broker_port: number;
  };
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  dispatcher?: Dispatcher;
  /** Per Supervisor request. Default 5000. */
  timeoutMs?: number;
  /** Supervisor requests in all, for a Supervisor that is still starting. Default 3. */
  attempts?: number;
  /** Wait between attempts. Default 2000 ms. */
  retryDelayMs?: number;
  clock?: Clock;
}

/**
 * Where the agent's MQTT connection goes (SPEC §2 mqtt_url, §8):
 * 1. `mqtt_url` set → that URL with mqtt_username/mqtt_password;
 * 2. else in the add-on (SUPERVISOR_TOKEN set) → the Supervisor's MQTT service. Its credentials are
 *    used unless mqtt_username is set (then mqtt_username/mqtt_password). No MQTT service → the
 *    embedded broker, with a warning. Other Supervisor failures are retried (`attempts`), then
 *    thrown — an add-on silently running a broker nobody connects to would hide the problem;
 * 3. else → the embedded broker.
 */
export async function resolveMqttTarget(o: ResolveMqttTargetOptions): Promise<MqttTarget> {
  const { config, env, logger } = o;
  const withCredentials = (
    t: { url: string; source: 'config' | 'supervisor' },
    username?: string,
    password?: string,
  ): MqttTarget => {
    const out: MqttTarget = { kind: 'url', ...t };
    if (username !== undefined && username !== '') out.username = username;
    if (password !== undefined && password !== '') out.password = password;
    return out;
  };

  if (config.mqtt_url.trim() !== '') {
    return withCredentials(
      { url: config.mqtt_url.trim(), source: 'config' },
      config.mqtt_username,
      config.mqtt_password,
    );
  }

  const embedded: MqttTarget = {
    kind: 'embedded',
    host: config.embedded_broker_host,
    port: config.embedded_broker_port,
  };
  const token = env.SUPERVISOR_TOKEN?.trim();
  if (!token) return embedded;

  const attempts = Math.max(1, o.attempts ?? 3);
  const clock = o.clock ?? systemClock;
  let answer: SupervisorMqtt | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      answer = await fetchSupervisorMqtt({
        token,
        env,
        timeoutMs: o.timeoutMs ?? 5000,
        ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
      });
      break;
    } catch (err) {
      const retryable = !(err instanceof AppError) || err.code !== 'SUPERVISOR_AUTH';
      if (!retryable || attempt >= attempts) throw err;
      logger.warn(
        { err: errorMessage(err) },
        `Asking the Supervisor for the MQTT broker failed (${errorMessage(err)}); trying again (${attempt + 1}/${attempts}).`,
      );
      await clock.sleep(o.retryDelayMs ?? 2000);
    }
  }

  if (answer.kind === 'none') {
    logger.warn(
      `No MQTT broker from the Supervisor (${answer.reason}); starting the embedded broker on ${config.embedded_broker_host}:${config.embedded_broker_port}, which Home Assistant will not see until it connects to it.`,
    );
    return embedded;
  }
  const ownLogin = (config.mqtt_username ?? '') !== '';
  logger.info(
    `Using the Home Assistant MQTT broker at ${answer.url} from the Supervisor${ownLogin ? ' with mqtt_username' : ''}.`,
  );
  return ownLogin
    ? withCredentials({ url: answer.url, source: 'supervisor' }, config.mqtt_username, config.mqtt_password)
    : withCredentials({ url: answer.url, source: 'supervisor' }, answer.username, answer.password);
}

/** One host interface from the Supervisor's `GET /network/info`, reduced to what the router probe needs. */
export interface SupervisorInterface {
  /** The interface name (`eth0`, `wlan0`). */
  name: string;
  /** The Supervisor's primary (default-route) interface. */
  primary: boolean;
  /** null when the Supervisor did not say. */
  connected: boolean | null;
  /** The IPv4 gateway of this interface, null when it has none. */
  ipv4Gateway: string | null;
}

export interface SupervisorNetworkInfo {
  interfaces: SupervisorInterface[];
  /** The Supervisor's own container network (`hassio`, e.g. 172.30.32.0/23) and its gateway. */
  docker: { address: string | null; gateway: string | null } | null;
}

const nullableText = z
  .string()
  .nullish()
  .transform((v) => (v === null || v === undefined || v.trim() === '' ? null : v.trim()));

const networkInfoSchema = z.object({
  result: z.literal('ok'),
  data: z.object({
    interfaces: z.array(
      z.object({
        interface: z.string(),
        primary: z.boolean().nullish(),
        connected: z.boolean().nullish(),
        ipv4: z.object({ gateway: nullableText }).nullish(),
      }),
    ),
    docker: z.object({ address: nullableText, gateway: nullableText }).nullish(),
  }),
});

const NETWORK_WHAT = 'The Supervisor API (GET /network/info)';
const NETWORK_FIX = "set router_host to the router's IP address";

export interface FetchSupervisorNetworkOptions {
  /** Default: env SUPERVISOR_URL, else http://supervisor. */
  baseUrl?: string;
  /** The add-on's SUPERVISOR_TOKEN. */
  token: string;
  dispatcher?: Dispatcher;
  timeoutMs: number;
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The host's network interfaces from the Supervisor (`GET /network/info`; the add-on manifest
 * needs `hassio_api: true`). Throws an AppError (SUPERVISOR_AUTH, SUPERVISOR_HTTP,
 * SUPERVISOR_MALFORMED, SUPERVISOR_UNREACHABLE; HTTP_TIMEOUT) whose message ends in what to do.
 */
export async function fetchSupervisorNetworkInfo(
  o: FetchSupervisorNetworkOptions,
): Promise<SupervisorNetworkInfo> {
  if (!o.token) {
    throw new AppError(
      'SUPERVISOR_AUTH',
      `${NETWORK_WHAT} needs SUPERVISOR_TOKEN, which is empty; ${NETWORK_FIX}.`,
    );
  }
  const base = (o.baseUrl ?? supervisorBaseUrl(o.env)).replace(/\/+$/, '');
  let statusCode: number;
  let text: string;
  try {
    const res = await request(`${base}/network/info`, {
      method: 'GET',
      headers: { authorization: `Bearer ${o.token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(o.timeoutMs),
      ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    });
    statusCode = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError')
      throw new HttpTimeoutError(NETWORK_WHAT, o.timeoutMs);
    const code = (err as { code?: string }).code;
    throw new AppError(
      'SUPERVISOR_UNREACHABLE',
      `${NETWORK_WHAT} could not be reached at ${base} (${code ?? errorMessage(err)}); ${NETWORK_FIX}.`,
    );
  }
  if (statusCode === 401 || statusCode === 403) {
    throw new AppError(
      'SUPERVISOR_AUTH',
      `${NETWORK_WHAT} refused the add-on's token (HTTP ${statusCode}); the add-on manifest must declare hassio_api: true. Or ${NETWORK_FIX}.`,
    );
  }
  if (statusCode < 200 || statusCode >= 300) {
    throw new AppError(
      'SUPERVISOR_HTTP',
      `${NETWORK_WHAT} answered HTTP ${statusCode}; check the Supervisor's log, or ${NETWORK_FIX}.`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError(
      'SUPERVISOR_MALFORMED',
      `${NETWORK_WHAT} answered something that is not JSON; ${NETWORK_FIX}.`,
    );
  }
  const parsed = networkInfoSchema.safeParse(json);
  if (!parsed.success) {
    throw new AppError(
      'SUPERVISOR_MALFORMED',
      `${NETWORK_WHAT} answered an unexpected envelope (${describeIssues(parsed.error)}); ${NETWORK_FIX}.`,
    );
  }
  const d = parsed.data.data;
  return {
    interfaces: d.interfaces.map((i) => ({
      name: i.interface,
      primary: i.primary === true,
      connected: i.connected ?? null,
      ipv4Gateway: i.ipv4?.gateway ?? null,
    })),
    docker: d.docker ? { address: d.docker.address, gateway: d.docker.gateway } : null,
  };
}
