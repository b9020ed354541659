/**
 * Server-Sent Events (`GET /events`, SPEC §9): the status page follows the same state and events
 * as MQTT. Each client gets `state` first, then every pushed message, and a comment line every
 * 15 s so proxies (Ingress among them) keep the stream open. A client that stops reading is
 * dropped rather than buffered without bound; everything is cleaned up when a client leaves.
 */
import type { ServerResponse } from 'node:http';
import type { Clock } from '../clock.js';
import type { AgentEvent } from '../events.js';
import type { Logger } from '../log.js';
import type { StatusDocument } from '../status.js';

/** What the agent pushes: the whole §6 state (`<base>/state`) or one §6 event (`<base>/event`). */
export type SseMessage = { event: 'state'; data: StatusDocument } | { event: 'event'; data: AgentEvent };

/** Subscribes a listener; returns the function that unsubscribes it. */
export type SubscribeEvents = (listener: (message: SseMessage) => void) => () => void;

export const SSE_HEARTBEAT_MS = 15_000;
/** How long the browser waits before reconnecting after the stream drops. */
export const SSE_RETRY_MS = 5_000;
/** A client that leaves this much unread is dropped (it reconnects and gets the state afresh). */
export const SSE_MAX_BUFFERED_BYTES = 1024 * 1024;

export interface SseHubOptions {
  clock: Clock;
  logger: Logger;
  subscribe: SubscribeEvents | undefined;
  maxClients: number;
  heartbeatMs?: number;
}

export class SseHub {
  readonly #o: SseHubOptions;
  readonly #clients = new Set<ServerResponse>();
  readonly #stops = new Map<ServerResponse, () => void>();
  #unsubscribe: (() => void) | null = null;

  constructor(options: SseHubOptions) {
    this.#o = options;
  }

  get clients(): number {
    return this.#clients.size;
  }

  get full(): boolean {
    return this.#clients.size >= this.#o.maxClients;
  }

  /** Takes over `res`: headers, the first `state`, pushes and heartbeats until the client leaves. */
  open(res: ServerResponse, initial: StatusDocument): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: ${SSE_RETRY_MS}\n\n`);
    this.#clients.add(res);
    this.#ensureSubscribed();
    this.#send(res, { event: 'state', data: initial });

    const stop = new AbortController();
    const cleanup = () => {
      stop.abort();
      this.#clients.delete(res);
      this.#stops.delete(res);
      if (this.#clients.size === 0) this.#unsubscribeAll();
    };
    this.#stops.set(res, () => {
      cleanup();
      res.end();
    });
    res.on('close', cleanup);
    void this.#heartbeat(res, stop.signal);
  }

  /** Ends every stream (server shutdown). */
  closeAll(): void {
    for (const stop of [...this.#stops.values()]) stop();
    this.#unsubscribeAll();
  }

  #ensureSubscribed(): void {
    if (this.#unsubscribe || !this.#o.subscribe) return;
    this.#unsubscribe = this.#o.subscribe((message) => {
      for (const res of this.#clients) this.#send(res, message);
    });
  }

  #unsubscribeAll(): void {
    const un = this.#unsubscribe;
    this.#unsubscribe = null;
    un?.();
  }

  #send(res: ServerResponse, message: SseMessage): void {
    let data: string;
    try {
      data = JSON.stringify(message.data);
    } catch (err) {
      this.#o.logger.error(
        { err, event: message.event },
        'Could not encode a status-page update; it was not sent. This is a bug: please report it with this line.',
      );
      return;
    }
    this.#write(res, `event: ${message.event}\ndata: ${data}\n\n`);
  }

  #write(res: ServerResponse, text: string): void {
    if (res.writableEnded || res.destroyed) return;
    if (res.writableLength > SSE_MAX_BUFFERED_BYTES) {
      this.#o.logger.info(
        'A status-page client stopped reading its live updates; it was disconnected and will get the current state when it reconnects.',
      );
      res.destroy();
      return;
    }
    res.write(text);
  }

  async #heartbeat(res: ServerResponse, signal: AbortSignal): Promise<void> {
    const every = this.#o.heartbeatMs ?? SSE_HEARTBEAT_MS;
    while (!signal.aborted) {
      await this.#o.clock.sleep(every, signal);
      if (signal.aborted) return;
      this.#write(res, ': heartbeat\n\n');
    }
  }
}
