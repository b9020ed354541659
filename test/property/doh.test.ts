/**
 * Property (SPEC §3: DoH observes DNS-only records; every answer is validated): whatever a
 * loopback resolver answers — any status, any body, JSON of any shape, a connection cut
 * mid-body — DohClient.resolve gives nxdomain, nodata, or addresses of the asked family with a
 * usable TTL, or rejects with a typed AppError (DohError, or HttpTimeoutError) that has a message.
 */
import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DohClient } from '../../src/dns/doh.js';
import { AppError } from '../../src/errors.js';
import {
  anyText,
  jsonValue,
  nonJsonBody,
  params,
  type ScriptedServer,
  scriptedResponse,
  scriptedServer,
} from './arbitraries.js';

let server: ScriptedServer;
let dispatcher: Agent;
beforeAll(async () => {
  server = await scriptedServer();
  dispatcher = new Agent({ connections: 2 });
});
afterAll(async () => {
  await dispatcher.close();
  await server.close();
});

function field<T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 6, arbitrary: good }, { weight: 1, arbitrary: jsonValue(1) });
}

const rr = fc.record(
  {
    name: field(fc.domain()),
    type: field(fc.constantFrom(1, 28, 5, 16, 1.5, -1)),
    TTL: field(fc.oneof(fc.nat(86400), fc.constantFrom(0, 2 ** 31, 2 ** 53, 1e300, -1, 0.5))),
    data: field(
      fc.oneof(
        fc.ipV4(),
        fc.ipV6(),
        fc.ipV4Extended(),
        fc.domain().map((d) => `${d}.`),
        fc.constantFrom(' 203.0.113.9 ', '::ffff:1.2.3.4', '01.02.03.04', '1.2.3', 'fe80::1%eth0'),
        anyText(20),
      ),
    ),
  },
  { requiredKeys: [] },
);

const dohJson = fc.record(
  {
    Status: field(
      fc.oneof(
        { weight: 5, arbitrary: fc.constant(0) },
        { weight: 2, arbitrary: fc.constantFrom(1, 2, 3, 5, 9, 23) },
      ),
    ),
    TC: field(fc.boolean()),
    Question: field(
      fc.array(fc.record({ name: fc.domain(), type: fc.constantFrom(1, 28) }), { maxLength: 1 }),
    ),
    Answer: field(fc.option(fc.array(rr, { maxLength: 4 }), { nil: null })),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  { weight: 5, arbitrary: dohJson.map((j) => Buffer.from(JSON.stringify(j))) },
  { weight: 1, arbitrary: jsonValue(3).map((v) => Buffer.from(JSON.stringify(v) ?? '')) },
  { weight: 1, arbitrary: nonJsonBody() },
);

/** The documented answer to an A or AAAA question: CNAME links, then addresses of that family. */
function plausible(type: 'A' | 'AAAA'): fc.Arbitrary<Buffer> {
  const address = fc.record({
    name: fc.domain(),
    type: fc.constant(type === 'A' ? 1 : 28),
    TTL: fc.nat(86400),
    data: type === 'A' ? fc.ipV4() : fc.ipV6(),
  });
  const cname = fc.record({ name: fc.domain(), type: fc.constant(5), TTL: fc.nat(3600), data: fc.domain() });
  return fc
    .tuple(fc.array(cname, { maxLength: 2 }), fc.array(address, { minLength: 1, maxLength: 3 }))
    .map(([links, addresses]) =>
      Buffer.from(JSON.stringify({ Status: 0, Answer: [...links, ...addresses] })),
    );
}

function response(type: 'A' | 'AAAA') {
  return scriptedResponse(
    fc.oneof({ weight: 2, arbitrary: plausible(type) }, { weight: 5, arbitrary: body }),
  ).map((r) =>
    // A resolver answers 200 most of the time; the status generator alone would make it rare.
    r.status >= 300 ? r : { ...r, status: 200 },
  );
}

const question = fc
  .tuple(
    fc.oneof({ weight: 4, arbitrary: fc.domain() }, { weight: 1, arbitrary: anyText(30) }),
    fc.constantFrom('A', 'AAAA') as fc.Arbitrary<'A' | 'AAAA'>,
  )
  .chain(([name, type]) => fc.tuple(fc.constant(name), fc.constant(type), response(type)));

describe('DoH client against any answer (property)', () => {
  it('any/status and body/an answer of the asked family, nxdomain, nodata, or a typed error', async () => {
    const outcomes = { answer: 0, other: 0, failed: 0 };
    await fc.assert(
      fc.asyncProperty(question, async ([name, type, r]) => {
        server.script([r], r);
        const client = new DohClient({ url: `${server.url}/dns-query`, dispatcher, timeoutMs: 5_000 });
        let answer: Awaited<ReturnType<DohClient['resolve']>>;
        try {
          answer = await client.resolve(name, type);
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          expect(['DOH_FAILED', 'HTTP_TIMEOUT']).toContain(err.code);
          expect(err.message.trim().length).toBeGreaterThan(0);
          outcomes.failed++;
          return;
        }
        expect(r.status).toBe(200);
        expect(r.reset).toBe(false);
        if (answer.kind !== 'answer') {
          expect(['nxdomain', 'nodata']).toContain(answer.kind);
          outcomes.other++;
          return;
        }
        outcomes.answer++;
        expect(answer.addresses.length).toBeGreaterThan(0);
        expect(new Set(answer.addresses).size).toBe(answer.addresses.length);
        for (const a of answer.addresses) expect(type === 'A' ? isIPv4(a) : isIPv6(a)).toBe(true);
        expect(Number.isSafeInteger(answer.ttl)).toBe(true);
        expect(answer.ttl).toBeGreaterThanOrEqual(0);
      }),
      params(400),
    );
    expect(outcomes.answer).toBeGreaterThan(0);
    expect(outcomes.other).toBeGreaterThan(0);
    expect(outcomes.failed).toBeGreaterThan(0);
  }, 60_000);
});
