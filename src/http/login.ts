/**
 * `GET /login` (the form) and `POST /login` (token → session cookie), and `POST /logout`. Only
 * outside the add-on and with `http_token` set; wrong tokens count against the client's address.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { type FailureLimiter, originProblem, type SessionCookies, tokenMatches } from './auth.js';
import { loginPage, mediaType, readBody, send, sendError, sendJson, wantsHtml } from './respond.js';

export const MAX_LOGIN_BYTES = 1024;

export interface LoginDeps {
  token: string | undefined;
  addon: boolean;
  sessions: SessionCookies;
  limiter: FailureLimiter;
  clock: Clock;
  log: Logger;
}

const NO_LOGIN = 'No login is needed here: no http_token is set.';

export function loginForm(res: ServerResponse, d: LoginDeps): void {
  if (!d.token || d.addon) {
    sendError(res, 404, 'not_found', NO_LOGIN);
    return;
  }
  send(res, 200, 'text/html; charset=utf-8', loginPage(), { 'Cache-Control': 'no-store' });
}

export function logout(req: IncomingMessage, res: ServerResponse, d: LoginDeps): void {
  // Like login: another site must not end the session (a cross-site form post would clear it).
  const origin = originProblem({ origin: req.headers.origin, host: req.headers.host, via: 'public' });
  if (origin) {
    sendError(res, 403, 'forbidden', `${origin} Log out from the status page itself.`);
    return;
  }
  sendJson(res, 200, { ok: true, message: 'Logged out.' }, { 'Set-Cookie': d.sessions.clearCookie() });
}

export async function login(
  req: IncomingMessage,
  res: ServerResponse,
  client: string,
  d: LoginDeps,
): Promise<void> {
  const token = d.token;
  if (!token || d.addon) {
    sendError(res, 404, 'not_found', NO_LOGIN);
    return;
  }
  // A form post (a browser) gets the form again with the problem; a script gets JSON.
  const html = wantsHtml(req);
  const refuse = (
    status: number,
    error: string,
    message: string,
    headers: Record<string, string | number> = {},
  ) =>
    html
      ? send(res, status, 'text/html; charset=utf-8', loginPage(message), {
          ...headers,
          'Cache-Control': 'no-store',
        })
      : sendError(res, status, error, message, headers);

  const origin = originProblem({ origin: req.headers.origin, host: req.headers.host, via: 'public' });
  if (origin) return refuse(403, 'forbidden', origin);
  const tooMany = (): boolean => {
    const blocked = d.limiter.blockedFor(client, d.clock.now());
    if (blocked <= 0) return false;
    const seconds = Math.ceil(blocked / 1000);
    const message = `Too many wrong tokens from this address: wait ${seconds} s, then try again.`;
    refuse(429, 'too_many_attempts', message, { 'Retry-After': seconds });
    return true;
  };
  if (tooMany()) return;
  const body = await readBody(req, MAX_LOGIN_BYTES);
  if (body.kind === 'aborted') return;
  if (body.kind === 'too_large') {
    return refuse(413, 'too_large', `A login is at most ${MAX_LOGIN_BYTES} bytes.`, { Connection: 'close' });
  }
  // Asked again once the body is in: logins sent in parallel all passed the first check while
  // their bodies were on the way, and the failures of the first ones count now.
  if (tooMany()) return;
  const given = loginToken(mediaType(req.headers['content-type']), body.text);
  if (given === null) {
    return refuse(
      400,
      'bad_request',
      'Send the token as a form field named "token" (or JSON {"token": "…"}).',
    );
  }
  if (!tokenMatches(given, token)) {
    d.limiter.fail(client, d.clock.now());
    d.log.warn(
      { client },
      'A login with a wrong token was refused; if that was you, copy http_token from the options again.',
    );
    return refuse(401, 'unauthorized', 'That is not the http_token set in the options.');
  }
  d.limiter.succeed(client);
  // Secure only when a TLS proxy says the browser used https (a Secure cookie is never sent over http).
  const secure = req.headers['x-forwarded-proto'] === 'https';
  const cookie = d.sessions.setCookie(d.sessions.issue(d.clock.now()), secure);
  if (html) {
    res.writeHead(303, {
      Location: './',
      'Set-Cookie': cookie,
      'Cache-Control': 'no-store',
      'Content-Length': 0,
    });
    res.end();
    return;
  }
  sendJson(res, 200, { ok: true, message: 'Logged in.' }, { 'Set-Cookie': cookie });
}

/** The token of a login body: form field `token`, or JSON `{"token": "…"}`; null when absent. */
function loginToken(type: string, text: string): string | null {
  if (type === 'application/json') {
    try {
      const v = (JSON.parse(text) as { token?: unknown }).token;
      return typeof v === 'string' && v !== '' ? v : null;
    } catch {
      return null;
    }
  }
  const v = new URLSearchParams(text).get('token');
  return v ? v : null;
}
