/** SPEC §2 "DNS": the Cloudflare records to keep pointed at this network, and how often. */
import { bool, int, oneOf, ttl, url } from '../builders.js';
import { recordList, zoneName } from '../fields.js';
import type { Section } from '../key-spec.js';
import { secret } from '../secrets.js';

const HTTP = ['http', 'https'] as const;

export const DNS = {
  id: 'dns',
  title: 'DNS',
  keys: {
    cloudflare_api_token: {
      schema: secret('cloudflare_api_token'),
      label: 'Cloudflare API token',
      allowed: 'a Cloudflare API token (secret)',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the docs show a literal ${VAR}
      doc: 'Token with Zone·Zone·Read and Zone·DNS·Edit, created at dash.cloudflare.com → My Profile → API Tokens. Without it DNS runs in dry-run, observing through DoH only. Placeholders (`your_token`, `changeme`, `token`, `xxx…`, `<…>`), a `Bearer ` prefix, spaces, an unexpanded `${VAR}` and a Global API Key are rejected.',
    },
    records: {
      schema: recordList(),
      default: [],
      label: 'DNS records',
      allowed: 'host names; in a file also `{name, proxied?, ttl?, zone?}`',
      doc: 'Records to keep pointed at this network, updated in this order, e.g. `home.example.com, *.lab.example.com`. Names are RFC 1035/1123 host names of at least two labels, a leading `*.` allowed; IDNs are converted to punycode, names lower-cased, a trailing dot dropped. Names are Unicode-normalised (NFKC) **before** they are judged, so full-width `１.２.３.４` or `５` is refused as an IP address rather than turned into a record for `1.2.3.4` or `0.0.0.5`. Duplicates are an error.',
    },
    zone: {
      schema: zoneName(),
      computed: { by: 'run', text: 'inferred' },
      label: 'Zone',
      allowed: 'a domain name',
      doc: 'Zone for records that do not name theirs, e.g. `example.com`. Unset: the longest zone the token can see that ends each record name. Every record must lie inside its zone.',
    },
    ip_version: {
      schema: oneOf(['ipv4', 'ipv6', 'both']),
      default: 'ipv4',
      label: 'IP version',
      allowed: '`ipv4`, `ipv6`, `both`',
      doc: 'A, AAAA or both per record; also which public addresses are detected.',
    },
    ttl: {
      schema: ttl(),
      default: 60,
      label: 'TTL',
      allowed: '`1` (or `auto`) or 60..86400',
      doc: 'TTL of records the agent creates. When set explicitly it is also written on updates; unset, an update keeps the record’s TTL.',
    },
    proxied: {
      schema: bool(),
      label: 'Proxied',
      allowed: 'boolean',
      doc: 'Proxied flag of created records; when set, also applied on updates. Unset: updates keep the record’s flag.',
    },
    create_missing_records: {
      schema: bool(),
      default: true,
      label: 'Create missing records',
      allowed: 'boolean',
      doc: 'Create records that do not exist. With `false`, a missing record is reported and left alone.',
    },
    mode: {
      schema: oneOf(['enforce', 'dry-run'], (s) => s.toLowerCase().replace('_', '-')),
      computed: { by: 'parse', text: '`enforce` with a token, else `dry-run`' },
      label: 'Mode',
      allowed: '`enforce`, `dry-run` (`dry_run` accepted)',
      doc: '`dry-run` does everything but write DNS. Set explicitly, `dry-run` also keeps recovery from switching the plug (it says what it would do); the default dry-run without a token is DNS only. `enforce` without a token is an error.',
    },
    interval_seconds: {
      schema: int(1, 86400),
      default: 60,
      label: 'Check interval (seconds)',
      allowed: '1..86400',
      doc: 'Reconcile cadence: how often the public IP is detected and the records compared.',
    },
    jitter_seconds: {
      schema: int(0, 43200, 'a whole number from 0 to half of interval_seconds'),
      default: 5,
      shown: '`5` (at most half the interval)',
      label: 'Jitter (seconds)',
      allowed: '0..interval/2',
      doc: 'Each sleep is drawn from interval ± jitter, so many agents do not call Cloudflare in step. The default is capped at half of a short `interval_seconds`; an explicit value above half the interval is an error.',
    },
    min_update_interval_seconds: {
      schema: int(0, 86400),
      default: 60,
      label: 'Minimum time between writes (seconds)',
      allowed: '0..86400',
      doc: 'Per record, a change of address closer than this to the previous write is deferred, not dropped (a flapping address does not hammer the API). Drift repairs — writing back the content we last wrote after an edit behind our back — are not deferred by it.',
    },
    cloudflare_api_url: {
      schema: url({ schemes: HTTP, example: 'https://api.cloudflare.com/client/v4', trimSlash: true }),
      default: 'https://api.cloudflare.com/client/v4',
      label: 'Cloudflare API URL',
      allowed: 'http(s) URL',
      doc: 'API base (tests and the demo point it at loopback). A trailing `/` is dropped.',
    },
    doh_url: {
      schema: url({ schemes: HTTP, example: 'https://cloudflare-dns.com/dns-query' }),
      default: 'https://cloudflare-dns.com/dns-query',
      label: 'DNS-over-HTTPS URL',
      allowed: 'http(s) URL',
      doc: 'DNS-over-HTTPS JSON endpoint (`accept: application/dns-json`), used to see what the world resolves.',
    },
    http_timeout_ms: {
      schema: int(100, 60000),
      default: 5000,
      label: 'HTTP timeout (ms)',
      allowed: '100..60000',
      doc: 'Deadline of every outbound HTTP request.',
    },
    heartbeat_url: {
      schema: url({ schemes: HTTP, example: 'https://hc-ping.com/<uuid>', hidePath: true, trimSlash: true }),
      label: 'Heartbeat URL',
      allowed: 'http(s) URL',
      doc: 'healthchecks.io / Uptime Kuma push URL, pinged after each good cycle (`/fail` after a failed one), e.g. `https://hc-ping.com/<uuid>`. Shown as scheme and host only: its path is a secret.',
    },
    webhook_url: {
      schema: url({ schemes: HTTP, example: 'https://example.com/hook', hidePath: true }),
      label: 'Webhook URL',
      allowed: 'http(s) URL',
      doc: 'Every event is also POSTed here as JSON. Shown as scheme and host only: its path is a secret.',
    },
    delete_on_stop: {
      schema: bool(),
      default: false,
      label: 'Delete records on stop',
      allowed: 'boolean',
      doc: 'Delete the managed records on a clean stop.',
    },
  },
} satisfies Section;
