/**
 * Waiting work served fairly by source (a client address): one first-in-first-out queue per
 * source, and the sources taken in turn (round robin). Whatever one source queues, another
 * source's next item waits for at most one item of each other waiting source.
 *
 * Used where a flood from one address must not hold up everyone else: the password-hashing
 * limiter (`src/authn/password/limiter.ts`) and the admission pacer (`src/access/pacer.ts`).
 */

/** One source's waiting items, first in first out (an array with a moving head). */
class SourceQueue<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head]!;
    this.#head++;
    if (this.#head > 64 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  remove(item: T): boolean {
    const at = this.#items.indexOf(item, this.#head);
    if (at < 0) return false;
    this.#items.splice(at, 1);
    return true;
  }
}

export class FairQueue<T> {
  /** Sources with waiting items, in serving order: the first is served next, then moves to the end. */
  readonly #queues = new Map<string, SourceQueue<T>>();
  #length = 0;

  /** Items waiting, all sources together. */
  get length(): number {
    return this.#length;
  }

  /** Sources with items waiting. */
  get sources(): number {
    return this.#queues.size;
  }

  /** Items waiting from `source`. */
  lengthOf(source: string): number {
    return this.#queues.get(source)?.length ?? 0;
  }

  push(source: string, item: T): void {
    let queue = this.#queues.get(source);
    if (!queue) {
      queue = new SourceQueue<T>();
      this.#queues.set(source, queue);
    }
    queue.push(item);
    this.#length++;
  }

  /** The next item in round-robin order; its source moves to the back of the line, or leaves it when empty. */
  shift(): T | undefined {
    const first = this.#queues.entries().next();
    if (first.done) return undefined;
    const [source, queue] = first.value;
    const item = queue.shift()!;
    this.#length--;
    this.#queues.delete(source);
    if (queue.length > 0) this.#queues.set(source, queue);
    return item;
  }

  /** Take a waiting item out (its caller gave up); false when it is not waiting. */
  remove(source: string, item: T): boolean {
    const queue = this.#queues.get(source);
    if (!queue?.remove(item)) return false;
    this.#length--;
    if (queue.length === 0) this.#queues.delete(source);
    return true;
  }
}
