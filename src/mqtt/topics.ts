/**
 * MQTT topic rules, and nothing else: which topics a filter matches, and which topics may be
 * published to. Pure: no I/O, no mqtt.js.
 */

/**
 * MQTT topic filter matching: `+` one level, `#` the rest (including the parent level); filters
 * starting with a wildcard do not match topics starting with `$`. `$share/<group>/` is stripped.
 */
export function topicMatches(filter: string, topic: string): boolean {
  let f = filter;
  if (f.startsWith('$share/')) f = f.split('/').slice(2).join('/');
  if (topic.startsWith('$') && (f.startsWith('+') || f.startsWith('#'))) return false;
  const fl = f.split('/');
  const tl = topic.split('/');
  for (let i = 0; i < fl.length; i++) {
    const level = fl[i];
    if (level === '#') return true;
    if (i >= tl.length) return false;
    if (level !== '+' && level !== tl[i]) return false;
  }
  return fl.length === tl.length;
}

/** A topic that may be published to: a non-empty string without `+`, `#` or NUL. */
export function isPublishTopic(topic: unknown): boolean {
  return typeof topic === 'string' && topic !== '' && !/[+#]/.test(topic) && !topic.includes('\0');
}

/**
 * An upper bound of a PUBLISH packet's size: fixed header (≤ 5) + topic length (2) + packet id (2)
 * + MQTT 5 properties (≤ 4 + correlation data) + topic + payload.
 */
export function publishPacketBytes(
  topic: string,
  payload: string | Uint8Array,
  correlationData?: Uint8Array,
): number {
  const payloadBytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  return 13 + Buffer.byteLength(topic) + payloadBytes + (correlationData?.length ?? 0);
}
