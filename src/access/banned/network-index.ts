import { maskWord, type IpNetwork } from './address.js';

/**
 * Networks (and single addresses, as full-length networks) indexed by prefix length: one map
 * per length in use, from the network's masked address to its item. An address is looked up
 * once per length in use, longest first, so 10 000 networks of a few lengths cost a few map
 * lookups rather than 10 000 comparisons. IPv4 keys are numbers; IPv6 keys are the four masked
 * words as text. An IPv4 address whose first octet no network covers is answered before any
 * lookup (a count of networks per first octet): the usual case of a client outside every banned
 * network costs one array read.
 */
export class NetworkIndex<T> {
  readonly #v4 = new Map<number, Map<number, T>>();
  readonly #v6 = new Map<number, Map<string, T>>();
  /** The prefix lengths in use, longest first. */
  #v4Prefixes: number[] = [];
  #v6Prefixes: number[] = [];
  /** IPv4 networks covering each first octet. */
  readonly #v4Octets = new Uint32Array(256);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Whether any IPv4 (4) or IPv6 (6) network is held. */
  has(family: 4 | 6): boolean {
    return (family === 4 ? this.#v4Prefixes : this.#v6Prefixes).length > 0;
  }

  set(network: IpNetwork, item: T): void {
    if (network.family === 4) {
      let byAddress = this.#v4.get(network.prefix);
      if (!byAddress) {
        byAddress = new Map();
        this.#v4.set(network.prefix, byAddress);
        this.#v4Prefixes = [...this.#v4.keys()].sort((a, b) => b - a);
      }
      if (!byAddress.has(network.words[0]!)) {
        this.#size++;
        this.#countOctets(network.words[0]!, network.prefix, 1);
      }
      byAddress.set(network.words[0]!, item);
    } else {
      let byAddress = this.#v6.get(network.prefix);
      if (!byAddress) {
        byAddress = new Map();
        this.#v6.set(network.prefix, byAddress);
        this.#v6Prefixes = [...this.#v6.keys()].sort((a, b) => b - a);
      }
      const key = v6Key(network.words, network.prefix);
      if (!byAddress.has(key)) this.#size++;
      byAddress.set(key, item);
    }
  }

  delete(network: IpNetwork): void {
    if (network.family === 4) {
      const byAddress = this.#v4.get(network.prefix);
      if (!byAddress?.delete(network.words[0]!)) return;
      this.#size--;
      this.#countOctets(network.words[0]!, network.prefix, -1);
      if (byAddress.size === 0) {
        this.#v4.delete(network.prefix);
        this.#v4Prefixes = this.#v4Prefixes.filter((p) => p !== network.prefix);
      }
    } else {
      const byAddress = this.#v6.get(network.prefix);
      if (!byAddress?.delete(v6Key(network.words, network.prefix))) return;
      this.#size--;
      if (byAddress.size === 0) {
        this.#v6.delete(network.prefix);
        this.#v6Prefixes = this.#v6Prefixes.filter((p) => p !== network.prefix);
      }
    }
  }

  clear(): void {
    this.#v4.clear();
    this.#v6.clear();
    this.#v4Prefixes = [];
    this.#v6Prefixes = [];
    this.#v4Octets.fill(0);
    this.#size = 0;
  }

  /** Adds `by` to the count of each first octet the IPv4 network (masked address, prefix) covers. */
  #countOctets(address: number, prefix: number, by: 1 | -1): void {
    const first = maskWord(address, prefix) >>> 24;
    const span = prefix >= 8 ? 1 : 2 ** (8 - prefix);
    for (let o = first; o < first + span; o++) this.#v4Octets[o]! += by;
  }

  /** The item of the longest network holding the address (`readPeerAddress`'s words) that `accept` takes. */
  find(family: 4 | 6, words: Uint32Array, accept: (item: T) => boolean): T | undefined {
    return family === 4 ? this.findV4(words[0]!, accept) : this.findV6(words, accept);
  }

  /** The item of the longest network holding the IPv4 address that `accept` takes. */
  findV4(address: number, accept: (item: T) => boolean): T | undefined {
    if (this.#v4Octets[address >>> 24] === 0) return undefined;
    for (const prefix of this.#v4Prefixes) {
      const item = this.#v4.get(prefix)!.get(maskWord(address, prefix));
      if (item !== undefined && accept(item)) return item;
    }
    return undefined;
  }

  /** The item of the longest network holding the IPv6 address (four words) that `accept` takes. */
  findV6(words: Uint32Array, accept: (item: T) => boolean): T | undefined {
    for (const prefix of this.#v6Prefixes) {
      const item = this.#v6.get(prefix)!.get(v6Key(words, prefix));
      if (item !== undefined && accept(item)) return item;
    }
    return undefined;
  }
}

function v6Key(words: Uint32Array, prefix: number): string {
  return `${maskWord(words[0]!, prefix)}.${maskWord(words[1]!, prefix - 32)}.${maskWord(words[2]!, prefix - 64)}.${maskWord(words[3]!, prefix - 96)}`;
}
