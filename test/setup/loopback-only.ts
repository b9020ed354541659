/**
 * Network rule, enforced: in the test process no socket may connect anywhere but loopback
 * (127.0.0.0/8, ::1, localhost) or a Unix socket. A connection to anything else — a default
 * endpoint a test forgot to override — throws before any packet (or DNS query) leaves.
 * Child processes (the CLI tests, Node-RED) get loopback-only environments explicitly.
 */
import net from 'node:net';

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || h.startsWith('127.') || h.startsWith('::ffff:127.');
}

/**
 * Where a `Socket#connect` call would go, from any of its argument shapes: `(options, cb)`,
 * `(port, host, cb)`, `(path, cb)`, or the one array `[options, cb]` that `net.connect()` passes.
 * Returns the refused host, or null when the call is allowed.
 */
export function refusedHost(args: readonly unknown[]): string | null {
  const list = Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
  const first = list[0];
  if (typeof first === 'object' && first !== null) {
    const o = first as { host?: unknown; path?: unknown };
    if (typeof o.path === 'string') return null;
    const host = typeof o.host === 'string' ? o.host : 'localhost';
    return isLoopback(host) ? null : host;
  }
  if (typeof first === 'string' && Number.isNaN(Number(first))) return null; // a Unix socket path
  const host = typeof list[1] === 'string' ? list[1] : 'localhost';
  return isLoopback(host) ? null : host;
}

const original = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
  const refused = refusedHost(args);
  if (refused !== null) {
    throw new Error(
      `test network rule: refused to connect to ${refused} (only loopback is allowed in tests)`,
    );
  }
  return (original as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;
