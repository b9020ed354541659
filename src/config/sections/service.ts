/** SPEC §2 "Service": where state is kept, the HTTP server, logging. */
import { int, oneOf, text } from '../builders.js';
import { bindHost } from '../fields.js';
import type { Section } from '../key-spec.js';
import { secret } from '../secrets.js';

export const SERVICE = {
  id: 'service',
  title: 'Service',
  keys: {
    state_dir: {
      schema: text('give a writable directory, e.g. ./data'),
      computed: { by: 'parse', text: '`/data` in the add-on, else `./data`' },
      label: 'State directory',
      allowed: 'directory',
      doc: 'Where state is kept across restarts; it must be writable, e.g. `/var/lib/ddns-watchdog`.',
    },
    http_port: {
      schema: int(0, 65535, 'a port from 1 to 65535, or 0 to turn the HTTP server off'),
      default: 0,
      shown: '`0` (off; 8080 in the container image; the Ingress port in the add-on)',
      label: 'HTTP port',
      allowed: '0..65535',
      doc: '`GET /healthz`, `/metrics`, `/state` and the status page; `0` turns the server off.',
    },
    http_host: {
      schema: bindHost('127.0.0.1'),
      default: '127.0.0.1',
      shown: '`127.0.0.1` (`0.0.0.0` in the add-on; the container image sets `HTTP_HOST=0.0.0.0`)',
      label: 'HTTP address',
      allowed: 'IP address (IPv6 with or without brackets) or host name',
      doc: "Where the HTTP server listens. In YAML, quote an IPv6 address: `http_host: '::'`.",
    },
    http_token: {
      schema: secret('http_token'),
      label: 'HTTP token',
      allowed: 'a token of your choice (secret)',
      doc: 'When set, everything but `/healthz` needs it. No effect in the add-on, which serves Ingress only (Home Assistant signs you in). Placeholders (`changeme`, `your_token`, …), a `Bearer ` prefix and spaces are rejected.',
    },
    log_level: {
      schema: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
      default: 'info',
      label: 'Log level',
      allowed: '`trace`, `debug`, `info`, `warn`, `error`, `fatal`, `silent`',
      doc: 'The least severe level written to the log.',
    },
    log_format: {
      schema: oneOf(['pretty', 'json']),
      computed: { by: 'parse', text: '`pretty` on a terminal, else `json`' },
      label: 'Log format',
      allowed: '`pretty`, `json`',
      doc: '`json` writes one JSON object per line (for log collectors); `pretty` writes readable lines.',
    },
  },
} satisfies Section;
