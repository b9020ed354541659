/**
 * A fake Home Assistant services API on 127.0.0.1: `POST /api/services/<domain>/<service>` with
 * `Authorization: Bearer <ha token>` (Core reached directly at ha_url), and the same under
 * `/core/api/...` with the add-on's SUPERVISOR_TOKEN (Core reached through the Supervisor). Body
 * `{"entity_id": …}`; answers 200 with the changed states, 401 for a wrong token, 400 for an unknown
 * service or entity — as Core does (https://developers.home-assistant.io/docs/api/rest/).
 */
import type { Clock } from '../../../src/clock.js';
import { type HttpFake, sendJson, startHttpFake } from './http-server.js';
import { Relay } from './relay.js';

export interface FakeHomeAssistant extends HttpFake {
  /** The entities it knows, each with its relay. */
  entities: Map<string, Relay>;
  /** A Core that is down behind the Supervisor: /core/api answers 502. */
  settings: { coreDown: boolean };
}

export async function startFakeHomeAssistant(o: {
  clock: Clock;
  haToken: string;
  supervisorToken: string;
  entities: string[];
}): Promise<FakeHomeAssistant> {
  const entities = new Map(o.entities.map((e) => [e, new Relay(o.clock)]));
  const settings = { coreDown: false };
  const services: Record<string, readonly string[]> = {
    switch: ['turn_on', 'turn_off', 'toggle'],
    light: ['turn_on', 'turn_off', 'toggle'],
    input_boolean: ['turn_on', 'turn_off', 'toggle'],
  };
  const http = await startHttpFake((req, res) => {
    const viaSupervisor = req.path.startsWith('/core/api/');
    const rest = viaSupervisor ? req.path.slice('/core'.length) : req.path;
    if (viaSupervisor && settings.coreDown) return sendJson(res, 502, '502: Bad Gateway');
    const want = `Bearer ${viaSupervisor ? o.supervisorToken : o.haToken}`;
    if (req.headers.authorization !== want) return sendJson(res, 401, '401: Unauthorized');
    const m = /^\/api\/services\/([a-z_]+)\/([a-z_]+)$/.exec(rest);
    if (req.method !== 'POST' || !m?.[1] || !m[2]) return sendJson(res, 404, '404: Not Found');
    const [domain, service] = [m[1], m[2]];
    if (!services[domain]?.includes(service)) {
      return sendJson(res, 400, { message: `Service ${domain}.${service} not found.` });
    }
    const entityId = (JSON.parse(req.body || '{}') as { entity_id?: string }).entity_id ?? '';
    const relay = entities.get(entityId);
    if (!relay || !entityId.startsWith(`${domain}.`)) {
      return sendJson(res, 400, {
        message: `Referenced entities ${entityId} are missing or not currently available`,
      });
    }
    relay.set(service === 'turn_on' ? true : service === 'turn_off' ? false : !relay.on);
    sendJson(res, 200, [{ entity_id: entityId, state: relay.on ? 'on' : 'off', attributes: {} }]);
  });
  return Object.assign(http, { entities, settings });
}
