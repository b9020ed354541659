/**
 * Fake Shelly plugs on 127.0.0.1.
 *
 * Gen1 (https://shelly-api-docs.shelly.cloud/gen1/): `GET /relay/0?turn=on|off[&timer=s]` answers
 * the relay's JSON status; a `timer` flips the relay back after `s` seconds of the test's clock.
 * With a login set, requests need HTTP Basic credentials, else 401.
 *
 * Gen2+ (https://shelly-api-docs.shelly.cloud/gen2/): `GET /rpc/Switch.Set?id=0&on=…[&toggle_after=s]`
 * answers `{"was_on":…}`. With a password set, every request needs an RFC 7616 SHA-256 Digest
 * answer to the device's challenge (realm = device id, user `admin`); this fake checks the response
 * hash itself (not with the code under test), so a wrong password or a wrong uri is refused.
 */
import { createHash, randomInt } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Clock } from '../../../src/clock.js';
import { basicCredentials, type FakeRequest, type HttpFake, sendJson, startHttpFake } from './http-server.js';
import { Relay } from './relay.js';

interface FlipBack {
  relay: Relay;
  clock: Clock;
  timer: AbortController | undefined;
}

/** Switches the relay and arms (or cancels) the flip-back timer, as both generations do. */
function switchRelay(f: FlipBack, on: boolean, seconds: number | undefined): void {
  f.timer?.abort();
  f.timer = undefined;
  f.relay.set(on);
  if (seconds !== undefined && seconds > 0) {
    const ctrl = new AbortController();
    f.timer = ctrl;
    void f.clock.sleep(seconds * 1000, ctrl.signal).then(() => {
      if (ctrl.signal.aborted) return;
      f.timer = undefined;
      f.relay.set(!on);
    });
  }
}

export interface FakeShellyGen1 extends HttpFake {
  relay: Relay;
  /** honoursTimer false: `timer` is ignored (an old firmware), and the answer says has_timer false. */
  settings: { honoursTimer: boolean };
}

export async function startFakeShellyGen1(o: {
  clock: Clock;
  username?: string;
  password?: string;
}): Promise<FakeShellyGen1> {
  const f: FlipBack = { relay: new Relay(o.clock), clock: o.clock, timer: undefined };
  const settings = { honoursTimer: true };
  const http = await startHttpFake((req, res) => {
    if (o.password !== undefined) {
      const given = basicCredentials(req.headers.authorization);
      if (!given || given.user !== (o.username ?? 'admin') || given.password !== o.password) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="shelly1-B929CC"', 'content-length': '0' });
        res.end();
        return;
      }
    }
    if (req.path !== '/relay/0') return sendJson(res, 404, 'Not Found');
    const turn = req.query.get('turn');
    const timer = req.query.has('timer') ? Number(req.query.get('timer')) : undefined;
    if (turn === 'on' || turn === 'off')
      switchRelay(f, turn === 'on', settings.honoursTimer ? timer : undefined);
    sendJson(res, 200, {
      ison: f.relay.on,
      has_timer: f.timer !== undefined,
      timer_started: 0,
      timer_duration: f.timer ? timer : 0,
      timer_remaining: f.timer ? timer : 0,
      source: 'http',
    });
  });
  return Object.assign(http, { relay: f.relay, settings });
}

export interface FakeShellyGen2 extends HttpFake {
  relay: Relay;
  deviceId: string;
  /** authenticated: requests whose digest answer the fake accepted. */
  stats: { authenticated: number };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Reads `Digest a="b", c=d` into a map (enough for what clients send). */
function digestParams(header: string): Map<string, string> {
  const out = new Map<string, string>();
  const body = header.replace(/^Digest\s+/i, '');
  for (const m of body.matchAll(/([a-zA-Z0-9_-]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    const key = m[1];
    if (key) out.set(key.toLowerCase(), (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1'));
  }
  return out;
}

export async function startFakeShellyGen2(o: {
  clock: Clock;
  password?: string;
  deviceId?: string;
}): Promise<FakeShellyGen2> {
  const deviceId = o.deviceId ?? 'shellyplusplugs-e465b8b961a4';
  const f: FlipBack = { relay: new Relay(o.clock), clock: o.clock, timer: undefined };
  const nonces = new Set<string>();
  const stats = { authenticated: 0 };

  const challenge = (res: ServerResponse) => {
    const nonce = String(randomInt(1_000_000_000, 2_000_000_000));
    nonces.add(nonce);
    const header = `Digest qop="auth", realm="${deviceId}", nonce="${nonce}", algorithm=SHA-256`;
    sendJson(res, 401, { code: 401, message: 'Unauthorized' }, { 'www-authenticate': header });
  };

  const verified = (req: FakeRequest): boolean => {
    const header = req.headers.authorization;
    if (typeof header !== 'string' || !/^Digest\s/i.test(header)) return false;
    const p = digestParams(header);
    const nonce = p.get('nonce') ?? '';
    if (p.get('username') !== 'admin' || p.get('realm') !== deviceId || !nonces.has(nonce)) return false;
    if (p.get('algorithm') !== 'SHA-256' || p.get('qop') !== 'auth' || p.get('uri') !== req.target)
      return false;
    const ha1 = sha256(`admin:${deviceId}:${o.password}`);
    const ha2 = sha256(`${req.method}:${req.target}`);
    const expected = sha256(`${ha1}:${nonce}:${p.get('nc')}:${p.get('cnonce')}:auth:${ha2}`);
    return p.get('response') === expected;
  };

  const http = await startHttpFake((req, res) => {
    if (o.password !== undefined) {
      if (!verified(req)) return challenge(res);
      stats.authenticated++;
    }
    if (req.path !== '/rpc/Switch.Set') {
      return sendJson(res, 404, { code: 404, message: `No handler for ${req.path}` });
    }
    if (req.query.get('id') !== '0') {
      return sendJson(res, 500, {
        code: -105,
        message: `Argument 'id', value ${req.query.get('id')} not found!`,
      });
    }
    const on = req.query.get('on');
    if (on !== 'true' && on !== 'false') {
      return sendJson(res, 500, { code: -103, message: "Missing required argument 'on'!" });
    }
    const wasOn = f.relay.on;
    const after = req.query.has('toggle_after') ? Number(req.query.get('toggle_after')) : undefined;
    switchRelay(f, on === 'true', after);
    sendJson(res, 200, { was_on: wasOn });
  });
  return Object.assign(http, { relay: f.relay, deviceId, stats });
}
