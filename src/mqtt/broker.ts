/**
 * The embedded MQTT broker (aedes on a plain TCP server), started when no broker is configured so
 * that `npm start` works with no setup. It binds to `embedded_broker_host` (127.0.0.1 by default).
 * When the port is already taken by another MQTT broker, that broker is used instead. Never: app
 * logic. Note: aedes speaks MQTT 3.1.1 only, so clients of this broker run on 3.1.1.
 *
 * No packet over MAX_PACKET_BYTES (256 KiB) is read whole: a guard on each connection's byte
 * stream reads every packet's fixed header and closes the connection of a client that announces a
 * larger one, before its payload is buffered (aedes has no such limit of its own).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { type AddressInfo, createServer, isIPv6, type Server, type Socket } from 'node:net';
import { Aedes, type AuthenticateError } from 'aedes';
import mqtt from 'mqtt';
import { AppError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { GuardedStream, MAX_PACKET_BYTES } from './packet-guard.js';

export interface EmbeddedBrokerOptions {
  /** Interface to bind, e.g. 127.0.0.1 (embedded_broker_host). */
  host: string;
  /** TCP port (embedded_broker_port); 0 picks a free port, which `url` then carries. */
  port: number;
  /** The largest packet a client may send (default MAX_PACKET_BYTES). */
  maxPacketBytes?: number;
  /** When either is set, clients must log in with exactly these (mqtt_username / mqtt_password). */
  username?: string;
  password?: string;
  logger: Logger;
}

export interface EmbeddedBroker {
  /** Where clients connect, e.g. mqtt://127.0.0.1:1883 (a wildcard bind is reached over loopback). */
  url: string;
  /** True when another broker already held the port and is used instead (close() then does nothing). */
  reused: boolean;
  close(): Promise<void>;
}

/** How long to wait for a CONNACK from whatever holds the port before deciding it is not MQTT. */
const PROBE_TIMEOUT_MS = 2000;
/** aedes' return code for a bad user name or password (3.1.1 CONNACK code 4). */
const BAD_USERNAME_OR_PASSWORD = 4;

/** Host as it appears in a URL: loopback for wildcard binds, brackets for IPv6. */
export function brokerUrl(host: string, port: number): string {
  let h = host;
  if (h === '' || h === '0.0.0.0') h = '127.0.0.1';
  else if (h === '::' || h === '[::]') h = '::1';
  h = h.replace(/^\[|\]$/g, '');
  return `mqtt://${isIPv6(h) ? `[${h}]` : h}:${port}`;
}

function digest(value: string | Buffer | undefined): Buffer {
  return createHash('sha256')
    .update(value ?? '')
    .digest();
}

/** Constant-time equality of two secrets (hashing first makes the lengths equal). */
function sameSecret(expected: string | undefined, given: string | Buffer | undefined): boolean {
  return timingSafeEqual(digest(expected), digest(given));
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1' || host === '[::1]';
}

export async function startEmbeddedBroker(o: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const log = o.logger;
  const authRequired = (o.username ?? '') !== '' || (o.password ?? '') !== '';
  const refusedClients = new Set<string>();
  const oversizeClients = new Set<string>();
  const maxPacket = o.maxPacketBytes ?? MAX_PACKET_BYTES;

  const aedes = await Aedes.createBroker(
    authRequired
      ? {
          authenticate: (client, username, password, done) => {
            // Evaluate both comparisons so timing does not tell which one failed.
            const userOk = sameSecret(o.username, username);
            const passOk = sameSecret(o.password, password);
            if (userOk && passOk) {
              done(null, true);
              return;
            }
            // Once per client id: a client retrying with the same wrong password must not flood the log.
            const level = refusedClients.has(client.id) ? 'debug' : 'warn';
            refusedClients.add(client.id);
            log[level](
              { clientId: client.id },
              `The embedded MQTT broker refused a login from client "${client.id}" (wrong user name or password); give that client the mqtt_username and mqtt_password set here.`,
            );
            const err = new Error('Bad user name or password') as AuthenticateError;
            err.returnCode = BAD_USERNAME_OR_PASSWORD;
            done(err, false);
          },
        }
      : {},
  );
  aedes.on('clientError', (client, err) => {
    log.debug({ clientId: client.id, err: err.message }, 'Embedded broker: client error.');
  });
  aedes.on('connectionError', (_client, err) => {
    log.debug({ err: err.message }, 'Embedded broker: connection error.');
  });

  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    // MQTT packets are small: without this, Nagle + delayed ACKs add ~40 ms per hop.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    // aedes learns the client id from CONNECT; the guard only reports after handle() returned.
    let client: { id: string | null } | undefined;
    const guarded = new GuardedStream(socket, {
      maxPacketBytes: maxPacket,
      mode: 'disconnect',
      onOversize: (p) => {
        const id = client?.id ?? null;
        const who = id === null ? `at ${socket.remoteAddress ?? 'an unknown address'}` : `"${id}"`;
        const level = oversizeClients.has(who) ? 'debug' : 'warn';
        if (oversizeClients.size >= 1000) oversizeClients.clear(); // bounded over months of uptime
        oversizeClients.add(who);
        log[level](
          { clientId: id, bytes: p.bytes, kind: p.kind },
          `The embedded MQTT broker disconnected client ${who}: it sent a ${p.kind} packet of ${p.bytes} bytes, over this broker's limit of ${maxPacket} bytes. Send smaller messages (commands are at most 4 KiB).`,
        );
      },
    });
    client = aedes.handle(guarded);
  });

  try {
    await listen(server, o.host, o.port);
  } catch (err) {
    await closeAedes(aedes);
    const code = (err as { code?: string }).code;
    if (code === 'EADDRINUSE') return reuseExisting(o);
    if (code === 'EADDRNOTAVAIL') {
      throw new AppError(
        'BROKER_BIND',
        `The embedded MQTT broker cannot listen on ${o.host}: this machine has no such address (EADDRNOTAVAIL); set embedded_broker_host to one of its addresses, e.g. 127.0.0.1.`,
        { cause: err },
      );
    }
    throw new AppError(
      'BROKER_BIND',
      `The embedded MQTT broker cannot listen on ${o.host}:${o.port} (${code ?? errorMessage(err)}); set embedded_broker_port to a free port, or set mqtt_url to use another broker.`,
      { cause: err },
    );
  }

  const port = (server.address() as AddressInfo).port;
  const url = brokerUrl(o.host, port);
  const access = authRequired ? 'user name and password required' : 'anonymous access';
  log.info(`Embedded MQTT broker listening on ${o.host}:${port} (${access}).`);
  if (!authRequired && !isLoopback(o.host)) {
    log.warn(
      `The embedded MQTT broker listens on ${o.host} without a password: anyone who can reach this port can send commands (including "reboot router"). Set mqtt_username and mqtt_password.`,
    );
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await Promise.all([serverClosed, closeAedes(aedes)]);
      log.debug('Embedded MQTT broker stopped.');
    })();
    return closing;
  };
  return { url, reused: false, close };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      server.removeListener('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.removeListener('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: host.replace(/^\[|\]$/g, ''), port });
  });
}

function closeAedes(aedes: Aedes): Promise<void> {
  return new Promise<void>((resolve) => aedes.close(() => resolve()));
}

async function reuseExisting(o: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const url = brokerUrl(o.host, o.port);
  const speaksMqtt = await probeMqtt(url);
  if (!speaksMqtt) {
    throw new AppError(
      'BROKER_PORT_IN_USE',
      `Port ${o.port} on ${o.host} is already in use by something that does not answer MQTT, so the embedded broker cannot start; set embedded_broker_port to a free port, or set mqtt_url to your broker.`,
    );
  }
  o.logger.info(
    `Port ${o.port} already has a broker; connecting to it instead of starting the embedded one (set mqtt_url to make this explicit).`,
  );
  return { url, reused: true, close: async () => {} };
}

/** True when something at `url` answers an MQTT CONNECT with a CONNACK (even a refusal). */
function probeMqtt(url: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let settled = false;
    const client = mqtt.connect(url, {
      protocolVersion: 4,
      clientId: `ddns-watchdog-probe-${process.pid}-${Date.now().toString(36)}`,
      reconnectPeriod: 0,
      connectTimeout: PROBE_TIMEOUT_MS,
      clean: true,
    });
    const finish = (answer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end(true);
      client.removeAllListeners();
      client.on('error', () => {});
      resolve(answer);
    };
    const timer = setTimeout(() => finish(false), PROBE_TIMEOUT_MS + 500);
    client.on('connect', () => finish(true));
    client.on('error', (err: Error & { code?: unknown }) => finish(typeof err.code === 'number'));
    client.on('close', () => finish(false));
  });
}
