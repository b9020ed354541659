/**
 * Small pieces of the HTTP server: the headers every answer carries, JSON and HTML answers,
 * capped request bodies, and the two built-in pages (login, and the index shown until the status
 * page's assets are plugged in). Every URL in them is relative, so they work under Ingress.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Sent on every response, errors included (SPEC §9). No X-Frame-Options: Ingress shows the page in a
 * frame. `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` with a
 * form POST, which the Origin check must refuse, so the login form could never log anyone in; other
 * sites still get no referrer (and so never see an Ingress path).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
};

export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = {},
): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`, {
    'Cache-Control': 'no-store',
    ...headers,
  });
}

/** A JSON error answer: `{error, message}` where `error` is a stable machine word. */
export function sendError(
  res: ServerResponse,
  status: number,
  error: string,
  message: string,
  headers: Record<string, string | number> = {},
): void {
  sendJson(res, status, { error, message }, headers);
}

export function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  headers: Record<string, string | number> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

export function wantsHtml(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

/** The media type of a Content-Type header, lower case, without parameters. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

export type BodyResult = { kind: 'ok'; text: string } | { kind: 'too_large' } | { kind: 'aborted' };

/**
 * Reads a request body as UTF-8 up to `max` bytes. Past the cap it stops collecting (the rest is
 * read and dropped, so the client gets the 413 rather than a reset) and says `too_large`.
 */
export function readBody(req: IncomingMessage, max: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    req.resume();
    return Promise.resolve({ kind: 'too_large' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        if (!over) {
          over = true;
          chunks.length = 0;
          resolve({ kind: 'too_large' });
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) resolve({ kind: 'ok', text: Buffer.concat(chunks).toString('utf8') });
    });
    req.on('error', () => resolve({ kind: 'aborted' }));
    req.on('close', () => {
      if (!req.complete && !over) resolve({ kind: 'aborted' });
    });
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The status page's icon and stylesheet are public assets (src/http/assets.ts), so the login form uses them too. */
const PAGE_HEAD =
  '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<meta name="color-scheme" content="light dark">\n<link rel="icon" href="icon.svg" type="image/svg+xml">\n<link rel="stylesheet" href="style.css">\n';

/**
 * The login form (no script, no style attribute: the CSP allows neither inline). It posts to
 * `login` relative to the page, so it works under any path prefix.
 */
export function loginPage(problem?: string): string {
  return `${PAGE_HEAD}<title>DDNS Watchdog: log in</title>
</head>
<body>
<main>
<h1>DDNS Watchdog</h1>
<p>This agent is protected by its <code>http_token</code>. Enter that token to see its status.</p>
${problem ? `<p role="alert"><strong>${escapeHtml(problem)}</strong></p>\n` : ''}<form method="post" action="login">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form>
</main>
</body>
</html>
`;
}

/** Shown at `/` until the status page's assets are plugged in. */
export function indexPage(version: string): string {
  return `${PAGE_HEAD}<title>DDNS Watchdog</title>
</head>
<body>
<main>
<h1>DDNS Watchdog ${escapeHtml(version)}</h1>
<ul>
<li><a href="state">state</a>: the whole picture as JSON (the same as the MQTT state topic)</li>
<li><a href="metrics">metrics</a>: Prometheus metrics</li>
<li><a href="healthz">healthz</a>: whether the agent's loops are running</li>
</ul>
</main>
</body>
</html>
`;
}
