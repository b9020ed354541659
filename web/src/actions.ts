/**
 * The buttons: each posts `api/command/<name>` (relative, so it works under any path prefix) with
 * a JSON body, the same commands and answers as MQTT (§6). The answer is shown in a live region,
 * so screen readers read it out. Reboot asks first in a modal dialog.
 */
import { byId } from './dom.js';
import type { CommandAnswer } from './types.js';

const LABEL: Record<string, string> = {
  sync: 'Sync DNS',
  reboot: 'Reboot router',
  recovery: 'Auto recovery',
  probe: 'Probe',
};

let clearTimer: ReturnType<typeof setTimeout> | undefined;

export function showAnswer(text: string, ok: boolean): void {
  const box = byId('answer');
  box.className = `toast ${ok ? 'ok' : 'bad'}`;
  box.textContent = text;
  clearTimeout(clearTimer);
  clearTimer = setTimeout(() => {
    box.textContent = '';
  }, 20_000);
}

/** Posts one command; resolves with its answer (never throws: network trouble is an answer too). */
export async function postCommand(name: string, body: object): Promise<CommandAnswer & { status: number }> {
  let res: Response;
  try {
    res = await fetch(`api/command/${name}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    return {
      status: 0,
      ok: false,
      message: 'The agent could not be reached; check that it is running, then try again.',
    };
  }
  let answer: Partial<CommandAnswer> = {};
  try {
    answer = (await res.json()) as Partial<CommandAnswer>;
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  return {
    status: res.status,
    ok: res.ok && answer.ok !== false,
    message:
      typeof answer.message === 'string' && answer.message
        ? answer.message
        : `The agent answered HTTP ${res.status} without a message.`,
  };
}

export interface CommandHooks {
  /** The agent said 401: the session ended. */
  onUnauthorized(): void;
}

/** Runs a command from a button: busy while it runs, then the answer in the live region. */
export async function runFromButton(
  button: HTMLButtonElement,
  name: string,
  body: object,
  hooks: CommandHooks,
): Promise<void> {
  if (button.getAttribute('aria-busy') === 'true') return;
  button.setAttribute('aria-busy', 'true');
  const label = LABEL[name] ?? name;
  try {
    const answer = await postCommand(name, body);
    if (answer.status === 401) hooks.onUnauthorized();
    showAnswer(`${label}: ${answer.message}`, answer.ok);
  } finally {
    button.removeAttribute('aria-busy');
  }
}

/** Wires the Reboot button to its confirmation dialog; only "Reboot router" in it sends. */
export function wireReboot(hooks: CommandHooks): void {
  const button = byId<HTMLButtonElement>('reboot');
  const dialog = byId<HTMLDialogElement>('reboot-dialog');
  button.addEventListener('click', () => {
    dialog.returnValue = '';
    dialog.showModal();
  });
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'confirm') void runFromButton(button, 'reboot', {}, hooks);
    else showAnswer('Reboot router: cancelled, nothing was sent.', true);
  });
}
