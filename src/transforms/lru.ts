/**
 * A bounded map that forgets the least recently used key (a Map keeps
 * insertion order: touching a key moves it to the end, the first key is the
 * oldest). Every keyed transform state lives in one; evictions are counted
 * by the owner.
 */
export class Lru<V> {
  readonly #map = new Map<string, V>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value, marked as just used. */
  get(k: string): V | undefined {
    const v = this.#map.get(k);
    if (v !== undefined) {
      this.#map.delete(k);
      this.#map.set(k, v);
    }
    return v;
  }

  /** Set as the most recent; returns the entry it evicted to stay within max, if any. */
  set(k: string, v: V): [string, V] | undefined {
    this.#map.delete(k);
    this.#map.set(k, v);
    if (this.#map.size <= this.#max) return undefined;
    const [ok, ov] = this.#map.entries().next().value as [string, V];
    this.#map.delete(ok);
    return [ok, ov];
  }

  delete(k: string): void {
    this.#map.delete(k);
  }

  /** Oldest first. */
  entries(): IterableIterator<[string, V]> {
    return this.#map.entries();
  }

  /** The least recently used entry. */
  oldest(): [string, V] | undefined {
    return this.#map.entries().next().value;
  }
}
