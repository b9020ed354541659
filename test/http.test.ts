import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyTooLargeError, deadline, errorCode, readTextCapped } from '../src/http.js';

describe('deadline', () => {
  it('aborts when the parent aborts, and says it was not a timeout', () => {
    const parent = new AbortController();
    const d = deadline(10_000, parent.signal);
    parent.abort(new Error('stopping'));
    expect(d.signal.aborted).toBe(true);
    expect(d.timeout.aborted).toBe(false);
    d.dispose();
  });

  it('aborts on its timeout with a TimeoutError', async () => {
    const d = deadline(20);
    await new Promise((r) => setTimeout(r, 60));
    expect(d.signal.aborted).toBe(true);
    expect(d.timeout.aborted).toBe(true);
    expect((d.signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('after dispose nothing fires: no timer, and the long-lived parent no longer reaches it', async () => {
    const parent = new AbortController();
    const d = deadline(20, parent.signal);
    d.dispose();
    parent.abort();
    await new Promise((r) => setTimeout(r, 60));
    expect(d.signal.aborted).toBe(false);
  });

  it('an already aborted parent aborts at once', () => {
    const parent = new AbortController();
    parent.abort();
    expect(deadline(1000, parent.signal).signal.aborted).toBe(true);
  });
});

describe('readTextCapped', () => {
  it('reads a body under the cap and refuses one over it', async () => {
    expect(await readTextCapped(Readable.from([Buffer.from('ip=81.2.69.1')]), 100)).toBe('ip=81.2.69.1');
    await expect(
      readTextCapped(Readable.from([Buffer.alloc(60), Buffer.alloc(60)]), 100),
    ).rejects.toBeInstanceOf(BodyTooLargeError);
  });
});

describe('errorCode', () => {
  it('finds the code along the cause chain', () => {
    const inner = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    expect(errorCode(new Error('fetch failed', { cause: inner }))).toBe('ECONNREFUSED');
    expect(errorCode(new Error('plain'))).toBeUndefined();
  });
});
