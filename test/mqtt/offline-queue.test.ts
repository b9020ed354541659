/**
 * The MQTT offline queue alone: what is kept while the broker is away and the order it goes out.
 */
import { describe, expect, it } from 'vitest';
import { OfflineQueue, type QueuedPublish } from '../../src/mqtt/offline-queue.js';

const state = (topic: string, payload: string): QueuedPublish => ({
  topic,
  payload,
  opts: { retain: true, qos: 1 },
});
const event = (payload: string): QueuedPublish => ({
  topic: 'dw/event',
  payload,
  opts: { retain: false, qos: 1 },
});

describe('OfflineQueue', () => {
  it.each<[string, number, QueuedPublish[], string[], number]>([
    ['empty/nothing queued/nothing sent', 100, [], [], 0],
    [
      'retained/same topic thrice/only the latest',
      100,
      [state('dw/state', 's1'), state('dw/state', 's2'), state('dw/state', 's3')],
      ['dw/state=s3'],
      0,
    ],
    [
      'retained/topic updated later/keeps its first place',
      100,
      [state('dw/a', 'a1'), state('dw/b', 'b1'), state('dw/a', 'a2')],
      ['dw/a=a2', 'dw/b=b1'],
      0,
    ],
    [
      'order/events queued first/retained still go first',
      100,
      [event('e1'), state('dw/state', 's1'), event('e2')],
      ['dw/state=s1', 'dw/event=e1', 'dw/event=e2'],
      0,
    ],
    [
      'bound/one over/oldest event dropped',
      2,
      [event('e1'), event('e2'), event('e3')],
      ['dw/event=e2', 'dw/event=e3'],
      1,
    ],
    [
      'bound/zero/events dropped, retained kept',
      0,
      [event('e1'), state('dw/state', 's1'), event('e2')],
      ['dw/state=s1'],
      2,
    ],
  ])('%s', (_name, bound, added, sent, dropped) => {
    const queue = new OfflineQueue(bound);
    const drops = added.reduce((n, item) => n + queue.add(item), 0);
    expect(drops).toBe(dropped);
    expect(queue.size).toBe(sent.length);
    expect(queue.take().map((q) => `${q.topic}=${String(q.payload)}`)).toEqual(sent);
    expect(queue.size).toBe(0);
  });

  it('clear/a stop/forgets everything and says how much', () => {
    const queue = new OfflineQueue(10);
    queue.add(event('e1'));
    queue.add(state('dw/state', 's1'));
    expect(queue.clear()).toBe(2);
    expect(queue.take()).toEqual([]);
  });
});
