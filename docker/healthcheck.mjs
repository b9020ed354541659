// @ts-check
/**
 * The image's HEALTHCHECK (`node /app/docker/healthcheck.mjs`): asks the agent's own HTTP server
 * for GET /healthz — 200 while its loops are alive, whatever the WAN; 503 with the reason when one
 * is stuck (SPEC §2) — and exits 0 (healthy) or 1 (unhealthy) with one line saying why, which
 * `docker inspect` and the Supervisor show. No curl needed. test/image/healthcheck.test.ts runs it.
 *
 * Where: HTTP_PORT (8080 in the image) on HTTP_HOST, with 127.0.0.1 / ::1 for the wildcard
 * addresses. HTTP_PORT=0 turns the agent's HTTP server off; there is then nothing to ask, and the
 * check says so and passes rather than marking a working agent unhealthy.
 */
const TIMEOUT_MS = 4000;
const MAX_SHOWN = 200;

/** @param {string} line @param {number} code @returns {never} */
function done(line, code) {
  process.stdout.write(`${line}\n`);
  process.exit(code);
}

const portText = (process.env.HTTP_PORT ?? '8080').trim() || '8080';
if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
  done(`unhealthy: HTTP_PORT=${JSON.stringify(portText)} is not a port — set HTTP_PORT to the agent's http_port`, 1);
}
if (Number(portText) === 0) {
  done('healthy (not checked): the HTTP server is off (HTTP_PORT=0) — set HTTP_PORT to check /healthz', 0);
}

const bind = (process.env.HTTP_HOST ?? '').trim().replace(/^\[(.*)\]$/, '$1');
const host = bind === '' || bind === '0.0.0.0' ? '127.0.0.1' : bind === '::' ? '::1' : bind;
const url = `http://${host.includes(':') ? `[${host}]` : host}:${portText}/healthz`;

/** @param {string} text */
const shown = (text) => {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > MAX_SHOWN ? `${one.slice(0, MAX_SHOWN)}…` : one;
};

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'manual' });
  const body = shown(await res.text());
  if (res.status === 200) done(`healthy: ${body || 'ok'}`, 0);
  done(`unhealthy: ${url} answered ${res.status}${body ? `: ${body}` : ''}`, 1);
} catch (err) {
  const cause = /** @type {{ cause?: { code?: string } }} */ (err).cause;
  const code = cause?.code ?? (err instanceof Error ? err.name : String(err));
  const why =
    code === 'ECONNREFUSED'
      ? 'nothing listens there — the agent is not running, or http_port differs from HTTP_PORT'
      : code === 'TimeoutError'
        ? `no answer within ${TIMEOUT_MS / 1000} s — the agent is busy or stuck`
        : 'the request failed';
  done(`unhealthy: ${url} (${code}): ${why}`, 1);
}
