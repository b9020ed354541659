/**
 * One socket attempt under an AbortSignal, shared by the TCP and TLS probes: waits for the ready
 * event (`connect` or `secureConnect`), an error, a close, or the abort — whichever is first —
 * and destroys the socket on every path before it resolves. Never rejects.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { errorCode } from './classify.js';

export type SocketAttempt =
  | { ok: true; elapsedMs: number }
  | { ok: false; code: string | null; elapsedMs: number; timedOut: boolean };

export function attemptSocket(
  signal: AbortSignal,
  open: () => Socket,
  readyEvent: 'connect' | 'secureConnect',
): Promise<SocketAttempt> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  if (signal.aborted) return Promise.resolve({ ok: false, code: null, elapsedMs: 0, timedOut: true });

  return new Promise<SocketAttempt>((resolve) => {
    let socket: Socket | undefined;
    let settled = false;
    const finish = (outcome: SocketAttempt) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      // The error listener stays: a destroyed socket must never raise an unhandled 'error'.
      socket?.destroy();
      resolve(outcome);
    };
    const onAbort = () => finish({ ok: false, code: null, elapsedMs: elapsed(), timedOut: true });
    signal.addEventListener('abort', onAbort, { once: true });

    try {
      socket = open();
    } catch (err) {
      finish({ ok: false, code: errorCode(err) ?? 'ERR_SOCKET', elapsedMs: elapsed(), timedOut: false });
      return;
    }
    socket.on('error', (err) =>
      finish({ ok: false, code: errorCode(err) ?? 'ERR_SOCKET', elapsedMs: elapsed(), timedOut: false }),
    );
    socket.once(readyEvent, () => finish({ ok: true, elapsedMs: elapsed() }));
    // Closed before it was ready, without an error of its own (a peer that hung up at once).
    socket.once('close', () =>
      finish({ ok: false, code: 'ECONNRESET', elapsedMs: elapsed(), timedOut: false }),
    );
  });
}
