/**
 * Retained messages indexed by topic level: a trie keyed by the words between `/`.
 *
 * A SUBSCRIBE costs what its matches cost, not what the store holds: a literal
 * filter is one walk down as many nodes as it has levels; `+` fans out over the
 * children of one node only; `#` hands back the whole subtree below its parent
 * level, and that subtree holds nothing but matching messages (empty branches
 * are pruned on delete), so replay to a `#` subscriber is linear in what it
 * receives. This file knows MQTT topic rules and nothing of aedes
 * (`persistence.ts` adapts it).
 *
 * Rules kept here:
 * - Levels are split on every `/`; an empty level is a real level, so `a//b`,
 *   `a/b` and `/a/b` are three different topics [MQTT-4.7.1-1, 4.7.3].
 * - `+` matches exactly one level, an empty one included [MQTT-4.7.1.3].
 * - `#` matches its parent level and any number of child levels: `a/#` matches
 *   `a`, `a/b` and `a/b/c` [MQTT-4.7.1-2].
 * - A filter that starts with `+` or `#` does not match topics that start with
 *   `$` [MQTT-4.7.2-1]; `$SYS/#` or `$x/+` do.
 * Filters are assumed valid (aedes refuses malformed ones before they get here).
 */

class TopicNode<T> {
  /** Child levels by their word; absent while the node has none (most leaves). */
  children: Map<string, TopicNode<T>> | undefined = undefined;
  /** The message retained on the topic that ends at this node. */
  value: T | undefined = undefined;
}

export class RetainedIndex<T> {
  private root = new TopicNode<T>();
  private count = 0;

  /** How many topics hold a retained message. */
  get size(): number {
    return this.count;
  }

  /** Retains `value` on `topic`, replacing what was there. */
  set(topic: string, value: T): void {
    let node = this.root;
    let start = 0;
    for (;;) {
      const slash = topic.indexOf('/', start);
      const word = slash < 0 ? topic.slice(start) : topic.slice(start, slash);
      let children = node.children;
      if (children === undefined) node.children = children = new Map();
      let child = children.get(word);
      if (child === undefined) children.set(word, (child = new TopicNode<T>()));
      node = child;
      if (slash < 0) break;
      start = slash + 1;
    }
    if (node.value === undefined) this.count++;
    node.value = value;
  }

  /** The message retained on exactly `topic` (no wildcards). */
  get(topic: string): T | undefined {
    return this.find(topic)?.value;
  }

  /** Removes the message on `topic`; nodes left with neither a message nor children go too. */
  delete(topic: string): boolean {
    const path: TopicNode<T>[] = [this.root];
    const words = topic.split('/');
    let node: TopicNode<T> | undefined = this.root;
    for (const word of words) {
      node = node.children?.get(word);
      if (node === undefined) return false;
      path.push(node);
    }
    if (node.value === undefined) return false;
    node.value = undefined;
    this.count--;
    // Prune upwards, so every node left below the root leads to at least one message.
    for (let i = words.length; i > 0; i--) {
      const n = path[i]!;
      if (n.value !== undefined || (n.children !== undefined && n.children.size > 0)) break;
      const parent = path[i - 1]!;
      parent.children!.delete(words[i - 1]!);
      if (parent.children!.size === 0) parent.children = undefined;
    }
    return true;
  }

  clear(): void {
    this.root = new TopicNode<T>();
    this.count = 0;
  }

  /**
   * Every message whose topic matches `filter`, lazily (a stream pulls as it
   * drains). Each matching message is yielded once per call.
   */
  *match(filter: string): Generator<T, void, undefined> {
    if (filter.indexOf('+') < 0 && filter.indexOf('#') < 0) {
      // A literal filter is a single walk down [MQTT-4.7.1].
      const value = this.find(filter)?.value;
      if (value !== undefined) yield value;
      return;
    }
    const words = filter.split('/');
    const last = words.length;
    // Depth-first over the branches the filter allows, with an explicit stack.
    const nodes: TopicNode<T>[] = [this.root];
    const levels: number[] = [0];
    while (nodes.length > 0) {
      const node = nodes.pop()!;
      const level = levels.pop()!;
      if (level === last) {
        if (node.value !== undefined) yield node.value;
        continue;
      }
      const word = words[level]!;
      if (word === '#') {
        // The parent level itself, then everything below it [MQTT-4.7.1-2].
        yield* subtree(node, level === 0);
        continue;
      }
      const children = node.children;
      if (children === undefined) continue;
      if (word === '+') {
        for (const [key, child] of children) {
          if (level === 0 && key.startsWith('$')) continue; // [MQTT-4.7.2-1]
          nodes.push(child);
          levels.push(level + 1);
        }
      } else {
        const child = children.get(word);
        if (child !== undefined) {
          nodes.push(child);
          levels.push(level + 1);
        }
      }
    }
  }

  private find(topic: string): TopicNode<T> | undefined {
    let node: TopicNode<T> | undefined = this.root;
    let start = 0;
    for (;;) {
      const slash = topic.indexOf('/', start);
      node = node.children?.get(slash < 0 ? topic.slice(start) : topic.slice(start, slash));
      if (node === undefined || slash < 0) return node;
      start = slash + 1;
    }
  }
}

/**
 * `top`'s message and every message below it. At the root (`#` as the whole
 * filter) the `$` topics are left out [MQTT-4.7.2-1]; the root holds no message.
 */
function* subtree<T>(top: TopicNode<T>, atRoot: boolean): Generator<T, void, undefined> {
  const stack: TopicNode<T>[] = [];
  if (atRoot) {
    if (top.children === undefined) return;
    for (const [key, child] of top.children) if (!key.startsWith('$')) stack.push(child);
  } else {
    stack.push(top);
  }
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.value !== undefined) yield node.value;
    if (node.children !== undefined) for (const child of node.children.values()) stack.push(child);
  }
}
