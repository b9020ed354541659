/**
 * docker/healthcheck.mjs, the image's HEALTHCHECK, run here directly against stand-ins for the
 * agent's /healthz on 127.0.0.1: healthy only on a 200, unhealthy with a reason a person can act on
 * otherwise (what `docker inspect` and the Supervisor show), and honest when there is nothing to ask.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';
import { ROOT } from './dockerfile.js';

const SCRIPT = join(ROOT, 'docker', 'healthcheck.mjs');

function check(env: Record<string, string>): Promise<{ code: number | null; out: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [SCRIPT], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => resolve({ code, out: out.trim(), ms: Date.now() - t0 }));
  });
}

let server: Server | undefined;
const paths: string[] = [];

function serve(handler: (path: string, res: import('node:http').ServerResponse) => void): Promise<number> {
  return new Promise((resolve) => {
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      handler(req.url ?? '', res);
    });
    server.listen(0, '127.0.0.1', () => resolve((server!.address() as AddressInfo).port));
  });
}

afterEach(async () => {
  paths.length = 0;
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

describe('docker/healthcheck.mjs', () => {
  it('200 from /healthz → healthy (exit 0), showing the answer', async () => {
    const port = await serve((_p, res) => res.end('{"status":"ok","loops":"alive"}'));
    const r = await check({ HTTP_PORT: String(port), HTTP_HOST: '0.0.0.0' });
    expect(r).toMatchObject({ code: 0, out: 'healthy: {"status":"ok","loops":"alive"}' });
    expect(paths).toEqual(['/healthz']);
  });

  it('503 with a reason → unhealthy (exit 1), with the reason', async () => {
    const port = await serve((_p, res) => {
      res.statusCode = 503;
      res.end('dns loop stuck for 300 s');
    });
    const r = await check({ HTTP_PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.out).toBe(`unhealthy: http://127.0.0.1:${port}/healthz answered 503: dns loop stuck for 300 s`);
  });

  it('a long answer is cut to one short line', async () => {
    const port = await serve((_p, res) => {
      res.statusCode = 500;
      res.end(`${'x'.repeat(5000)}\n${'y'.repeat(10)}`);
    });
    const r = await check({ HTTP_PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.out.split('\n')).toHaveLength(1);
    expect(r.out.length).toBeLessThan(300);
  });

  it('nothing listening → unhealthy, saying the agent is not running or the port differs', async () => {
    const port = await freePort();
    const r = await check({ HTTP_PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /ECONNREFUSED\): nothing listens there — the agent is not running, or http_port differs/,
    );
  });

  it('an agent that accepts but never answers → unhealthy within its own deadline (before Docker’s 5 s)', async () => {
    const port = await serve(() => {
      // Never answers.
    });
    const r = await check({ HTTP_PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/TimeoutError\): no answer within 4 s/);
    expect(r.ms).toBeLessThan(5000);
  });

  it('HTTP_HOST given as an address → that address is asked', async () => {
    const port = await serve((_p, res) => res.end('ok'));
    const r = await check({ HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1' });
    expect(r).toMatchObject({ code: 0, out: 'healthy: ok' });
  });

  it('HTTP_PORT=0 (HTTP server off) → passes, saying it could not check', async () => {
    const r = await check({ HTTP_PORT: '0' });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^healthy \(not checked\): the HTTP server is off/);
  });

  it('HTTP_PORT that is not a port → unhealthy, naming it', async () => {
    const r = await check({ HTTP_PORT: 'eighty' });
    expect(r.code).toBe(1);
    expect(r.out).toBe(
      'unhealthy: HTTP_PORT="eighty" is not a port — set HTTP_PORT to the agent\'s http_port',
    );
  });
});
