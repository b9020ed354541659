import { type AddressInfo, createServer, type Server } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWithDeadline } from '../../src/probes/round.js';
import { TcpProbe } from '../../src/probes/tcp.js';
import { TlsProbe } from '../../src/probes/tls.js';
import { opensslAvailable } from '../fakes/mosquitto.js';
import {
  type FakeTlsServer,
  type LoopbackServer,
  makeTestPki,
  startHungServer,
  startTlsServer,
  type TestPki,
} from '../fakes/tls-server.js';
import { freePort } from '../helpers/net.js';

const TIMEOUT_MS = 200;

describe('TCP connect probe', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('open port: ok with the connect time', async () => {
    const result = await runWithDeadline(
      new TcpProbe({ host: '127.0.0.1', port, refusedIsAlive: true }),
      TIMEOUT_MS,
    );
    expect(result).toMatchObject({
      target: `127.0.0.1:${port}`,
      kind: 'tcp',
      ok: true,
      failure: null,
      code: null,
    });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(result.latencyMs).toBeLessThan(TIMEOUT_MS);
  });

  it('router/closed port: ECONNREFUSED means the router answered (ok, refused)', async () => {
    const closed = await freePort();
    const result = await runWithDeadline(
      new TcpProbe({ host: '127.0.0.1', port: closed, refusedIsAlive: true }),
      TIMEOUT_MS,
    );
    expect(result).toMatchObject({ ok: true, failure: 'refused', code: 'ECONNREFUSED', kind: 'tcp' });
    expect(result.latencyMs).not.toBeNull();
  });

  it('not the router/closed port: refused is a failure', async () => {
    const closed = await freePort();
    const result = await runWithDeadline(
      new TcpProbe({ host: '127.0.0.1', port: closed, refusedIsAlive: false }),
      TIMEOUT_MS,
    );
    expect(result).toEqual({
      target: `127.0.0.1:${closed}`,
      kind: 'tcp',
      ok: false,
      latencyMs: null,
      failure: 'refused',
      code: 'ECONNREFUSED',
    });
  });

  it('IPv6 loopback: the target is bracketed', async () => {
    const closed = await freePort();
    const result = await runWithDeadline(
      new TcpProbe({ host: '::1', port: closed, refusedIsAlive: true }),
      TIMEOUT_MS,
    );
    expect(result.target).toBe(`[::1]:${closed}`);
    // ::1 may be refused (ECONNREFUSED) or, on a host without IPv6, unavailable (EADDRNOTAVAIL).
    expect(result.code).not.toBeNull();
  });
});

describe.skipIf(!opensslAvailable())('TLS handshake probe', () => {
  let pki: TestPki;
  let good: FakeTlsServer;
  let selfSigned: FakeTlsServer;
  let otherCa: FakeTlsServer;
  let wrongName: FakeTlsServer;
  let hung: LoopbackServer;

  beforeAll(async () => {
    pki = await makeTestPki();
    [good, selfSigned, otherCa, wrongName, hung] = await Promise.all([
      startTlsServer(pki.good),
      startTlsServer(pki.selfSigned),
      startTlsServer(pki.otherCa),
      startTlsServer(pki.wrongName),
      startHungServer(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([good, selfSigned, otherCa, wrongName, hung].map((s) => s?.close()));
  });

  const probe = (server: LoopbackServer, extra: { servername?: string } = {}) =>
    new TlsProbe({ host: '127.0.0.1', port: server.port, ca: pki.ca, ...extra });

  it('certificate from the trusted CA: ok, with the handshake latency', async () => {
    const result = await runWithDeadline(probe(good), TIMEOUT_MS);
    expect(result).toMatchObject({ target: good.target, kind: 'tls', ok: true, failure: null, code: null });
    expect(result.latencyMs).toBeGreaterThan(0);
    expect(result.latencyMs).toBeLessThan(TIMEOUT_MS);
  });

  it('IP literal: no SNI is sent', async () => {
    const server = await startTlsServer(pki.good);
    try {
      expect(await runWithDeadline(probe(server), TIMEOUT_MS)).toMatchObject({ ok: true });
      expect(server.accepted()).toBe(1);
      expect(server.snis).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('servername set: sent as SNI and checked against the certificate', async () => {
    const server = await startTlsServer(pki.good);
    try {
      expect(await runWithDeadline(probe(server, { servername: 'localhost' }), TIMEOUT_MS)).toMatchObject({
        ok: true,
      });
      const wrong = await runWithDeadline(probe(server, { servername: 'one.one.one.one' }), TIMEOUT_MS);
      expect(wrong).toMatchObject({ ok: false, failure: 'tls_error', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
      expect(server.snis).toEqual(['localhost', 'one.one.one.one']);
    } finally {
      await server.close();
    }
  });

  it.each([
    ['self-signed', () => selfSigned, 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ['unknown CA', () => otherCa, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['issued for another name', () => wrongName, 'ERR_TLS_CERT_ALTNAME_INVALID'],
  ])('certificate error/%s: tls_error (an interceptor answered)', async (_name, server, code) => {
    const result = await runWithDeadline(probe(server()), TIMEOUT_MS);
    expect(result).toEqual({
      target: server().target,
      kind: 'tls',
      ok: false,
      latencyMs: null,
      failure: 'tls_error',
      code,
    });
  });

  it('verification is on by default: without the test CA the good server is refused too', async () => {
    const result = await runWithDeadline(new TlsProbe({ host: '127.0.0.1', port: good.port }), TIMEOUT_MS);
    expect(result).toMatchObject({ ok: false, failure: 'tls_error' });
  });

  it('TCP accepted, TLS never answered: a timeout at the probe deadline, connection closed', async () => {
    const started = performance.now();
    const result = await runWithDeadline(probe(hung), TIMEOUT_MS);
    const took = performance.now() - started;
    expect(result).toEqual({
      target: hung.target,
      kind: 'tls',
      ok: false,
      latencyMs: null,
      failure: 'timeout',
      code: null,
    });
    expect(took).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(took).toBeLessThan(TIMEOUT_MS + 500);
    await expect.poll(() => hung.openConnections(), { timeout: 2000, interval: 5 }).toBe(0);
  });

  it('closed port: refused is a WAN failure', async () => {
    const closed = await freePort();
    const result = await runWithDeadline(
      new TlsProbe({ host: '127.0.0.1', port: closed, ca: pki.ca }),
      TIMEOUT_MS,
    );
    expect(result).toMatchObject({ ok: false, failure: 'refused', code: 'ECONNREFUSED', latencyMs: null });
  });
});
