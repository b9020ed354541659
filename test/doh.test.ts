/**
 * DohClient against the fake's DoH JSON endpoint (real HTTP on 127.0.0.1), plus raw servers for
 * what a resolver should never say.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DohClient, DohError } from '../src/dns/doh.js';
import { AppError, HttpTimeoutError } from '../src/errors.js';
import { FakeCloudflare } from './fakes/cloudflare.js';

const dispatcher = new Agent({ connect: { timeout: 2_000 } });
let cf: FakeCloudflare;
let doh: DohClient;

beforeEach(async () => {
  cf = await FakeCloudflare.start();
  cf.addZone('example.com');
  doh = new DohClient({ url: cf.dohUrl, dispatcher, timeoutMs: 2_000 });
});

afterEach(async () => {
  await cf.close();
});

afterAll(async () => {
  await dispatcher.close();
});

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => {
      throw new Error('expected the query to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('answers from the fake resolver', () => {
  it('A: the content and TTL of a DNS-only record', async () => {
    cf.addRecord({ name: 'home.example.com', type: 'A', content: '81.2.69.160', ttl: 120 });
    expect(await doh.resolve('home.example.com', 'A')).toEqual({
      kind: 'answer',
      addresses: ['81.2.69.160'],
      ttl: 120,
    });
    expect(cf.dohRequests.map((r) => [r.method, r.path, r.query])).toEqual([
      ['GET', '/dns-query', { name: 'home.example.com', type: 'A' }],
    ]);
    expect(cf.requests).toEqual([]); // DoH is not the API
  });

  it('AAAA: addresses are normalised; TTL 1 ("auto") is served as 300', async () => {
    cf.addRecord({ name: 'home.example.com', type: 'AAAA', content: '2001:DB8:0:0::0001' });
    expect(await doh.resolve('Home.Example.com.', 'AAAA')).toEqual({
      kind: 'answer',
      addresses: ['2001:db8::1'],
      ttl: 300,
    });
    expect(cf.dohRequests[0]?.query).toEqual({ name: 'home.example.com', type: 'AAAA' });
  });

  it('several records: every address, and the smallest TTL', async () => {
    cf.addRecord({ name: 'rr.example.com', type: 'A', content: '81.2.69.1', ttl: 600 });
    cf.addRecord({ name: 'rr.example.com', type: 'A', content: '81.2.69.2', ttl: 120 });
    expect(await doh.resolve('rr.example.com', 'A')).toEqual({
      kind: 'answer',
      addresses: ['81.2.69.1', '81.2.69.2'],
      ttl: 120,
    });
  });

  it('a CNAME chain: the links are skipped, the addresses at its end are the answer', async () => {
    cf.addRecord({ name: 'www.example.com', type: 'CNAME', content: 'edge.example.com', ttl: 60 });
    cf.addRecord({ name: 'edge.example.com', type: 'CNAME', content: 'home.example.com', ttl: 60 });
    cf.addRecord({ name: 'home.example.com', type: 'A', content: '81.2.69.160', ttl: 3600 });
    expect(await doh.resolve('www.example.com', 'A')).toEqual({
      kind: 'answer',
      addresses: ['81.2.69.160'],
      ttl: 3600,
    });
    expect(await doh.resolve('www.example.com', 'AAAA')).toEqual({ kind: 'nodata' });
  });

  it('an unknown name is NXDOMAIN', async () => {
    expect(await doh.resolve('nope.example.com', 'A')).toEqual({ kind: 'nxdomain' });
  });

  it('a known name without the asked type is NODATA', async () => {
    cf.addRecord({ name: 'v4only.example.com', type: 'A', content: '81.2.69.1' });
    expect(await doh.resolve('v4only.example.com', 'AAAA')).toEqual({ kind: 'nodata' });
  });

  it("a proxied record answers Cloudflare's edge, for both families", async () => {
    cf.addRecord({ name: 'www.example.com', type: 'A', content: '81.2.69.160', proxied: true });
    expect(await doh.resolve('www.example.com', 'A')).toEqual({
      kind: 'answer',
      addresses: ['104.16.0.1'],
      ttl: 300,
    });
    expect(await doh.resolve('www.example.com', 'AAAA')).toEqual({
      kind: 'answer',
      addresses: ['2606:4700::1'],
      ttl: 300,
    });
    cf.setEdgeAddresses(['104.16.1.1', '104.16.2.2'], ['2606:4700::6810:101']);
    expect(await doh.resolve('www.example.com', 'A')).toMatchObject({
      addresses: ['104.16.1.1', '104.16.2.2'],
    });
  });

  it('staleDoh keeps serving an old view until cleared', async () => {
    const rec = cf.addRecord({ name: 'a.example.com', type: 'A', content: '81.2.69.160', ttl: 300 });
    cf.staleDoh('a.example.com', '81.2.69.1');
    expect(await doh.resolve('a.example.com', 'A')).toEqual({
      kind: 'answer',
      addresses: ['81.2.69.1'],
      ttl: 300,
    });
    expect(await doh.resolve('a.example.com', 'AAAA')).toEqual({ kind: 'nodata' }); // other family: live
    cf.staleDoh('a.example.com', null);
    expect(await doh.resolve('a.example.com', 'A')).toEqual({ kind: 'nxdomain' });
    cf.clearStaleDoh('a.example.com');
    expect(await doh.resolve('a.example.com', 'A')).toMatchObject({ addresses: [rec.content] });
  });
});

describe('failures', () => {
  it.each([
    [1, 'FORMERR'],
    [2, 'SERVFAIL'],
    [5, 'REFUSED'],
    [9, 'RCODE 9'],
  ])('Status %i → an error naming %s', async (status, label) => {
    cf.failNext({
      target: 'doh',
      status: 200,
      body: { Status: status, TC: false, RD: true, RA: true, Question: [] },
    });
    const err = await rejection(doh.resolve('home.example.com', 'A'));
    expect(err).toBeInstanceOf(DohError);
    expect(err.message).toContain(`answered ${label} (Status ${status}) for A home.example.com`);
  });

  it.each([
    ['not-json', 'this is not json', /did not answer JSON/],
    ['html', '<html>blocked</html>', /did not answer JSON/],
    ['no-status', JSON.stringify({ Answer: [] }), /malformed JSON .*Status/],
    ['answer-not-array', JSON.stringify({ Status: 0, Answer: 'x' }), /malformed JSON .*Answer/],
    [
      'ttl-missing',
      JSON.stringify({ Status: 0, Answer: [{ name: 'a', type: 1, data: '81.2.69.1' }] }),
      /malformed JSON .*TTL/,
    ],
    [
      'not-an-address',
      JSON.stringify({ Status: 0, Answer: [{ name: 'a', type: 1, TTL: 60, data: 'example.net.' }] }),
      /"example\.net\." as an A record .* not an IPv4 address/,
    ],
    [
      'wrong-family',
      JSON.stringify({ Status: 0, Answer: [{ name: 'a', type: 1, TTL: 60, data: '2001:db8::1' }] }),
      /not an IPv4 address/,
    ],
  ])('malformed: %s', async (_n, body, message) => {
    cf.failNext({ target: 'doh', status: 200, body, headers: { 'content-type': 'application/dns-json' } });
    const err = await rejection(doh.resolve('home.example.com', 'A'));
    expect(err.message).toMatch(message);
  });

  it('an HTTP error status is an error', async () => {
    cf.failNext({ target: 'doh', status: 503, body: 'busy' });
    const err = await rejection(doh.resolve('home.example.com', 'A'));
    expect(err.message).toMatch(/answered HTTP 503 for A home\.example\.com/);
  });

  it('no answer within timeoutMs → HttpTimeoutError', async () => {
    const quick = new DohClient({ url: cf.dohUrl, dispatcher, timeoutMs: 150 });
    cf.failNext({ target: 'doh', hang: true });
    const err = await rejection(quick.resolve('home.example.com', 'A'));
    expect(err).toBeInstanceOf(HttpTimeoutError);
    expect(err.message).toContain('within 150 ms');
  });

  it('a reset → an error naming the resolver', async () => {
    cf.failNext({ target: 'doh', reset: true });
    const err = await rejection(doh.resolve('home.example.com', 'A'));
    expect(err.message).toMatch(/^Could not ask the DoH resolver 127\.0\.0\.1:\d+ for A home\.example\.com/);
  });

  it('API faults do not touch DoH, and DoH faults do not touch the API', async () => {
    cf.failNext({ status: 500 }); // target 'api' by default
    cf.addRecord({ name: 'a.example.com', type: 'A', content: '81.2.69.1' });
    expect(await doh.resolve('a.example.com', 'A')).toMatchObject({ kind: 'answer' });
    expect(cf.pendingFaults).toBe(1);
  });

  it('a cancelled query is an error', async () => {
    const err = await rejection(doh.resolve('a.example.com', 'A', AbortSignal.abort()));
    expect(err.message).toContain('cancelled');
    expect(cf.dohRequests).toEqual([]);
  });
});

describe('against a raw server', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((c) => c()));
  });

  async function raw(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
    const sockets = new Set<Socket>();
    const server = createServer(handler);
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    closers.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
    );
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('asks with accept: application/dns-json and keeps the query the URL already has', async () => {
    const got: IncomingMessage[] = [];
    const base = await raw((req, res) => {
      got.push(req);
      res.writeHead(200, { 'content-type': 'application/dns-json' });
      res.end(
        JSON.stringify({
          Status: 0,
          Answer: [
            { name: 'www.example.com', type: 5, TTL: 30, data: 'home.example.com.' },
            { name: 'home.example.com', type: 1, TTL: 200, data: '81.2.69.160' },
            { name: 'home.example.com', type: 1, TTL: 100, data: '81.2.69.160' },
          ],
        }),
      );
    });
    const client = new DohClient({
      url: `${base}/resolve?ct=application/dns-json`,
      dispatcher,
      timeoutMs: 1_000,
    });
    expect(await client.resolve('www.example.com', 'A')).toEqual({
      kind: 'answer',
      addresses: ['81.2.69.160'],
      ttl: 100,
    });
    expect(got[0]?.headers.accept).toBe('application/dns-json');
    expect(got[0]?.url).toBe('/resolve?ct=application%2Fdns-json&name=www.example.com&type=A');
  });

  it('a socket destroyed before answering → an error', async () => {
    const base = await raw((req) => req.socket.destroy());
    const client = new DohClient({ url: `${base}/dns-query`, dispatcher, timeoutMs: 1_000 });
    await rejection(client.resolve('a.example.com', 'AAAA'));
  });

  it('headers, then silence → HttpTimeoutError', async () => {
    const base = await raw((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/dns-json' });
      res.write('{"Status":');
    });
    const client = new DohClient({ url: `${base}/dns-query`, dispatcher, timeoutMs: 120 });
    expect(await rejection(client.resolve('a.example.com', 'A'))).toBeInstanceOf(HttpTimeoutError);
  });

  it('an oversized answer is refused', async () => {
    const base = await raw((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/dns-json' });
      res.end(`{"Status":0,"Comment":"${'x'.repeat(300 * 1024)}"}`);
    });
    const client = new DohClient({ url: `${base}/dns-query`, dispatcher, timeoutMs: 1_000 });
    const err = await rejection(client.resolve('a.example.com', 'A'));
    expect(err.message).toMatch(/answered more than \d+ bytes for A a\.example\.com/);
  });
});
