/**
 * MQTT topic rules alone: filter matching, what may be published to, and the packet size estimate.
 */
import { describe, expect, it } from 'vitest';
import { topicMatches as reExported } from '../../src/mqtt/client.js';
import { isPublishTopic, publishPacketBytes, topicMatches } from '../../src/mqtt/topics.js';

describe('topicMatches', () => {
  it('is still exported by the client module', () => {
    expect(reExported).toBe(topicMatches);
  });

  it.each([
    ['exact/match', 'a/b', 'a/b', true],
    ['exact/miss', 'a/b', 'a/c', false],
    ['plus/one-level', 'a/+/c', 'a/b/c', true],
    ['plus/not-two-levels', 'a/+', 'a/b/c', false],
    ['plus/empty level', 'a/+/c', 'a//c', true],
    ['hash/rest', 'a/#', 'a/b/c', true],
    ['hash/parent-level', 'a/#', 'a', true],
    ['hash/all', '#', 'x/y', true],
    ['dollar/not-by-wildcard', '#', '$SYS/x', false],
    ['dollar/not-by-plus', '+/x', '$SYS/x', false],
    ['dollar/explicit', '$SYS/#', '$SYS/x', true],
    ['shared/stripped', '$share/g/a/+', 'a/b', true],
    ['length/shorter-topic', 'a/b/c', 'a/b', false],
    ['length/longer-topic', 'a/b', 'a/b/c', false],
  ])('%s', (_name, filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe('isPublishTopic', () => {
  it.each<[string, unknown, boolean]>([
    ['ok/plain', 'ddns-watchdog/state', true],
    ['ok/one level', 'x', true],
    ['refused/empty', '', false],
    ['refused/plus', 'ddns-watchdog/+/state', false],
    ['refused/hash', 'ddns-watchdog/#', false],
    ['refused/NUL', 'a\0b', false],
    ['refused/not a string', 42, false],
  ])('%s', (_name, topic, expected) => {
    expect(isPublishTopic(topic)).toBe(expected);
  });
});

describe('publishPacketBytes', () => {
  it.each<[string, string, string | Uint8Array, Uint8Array | undefined, number]>([
    ['ascii/empty payload/13 bytes of overhead', 'a/b', '', undefined, 16],
    ['ascii/string payload/counted in bytes', 'a/b', 'hello', undefined, 21],
    ['utf8/multi-byte topic and payload/bytes, not characters', 'é', '€', undefined, 13 + 2 + 3],
    ['buffer/payload and correlation data/both counted', 't', new Uint8Array(100), new Uint8Array(16), 130],
  ])('%s', (_name, topic, payload, correlation, bytes) => {
    expect(publishPacketBytes(topic, payload, correlation)).toBe(bytes);
  });
});
