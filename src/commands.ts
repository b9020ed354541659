/**
 * MQTT commands (SPEC §6): parsing and validation of `<base>/command/<name>` payloads. Pure:
 * the bridge feeds it bytes and flags, and gets back a typed command or a reason to refuse.
 */
import { z } from 'zod';

export const COMMAND_NAMES = ['sync', 'reboot', 'probe', 'recovery'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export const MAX_COMMAND_BYTES = 4096;

export type Command =
  | { command: 'sync'; records?: string[]; transaction?: string }
  | { command: 'reboot'; offSeconds?: number; transaction?: string }
  | { command: 'probe'; transaction?: string }
  | { command: 'recovery'; enabled: boolean; transaction?: string };

export type ParsedCommand =
  | { kind: 'ok'; value: Command }
  | { kind: 'invalid'; command: string; reason: string; transaction?: string };

/** A handler's answer: published on `<base>/command/result` and returned by the status page. */
export interface CommandAnswer {
  ok: boolean;
  message: string;
  /**
   * With `ok: false`: `refused` (the default) — the agent said no and did nothing; `failed` — it ran
   * and did not work (a DNS sync whose API calls failed, a plug that did not take the command).
   * Only the HTTP face shows the difference (409 or 502); the MQTT answer is the same.
   */
  failure?: 'refused' | 'failed';
}

/** What runs each command (built in src/command-handlers.ts, called by the MQTT bridge). */
export interface CommandHandlers {
  sync(records: string[] | undefined): Promise<CommandAnswer>;
  reboot(offSeconds: number | undefined): Promise<CommandAnswer>;
  probe(): Promise<CommandAnswer>;
  recovery(enabled: boolean): Promise<CommandAnswer>;
}

export interface CommandResult {
  command: string;
  ok: boolean;
  message: string;
  transaction?: string;
}

const transaction = z
  .union([z.string().max(200), z.number()])
  .transform(String)
  .optional();

const SCHEMAS = {
  sync: z.strictObject({
    records: z.array(z.string().min(1).max(253)).min(1).max(1000).optional(),
    transaction,
  }),
  reboot: z.strictObject({
    off_seconds: z.number().int().min(1).max(3600).optional(),
    transaction,
  }),
  probe: z.strictObject({ transaction }),
  recovery: z.strictObject({
    enabled: z.boolean().optional(),
    state: z.enum(['ON', 'OFF', 'on', 'off']).optional(),
    transaction,
  }),
} as const;

const PRESS = new Set(['', 'PRESS', 'press']);

/** Why an empty `reboot` is refused (SPEC §6). */
export const EMPTY_REBOOT =
  'reboot needs PRESS or a JSON object (e.g. {"off_seconds":30}); an empty payload is never acted on, as it is also what clearing a retained reboot by hand sends';
const ON = new Set(['ON', 'on', 'On', 'true', '1']);
const OFF = new Set(['OFF', 'off', 'Off', 'false', '0']);

export function isCommandName(name: string): name is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(name);
}

/**
 * Parses one command payload. `name` is the last topic level. `oversizeBytes`: the payload was too
 * large to be read at all (the MQTT packet cap) and had this many bytes.
 */
export function parseCommand(name: string, payload: Buffer, oversizeBytes?: number): ParsedCommand {
  if (!isCommandName(name)) {
    return {
      kind: 'invalid',
      command: name,
      reason: `unknown command "${name}": use one of ${COMMAND_NAMES.join(', ')}`,
    };
  }
  const size = oversizeBytes ?? payload.length;
  if (size > MAX_COMMAND_BYTES) {
    return {
      kind: 'invalid',
      command: name,
      reason: `payload is ${size} bytes; commands are limited to ${MAX_COMMAND_BYTES} bytes`,
    };
  }
  const text = payload.toString('utf8').trim();

  // Plain payloads: empty (never for reboot) or PRESS for the buttons, ON/OFF for the switch.
  if (name === 'recovery') {
    if (ON.has(text)) return { kind: 'ok', value: { command: 'recovery', enabled: true } };
    if (OFF.has(text)) return { kind: 'ok', value: { command: 'recovery', enabled: false } };
    if (!text.startsWith('{')) {
      return {
        kind: 'invalid',
        command: name,
        reason: `recovery takes ON or OFF (or {"enabled": true|false}), not "${clip(text)}"`,
      };
    }
  } else if (name === 'reboot' && text === '') {
    // SPEC §6: on MQTT 3.1.1 a hand-made clear of a retained `reboot` arrives as an empty,
    // non-retained message. Acting on it would cycle the router; the HA button sends PRESS.
    return { kind: 'invalid', command: name, reason: EMPTY_REBOOT };
  } else if (PRESS.has(text)) {
    return { kind: 'ok', value: { command: name } as Command };
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {
      kind: 'invalid',
      command: name,
      reason: `payload is not valid JSON (send an empty payload, PRESS, or a JSON object): "${clip(text)}"`,
    };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { kind: 'invalid', command: name, reason: 'the JSON payload must be an object' };
  }
  const rawTransaction = (json as Record<string, unknown>).transaction;
  const echoed =
    typeof rawTransaction === 'string' || typeof rawTransaction === 'number'
      ? String(rawTransaction)
      : undefined;
  const parsed = SCHEMAS[name].safeParse(json);
  if (!parsed.success) {
    const reason = parsed.error.issues
      .map((i) => {
        if (i.code === 'unrecognized_keys')
          return `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
        const where = i.path.length > 0 ? `"${i.path.join('.')}"` : 'payload';
        return `${where}: ${i.message}`;
      })
      .join('; ');
    return {
      kind: 'invalid',
      command: name,
      reason,
      ...(echoed !== undefined ? { transaction: echoed } : {}),
    };
  }
  const t = parsed.data.transaction;
  const withT = <T extends object>(v: T): T => (t !== undefined ? { ...v, transaction: t } : v);
  switch (name) {
    case 'sync': {
      const d = parsed.data as z.infer<(typeof SCHEMAS)['sync']>;
      return { kind: 'ok', value: withT({ command: 'sync', ...(d.records ? { records: d.records } : {}) }) };
    }
    case 'reboot': {
      const d = parsed.data as z.infer<(typeof SCHEMAS)['reboot']>;
      return {
        kind: 'ok',
        value: withT({ command: 'reboot', ...(d.off_seconds ? { offSeconds: d.off_seconds } : {}) }),
      };
    }
    case 'probe':
      return { kind: 'ok', value: withT({ command: 'probe' }) };
    case 'recovery': {
      const d = parsed.data as z.infer<(typeof SCHEMAS)['recovery']>;
      const enabled = d.enabled ?? (d.state === undefined ? undefined : d.state.toUpperCase() === 'ON');
      if (enabled === undefined) {
        return {
          kind: 'invalid',
          command: name,
          reason: 'recovery needs "enabled": true|false (or ON/OFF as the payload)',
          ...(t !== undefined ? { transaction: t } : {}),
        };
      }
      return { kind: 'ok', value: withT({ command: 'recovery', enabled }) };
    }
  }
}

/**
 * Runs a parsed command on its handler: the one dispatch the MQTT bridge and `POST
 * /api/command/<name>` share, so both faces get the same answers.
 */
export function dispatchCommand(handlers: CommandHandlers, cmd: Command): Promise<CommandAnswer> {
  switch (cmd.command) {
    case 'sync':
      return handlers.sync(cmd.records);
    case 'reboot':
      return handlers.reboot(cmd.offSeconds);
    case 'probe':
      return handlers.probe();
    case 'recovery':
      return handlers.recovery(cmd.enabled);
  }
}

/** MQTT's limit on a topic name, in UTF-8 bytes. */
const MAX_TOPIC_BYTES = 65_535;

/**
 * Why an MQTT 5 request's response topic is refused, or null when a reply may go there (SPEC §6).
 * The broker's access rules let the agent publish under its own base topic and the discovery prefix,
 * so a reply there would let any client that may send commands overwrite the retained state,
 * availability or discovery config (or loop a reply back in as a command). Refused: anything under
 * `<base>/` other than `<base>/command/result`, anything under `<discovery_prefix>/`, wildcards,
 * NUL, `$` topics (the broker's own) and the empty topic.
 */
export function responseTopicProblem(
  topic: string,
  own: { baseTopic: string; discoveryPrefix: string },
): string | null {
  const shown = `response topic ${JSON.stringify(clip(topic, 100))}`;
  if (topic === '') return 'the response topic is empty; give a topic of your own, e.g. my-app/replies';
  if (/[+#]/.test(topic)) return `${shown} holds a wildcard (+ or #); give a plain topic to reply to`;
  if (topic.includes('\0')) return `${shown} holds a NUL character; give a plain topic to reply to`;
  if (topic.startsWith('$')) return `${shown} starts with $, which is reserved for the broker`;
  if (Buffer.byteLength(topic) > MAX_TOPIC_BYTES) return 'the response topic is longer than MQTT allows';
  const resultTopic = `${own.baseTopic}/command/result`;
  if (topic === resultTopic) return null;
  const roots: Array<[string, string]> = [
    [own.baseTopic, "the agent's own topics"],
    [own.discoveryPrefix, "Home Assistant's discovery topics"],
  ];
  for (const [root, what] of roots) {
    if (topic === root || topic.startsWith(`${root}/`)) {
      return `${shown} is under ${root}/ (${what}), where a reply could overwrite what the agent publishes; reply to a topic of your own (e.g. my-app/replies) or to ${resultTopic}`;
    }
  }
  return null;
}

function clip(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
