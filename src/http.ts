/**
 * Small helpers shared by the HTTP adapters (Cloudflare, DoH, IP sources). No policy here.
 */

/** A response body over its size cap: read no further. */
export class BodyTooLargeError extends Error {
  constructor(readonly max: number) {
    super(`answered more than ${max} bytes`);
  }
}

/** Reads a response body as UTF-8, destroying it and throwing BodyTooLargeError past `max` bytes. */
export async function readTextCapped(
  body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown },
  max: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      throw new BodyTooLargeError(max);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The first string `code` along an error's `cause` chain (ECONNREFUSED, UND_ERR_…, ERR_TLS_…). */
export function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A request's signal: aborted after `timeoutMs` or when `parent` aborts. `dispose()` (call it when
 * the request is over) clears the timer and detaches from the parent. Unlike
 * `AbortSignal.any([AbortSignal.timeout(ms), parent])`, nothing stays registered on a long-lived
 * parent signal: on Node 20 each `AbortSignal.any` leaves a WeakRef behind on its sources, which
 * grows the heap by a few hundred bytes per request over months of uptime.
 */
export function deadline(
  timeoutMs: number,
  parent?: AbortSignal,
): { signal: AbortSignal; timeout: AbortSignal; dispose: () => void } {
  const ctrl = new AbortController();
  const timeoutCtrl = new AbortController();
  const timer = setTimeout(() => {
    const reason = new DOMException('The operation timed out.', 'TimeoutError');
    timeoutCtrl.abort(reason);
    ctrl.abort(reason);
  }, timeoutMs);
  timer.unref?.();
  const onParentAbort = () => ctrl.abort(parent?.reason);
  if (parent?.aborted) ctrl.abort(parent.reason);
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: ctrl.signal,
    timeout: timeoutCtrl.signal,
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}
