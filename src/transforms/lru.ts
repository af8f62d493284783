/**
 * A bounded map that forgets the least recently used key: a Map from key to
 * node, the nodes in a doubly linked list from least to most recently used.
 * Every keyed transform state lives in one; evictions are counted by the
 * owner.
 *
 * Not a bare Map in insertion order (touch = delete + set, oldest =
 * `keys().next()`): V8 leaves deleted entries in place until it rehashes,
 * and each `keys().next()` walks over all of them from the start, which made
 * a dedupe at 100k keys cost ~7 us per record (bench/, `--only transforms`).
 */
interface Node<V> {
  k: string;
  v: V;
  prev: Node<V> | undefined;
  next: Node<V> | undefined;
}

export class Lru<V> {
  readonly #map = new Map<string, Node<V>>();
  readonly #max: number;
  /** Least recently used. */
  #head: Node<V> | undefined;
  /** Most recently used. */
  #tail: Node<V> | undefined;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value, marked as just used. */
  get(k: string): V | undefined {
    const n = this.#map.get(k);
    if (n === undefined) return undefined;
    this.#toTail(n);
    return n.v;
  }

  /** Set as the most recent; returns the entry it evicted to stay within max, if any. */
  set(k: string, v: V): [string, V] | undefined {
    const n = this.#map.get(k);
    if (n !== undefined) {
      n.v = v;
      this.#toTail(n);
      return undefined;
    }
    const node: Node<V> = { k, v, prev: this.#tail, next: undefined };
    if (this.#tail !== undefined) this.#tail.next = node;
    else this.#head = node;
    this.#tail = node;
    this.#map.set(k, node);
    if (this.#map.size <= this.#max) return undefined;
    const old = this.#head!;
    this.#unlink(old);
    this.#map.delete(old.k);
    return [old.k, old.v];
  }

  delete(k: string): void {
    const n = this.#map.get(k);
    if (n === undefined) return;
    this.#unlink(n);
    this.#map.delete(k);
  }

  /** Least recently used first. */
  *entries(): IterableIterator<[string, V]> {
    for (let n = this.#head; n !== undefined; n = n.next) yield [n.k, n.v];
  }

  /** The least recently used entry. */
  oldest(): [string, V] | undefined {
    const h = this.#head;
    return h === undefined ? undefined : [h.k, h.v];
  }

  #unlink(n: Node<V>): void {
    if (n.prev !== undefined) n.prev.next = n.next;
    else this.#head = n.next;
    if (n.next !== undefined) n.next.prev = n.prev;
    else this.#tail = n.prev;
    n.prev = n.next = undefined;
  }

  #toTail(n: Node<V>): void {
    if (this.#tail === n) return;
    this.#unlink(n);
    n.prev = this.#tail;
    if (this.#tail !== undefined) this.#tail.next = n;
    else this.#head = n;
    this.#tail = n;
  }
}
