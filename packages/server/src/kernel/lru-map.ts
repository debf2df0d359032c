/**
 * A Map bounded to `capacity` entries that forgets the least recently touched one first: what
 * keeps the per-address limiters' memory flat under traffic from millions of addresses.
 * A Map iterates in insertion order, so re-inserting on every touch makes the first key the
 * least recently used one.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Reads without counting as a touch. */
  peek(key: K): V | undefined {
    return this.entries.get(key);
  }

  /** Stores (or refreshes) the entry as the most recently touched; evicts past capacity. */
  touch(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
