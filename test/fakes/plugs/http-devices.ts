/**
 * Fake HTTP-switched plugs on 127.0.0.1: a generic plug with an off URL and an on URL (optional
 * Basic login), and an ESPHome node's web server REST API (`POST /switch/<id>/turn_off|turn_on`,
 * https://esphome.io/web-api/, optional Basic login as `web_server: auth:` sets it up).
 */
import type { ServerResponse } from 'node:http';
import type { Clock } from '../../../src/clock.js';
import { basicCredentials, type FakeRequest, type HttpFake, sendJson, startHttpFake } from './http-server.js';
import { Relay } from './relay.js';

function loginRefused(
  req: FakeRequest,
  res: ServerResponse,
  o: { username?: string; password?: string },
): boolean {
  if (o.password === undefined) return false;
  const given = basicCredentials(req.headers.authorization);
  if (given && given.user === (o.username ?? '') && given.password === o.password) return false;
  res.writeHead(401, { 'www-authenticate': 'Basic realm="plug"', 'content-length': '0' });
  res.end();
  return true;
}

export interface FakeHttpPlug extends HttpFake {
  relay: Relay;
}

/** Switches off on `<method> /off`, on on `<method> /on` (any query); other paths 404. */
export async function startFakeHttpPlug(o: {
  clock: Clock;
  method?: string;
  username?: string;
  password?: string;
}): Promise<FakeHttpPlug> {
  const relay = new Relay(o.clock);
  const method = o.method ?? 'GET';
  const http = await startHttpFake((req, res) => {
    if (loginRefused(req, res, o)) return;
    if (req.method !== method) return sendJson(res, 405, { error: `use ${method}` });
    if (req.path === '/off') relay.set(false);
    else if (req.path === '/on') relay.set(true);
    else return sendJson(res, 404, { error: 'no such path' });
    sendJson(res, 200, { relay: relay.on ? 'on' : 'off' });
  });
  return Object.assign(http, { relay });
}

export interface FakeEsphomeWeb extends HttpFake {
  relay: Relay;
}

export async function startFakeEsphomeWeb(o: {
  clock: Clock;
  switchId: string;
  username?: string;
  password?: string;
}): Promise<FakeEsphomeWeb> {
  const relay = new Relay(o.clock);
  const http = await startHttpFake((req, res) => {
    if (loginRefused(req, res, o)) return;
    const m = /^\/switch\/([^/]+)\/(turn_on|turn_off|toggle)$/.exec(req.path);
    if (req.method !== 'POST' || !m?.[1] || decodeURIComponent(m[1]) !== o.switchId) {
      res.writeHead(404, { 'content-length': '0' });
      res.end();
      return;
    }
    relay.set(m[2] === 'turn_on' ? true : m[2] === 'turn_off' ? false : !relay.on);
    res.writeHead(200, { 'content-length': '0' });
    res.end();
  });
  return Object.assign(http, { relay });
}
