/**
 * Probe targets as text: `host:port` with IPv6 in brackets, the form results carry and
 * `wan_targets` uses. Pure.
 */
import { parseIp } from '../domain/ip.js';

export interface HostPort {
  /** An IP literal, without brackets. */
  readonly host: string;
  readonly port: number;
}

/** `192.168.1.1:80`, `[::1]:443`. */
export function formatTarget(host: string, port?: number): string {
  if (port === undefined) return host;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Reads `1.1.1.1:443` or `[2606:4700::1111]:443`. Null for anything else: probes take IP
 * literals only, so they never depend on DNS.
 */
export function parseTarget(text: string): HostPort | null {
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!match) return null;
  const ip = parseIp(match[1] ?? '');
  const port = Number(match[2]);
  if (!ip || port < 1 || port > 65535) return null;
  if (text.startsWith('[') !== (ip.family === 6)) return null;
  return { host: ip.canonical, port };
}
