/**
 * STOMP destinations are MQTT topics (SEND) and topic filters (SUBSCRIBE). These checks give a
 * reason a client can read instead of letting a bad topic reach the broker.
 */

const MAX_TOPIC_BYTES = 65535;

function commonProblem(topic: string): string | undefined {
  if (topic.length === 0) return 'is empty';
  if (topic.includes('\0')) return 'contains a NUL character';
  if (Buffer.byteLength(topic, 'utf8') > MAX_TOPIC_BYTES) return `is longer than ${MAX_TOPIC_BYTES} bytes`;
  return undefined;
}

/** Why `topic` cannot be published to, or undefined when it can. */
export function topicNameProblem(topic: string): string | undefined {
  const common = commonProblem(topic);
  if (common) return common;
  if (topic.includes('+') || topic.includes('#')) return 'contains a wildcard (+ or #), which SEND does not allow';
  return undefined;
}

/** Why `filter` cannot be subscribed to, or undefined when it can. */
export function topicFilterProblem(filter: string): string | undefined {
  const common = commonProblem(filter);
  if (common) return common;
  if (filter.startsWith('$share/') || filter.startsWith('$queue/')) return 'is a shared subscription, which the STOMP gateway does not support';
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return 'uses # other than as the whole last level';
    if (level.includes('+') && level !== '+') return 'uses + other than as a whole level';
  }
  return undefined;
}

/** MQTT-4.7.2-1: a filter starting with a wildcard does not match topics starting with `$`. */
export function hidesDollarTopics(filter: string): boolean {
  return filter.startsWith('+') || filter.startsWith('#');
}
