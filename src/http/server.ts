/**
 * The agent's HTTP server (SPEC §2 `http_port`/`http_host`/`http_token`, §9; docs/http.md):
 * `/healthz`, `/metrics`, `/state`, `/events` (SSE), `POST /api/command/<name>`, login, and the
 * status page's assets. A self-contained adapter: everything it shows or does comes through the
 * options, so tests run it with no agent behind it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { StatusDocument } from '../status.js';
import { VERSION } from '../version.js';
import { type Access, decideAccess, FailureLimiter, SessionCookies } from './auth.js';
import { COMMAND_PREFIX, commandRoute, type RunCommand } from './command-route.js';
import type { LivenessVerdict } from './liveness.js';
import { type LoginDeps, login, loginForm, logout } from './login.js';
import type { Metrics } from './metrics.js';
import {
  indexPage,
  loginPage,
  SECURITY_HEADERS,
  send,
  sendError,
  sendJson,
  setSecurityHeaders,
  wantsHtml,
} from './respond.js';
import { SseHub, type SubscribeEvents } from './sse.js';

export type { CommandAnswer, RunCommand } from './command-route.js';
export type { SseMessage, SubscribeEvents } from './sse.js';

/** A file of the status page. `public` ones are served without the token (e.g. the login page's CSS). */
export interface StaticAsset {
  type: string;
  body: string | Buffer;
  public?: boolean;
}

export interface HttpLimits {
  /** Time to receive a request's headers (slow-loris). Default 10 s. */
  headersTimeoutMs?: number;
  /** Time to receive a whole request. Default 30 s. */
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  /** Open live (SSE) pages at once. Default 32. */
  maxSseClients?: number;
  /** Open connections at once; more are dropped. Default 128. */
  maxConnections?: number;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  /** `http_token`; unset or empty = none. */
  token?: string | undefined;
  /** Running as the Home Assistant add-on: only the Ingress proxy is served. */
  addon: boolean;
  logger: Logger;
  clock: Clock;
  /** Liveness of the agent's loops (`Liveness#health`), whatever the WAN. */
  probes: { health(): LivenessVerdict };
  state(): StatusDocument;
  metrics: Metrics;
  commands?: RunCommand;
  events?: SubscribeEvents;
  /** The status page (issue 10): path (`/`, `/app.js`, …) → file. */
  assets?: ReadonlyMap<string, StaticAsset>;
  /** The client's address; tests inject one to act as a LAN client or the Ingress proxy. */
  clientAddress?: (req: IncomingMessage) => string;
  limits?: HttpLimits;
  /** SSE heartbeat period (default 15 s). */
  heartbeatMs?: number;
  /** Key of the session cookies (tests); default: drawn at start. */
  sessionKey?: Buffer;
}

export interface HttpServerHandle {
  /** `http://host:port` (IPv6 hosts in brackets). */
  url: string;
  port: number;
  /** Ends live streams and open connections, then stops listening. */
  close(): Promise<void>;
}

/** The server could not start listening. */
export class HttpListenError extends AppError {}

const ROUTES: Record<string, readonly string[]> = {
  '/healthz': ['GET', 'HEAD'],
  '/metrics': ['GET', 'HEAD'],
  '/state': ['GET', 'HEAD'],
  '/events': ['GET'],
  '/login': ['GET', 'HEAD', 'POST'],
  '/logout': ['POST'],
};

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServerHandle> {
  const o = options;
  const log = o.logger.child({ module: 'http' });
  const token = o.token ? o.token : undefined;
  const limits = o.limits ?? {};
  const sessions = new SessionCookies(o.sessionKey);
  const limiter = new FailureLimiter();
  const hub = new SseHub({
    clock: o.clock,
    logger: log,
    subscribe: o.events,
    maxClients: limits.maxSseClients ?? 32,
    ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
  });
  const loginDeps: LoginDeps = { token, addon: o.addon, sessions, limiter, clock: o.clock, log };
  const clientOf = o.clientAddress ?? ((req: IncomingMessage) => req.socket.remoteAddress ?? '');

  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs ?? 10_000,
      requestTimeout: limits.requestTimeoutMs ?? 30_000,
      keepAliveTimeout: limits.keepAliveTimeoutMs ?? 5_000,
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs ?? 1_000),
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => {
      handle(req, res).catch((err) => {
        log.error(
          { err, path: pathOf(req) },
          'The HTTP server failed on a request and answered 500. This is a bug: please report it with this line.',
        );
        sendError(res, 500, 'internal', "Something went wrong inside the agent; see the agent's log.");
      });
    },
  );
  const maxConnections = limits.maxConnections ?? 128;
  server.maxConnections = maxConnections;
  // Load shedding is said, never silent: Node closes connections past maxConnections at once; a
  // warning names it (at most once a minute, with the count so far) and /metrics counts each one.
  let refusedConnections = 0;
  let refusedSaidAt = Number.NEGATIVE_INFINITY;
  server.on('drop', () => {
    refusedConnections += 1;
    o.metrics.httpConnectionRefused();
    const now = o.clock.now();
    if (now - refusedSaidAt < 60_000) return;
    refusedSaidAt = now;
    log.warn(
      { refused: refusedConnections, max_connections: maxConnections },
      `Refused an HTTP connection: more than ${maxConnections} are open at once (${refusedConnections} refused so far). A client opens too many connections; let it reuse its connections or send fewer commands at once.`,
    );
  });
  server.on('clientError', (err, socket) => {
    log.debug({ code: (err as { code?: string }).code }, 'Dropped a malformed or too slow HTTP request.');
    if (socket.writable && !socket.destroyed) {
      const status =
        (err as { code?: string }).code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
      const headers = Object.entries(SECURITY_HEADERS)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n${headers}\r\n`);
    } else {
      socket.destroy();
    }
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setSecurityHeaders(res);
    const method = req.method ?? 'GET';
    const path = pathOf(req);
    if (path === null) {
      sendError(res, 400, 'bad_request', 'The request target must be a path starting with /.');
      return;
    }
    const asset = o.assets?.get(path);
    const client = clientOf(req);
    const isPublic = path === '/healthz' || path === '/login' || path === '/logout' || asset?.public === true;
    const access = decideAccess(
      {
        addon: o.addon,
        token,
        client,
        path,
        host: req.headers.host,
        authorization: req.headers.authorization,
        cookie: req.headers.cookie,
        public: isPublic,
        now: o.clock.now(),
      },
      sessions,
      limiter,
    );
    if (access.kind === 'deny') {
      deny(req, res, access, client);
      return;
    }

    if (path.startsWith(COMMAND_PREFIX)) {
      await commandRoute(req, res, path.slice(COMMAND_PREFIX.length), access, {
        commands: o.commands,
        log,
        client,
      });
      return;
    }
    const allowed = ROUTES[path] ?? (asset || path === '/' ? ['GET', 'HEAD'] : null);
    if (!allowed) {
      sendError(
        res,
        404,
        'not_found',
        `Nothing at ${clipPath(path)}: try state, metrics, healthz or the status page at ./`,
      );
      return;
    }
    if (!allowed.includes(method)) {
      sendError(
        res,
        405,
        'method_not_allowed',
        `${clipPath(path)} takes ${allowed.join(' or ')}, not ${method}.`,
        {
          Allow: allowed.join(', '),
        },
      );
      return;
    }
    switch (path) {
      case '/healthz':
        return healthz(res);
      case '/metrics':
        return metrics(res);
      case '/state':
        return stateJson(res);
      case '/events':
        return events(res);
      case '/login':
        return method === 'POST' ? login(req, res, client, loginDeps) : loginForm(res, loginDeps);
      case '/logout':
        return logout(req, res, loginDeps);
    }
    if (asset) return send(res, 200, asset.type, asset.body, { 'Cache-Control': 'no-cache' });
    send(res, 200, 'text/html; charset=utf-8', indexPage(VERSION), { 'Cache-Control': 'no-cache' });
  }

  function deny(
    req: IncomingMessage,
    res: ServerResponse,
    access: Extract<Access, { kind: 'deny' }>,
    client: string,
  ) {
    const headers: Record<string, string | number> = {};
    if (access.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="ddns-watchdog"';
    if (access.retryAfterSeconds) headers['Retry-After'] = access.retryAfterSeconds;
    if (access.status === 429 || (access.status === 401 && req.headers.authorization)) {
      log.warn(
        { client, path: pathOf(req), status: access.status },
        `Refused an HTTP request: ${access.message}`,
      );
    } else {
      log.debug(
        { client, path: pathOf(req), status: access.status },
        `Refused an HTTP request: ${access.message}`,
      );
    }
    if (access.status === 401 && (req.method === 'GET' || req.method === 'HEAD') && wantsHtml(req)) {
      send(res, 401, 'text/html; charset=utf-8', loginPage(), { ...headers, 'Cache-Control': 'no-store' });
      return;
    }
    const error =
      access.status === 401 ? 'unauthorized' : access.status === 429 ? 'too_many_attempts' : 'forbidden';
    sendError(res, access.status, error, access.message, headers);
  }

  function healthz(res: ServerResponse): void {
    let verdict: LivenessVerdict;
    try {
      verdict = o.probes.health();
    } catch (err) {
      log.error(
        { err },
        'The liveness check failed; /healthz answered 503. This is a bug: please report it with this line.',
      );
      verdict = { ok: false, reason: 'the liveness check itself failed; see the log' };
    }
    if (verdict.ok) sendJson(res, 200, { status: 'ok' });
    else sendJson(res, 503, { status: 'stuck', reason: verdict.reason ?? 'a loop of the agent is stuck' });
  }

  async function metrics(res: ServerResponse): Promise<void> {
    try {
      o.metrics.observeState(o.state());
    } catch (err) {
      log.warn(
        { err },
        'Could not read the state for /metrics; health and availability gauges keep their last values.',
      );
    }
    const text = await o.metrics.render();
    send(res, 200, o.metrics.contentType, text, { 'Cache-Control': 'no-store' });
  }

  function stateJson(res: ServerResponse): void {
    sendJson(res, 200, o.state());
  }

  function events(res: ServerResponse): void {
    if (hub.full) {
      sendError(
        res,
        503,
        'too_many_streams',
        'Too many live status pages are open at once; close some tabs and reload.',
        {
          'Retry-After': 30,
        },
      );
      return;
    }
    hub.open(res, o.state());
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const where = `${o.host}:${o.port}`;
      const message =
        err.code === 'EADDRINUSE'
          ? `The HTTP server could not start: ${where} is already in use. Choose another http_port, or stop the program that holds it.`
          : err.code === 'EADDRNOTAVAIL'
            ? `The HTTP server could not start: ${o.host} is not an address of this machine. Set http_host to one of its addresses, 127.0.0.1 or 0.0.0.0.`
            : err.code === 'EACCES'
              ? `The HTTP server could not start: no permission to listen on ${where}. Use an http_port above 1023.`
              : `The HTTP server could not start on ${where}: ${err.message}.`;
      reject(new HttpListenError('HTTP_LISTEN', message, { cause: err }));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: o.host, port: o.port });
  });
  server.on('error', (err) => log.error({ err }, 'The HTTP server reported an error; it keeps serving.'));

  const port = (server.address() as AddressInfo).port;
  const shownHost = o.host.includes(':') ? `[${o.host}]` : o.host;
  log.info(
    { host: o.host, port, token: token ? 'set' : 'none', addon: o.addon },
    `HTTP server listening on http://${shownHost}:${port} (healthz, metrics, state${token ? '; http_token required' : ''}).`,
  );
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close: () => closeServer(server, hub),
  };
}

function closeServer(server: Server, hub: SseHub): Promise<void> {
  hub.closeAll();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setImmediate(() => server.closeAllConnections());
  });
}

/** The path of a request (no query), or null when the target is not an origin-form path. */
function pathOf(req: IncomingMessage): string | null {
  const target = req.url ?? '';
  if (!target.startsWith('/')) return null;
  const q = target.search(/[?#]/);
  return q < 0 ? target : target.slice(0, q);
}

function clipPath(path: string): string {
  const clean = path.replace(/[^\x21-\x7e]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}
