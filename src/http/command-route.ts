/**
 * `POST /api/command/<name>` (SPEC §9): the §6 commands from the status page or a script. The
 * server checks who may act, the Origin, the media type and the size; the command itself runs
 * through the injected function, which shares the MQTT command code (one command path).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { COMMAND_NAMES, type CommandName, isCommandName, MAX_COMMAND_BYTES } from '../commands.js';
import type { Logger } from '../log.js';
import { type Access, originProblem } from './auth.js';
import { mediaType, readBody, sendError, sendJson } from './respond.js';

/** A command's answer: the §6 `{command, ok, message, transaction?}`, plus how it failed. */
export interface CommandAnswer {
  command?: string;
  ok: boolean;
  message: string;
  transaction?: string;
  /** `invalid` → 400 (bad payload), `refused` → 409 (e.g. reboot within 5 min), `failed` → 502; default 409. */
  failure?: 'invalid' | 'refused' | 'failed';
}

/** Runs one command with its JSON payload text (the same code MQTT commands go through). */
export type RunCommand = (name: CommandName, payload: string) => Promise<CommandAnswer>;

export const COMMAND_PREFIX = '/api/command/';

export interface CommandDeps {
  commands: RunCommand | undefined;
  log: Logger;
  client: string;
}

export async function commandRoute(
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  access: Extract<Access, { kind: 'allow' }>,
  d: CommandDeps,
): Promise<void> {
  if (!isCommandName(name)) {
    const shown = name.replace(/[^\x21-\x7e]/g, '?').slice(0, 40);
    const message = `There is no command "${shown}": use one of ${COMMAND_NAMES.join(', ')}.`;
    sendError(res, 404, 'unknown_command', message);
    return;
  }
  if (req.method !== 'POST') {
    sendError(res, 405, 'method_not_allowed', 'Commands are sent with POST and a JSON body.', {
      Allow: 'POST',
    });
    return;
  }
  if (access.cannotAct) {
    sendError(res, 403, 'forbidden', access.cannotAct);
    return;
  }
  const forwarded = req.headers['x-forwarded-host'];
  const origin = originProblem({
    origin: req.headers.origin,
    host: req.headers.host,
    forwardedHost: Array.isArray(forwarded) ? forwarded[0] : forwarded,
    via: access.via,
  });
  if (origin) {
    d.log.warn({ command: name, client: d.client }, `Refused an HTTP command: ${origin}`);
    sendError(res, 403, 'forbidden', origin);
    return;
  }
  if (mediaType(req.headers['content-type']) !== 'application/json') {
    const message =
      'Send the command with Content-Type: application/json and a JSON object body ({} for none).';
    sendError(res, 415, 'unsupported_media_type', message);
    return;
  }
  const body = await readBody(req, MAX_COMMAND_BYTES);
  if (body.kind === 'aborted') return;
  if (body.kind === 'too_large') {
    const message = `Commands are limited to ${MAX_COMMAND_BYTES} bytes.`;
    sendJson(res, 413, { command: name, ok: false, message }, { Connection: 'close' });
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    const message = 'The body must be a JSON object ({} when the command takes no options).';
    sendJson(res, 400, { command: name, ok: false, message });
    return;
  }
  if (!d.commands) {
    const message = 'Commands are not available on this server yet; send them over MQTT.';
    sendJson(res, 503, { command: name, ok: false, message });
    return;
  }
  const answer = await d.commands(name, body.text);
  const status = answer.ok
    ? 200
    : answer.failure === 'invalid'
      ? 400
      : answer.failure === 'failed'
        ? 502
        : 409;
  sendJson(res, status, {
    command: answer.command ?? name,
    ok: answer.ok,
    message: answer.message,
    ...(answer.transaction !== undefined ? { transaction: answer.transaction } : {}),
  });
}
