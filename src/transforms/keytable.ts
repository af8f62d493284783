/**
 * The state of the keyed transforms (dedupe, throttle): per key a few
 * numbers, the least recently used key forgotten past `max` (the caller
 * counts it). A key is held as a 64-bit hash of its parts (KeyHash), not as
 * a string: no key string is kept alive, nothing is allocated per record,
 * and the garbage collector never walks the table. The earlier Map of
 * strings cost ~2 us per record at 100k keys, a quarter of the main thread
 * in `npm run bench -- --only transforms`.
 *
 * The price is a collision: two different keys with the same 64 bits count
 * as one. The hash is seeded per state at random (saved with it), so the
 * chance that a new key is taken for one of n held is about n / 2^64 per
 * record (5e-15 at 100k keys); it is not a cryptographic hash, so a producer
 * that could learn the seed could make keys collide.
 *
 * Layout: entries live in typed arrays (hash halves, values, LRU links) and
 * an open-addressed index of entry numbers, linear probing, backward-shift
 * deletion. Both grow by doubling up to `max`.
 */

const EMPTY = -1;
const MIN_ENTRIES = 1024;

export class KeyTable {
  readonly max: number;
  /** Numbers kept per key. */
  readonly width: number;
  #cap = 0;
  #h1 = new Int32Array(0);
  #h2 = new Int32Array(0);
  /** Entry e's values are vals[e * width ...]. */
  vals = new Float64Array(0);
  #prev = new Int32Array(0);
  #next = new Int32Array(0);
  /** Slot -> entry, EMPTY when free; its length is a power of two, at least twice the entries. */
  #index = new Int32Array(0);
  #mask = 0;
  #size = 0;
  /** Least and most recently used entries. */
  #head = EMPTY;
  #tail = EMPTY;

  constructor(max: number, width: number) {
    this.max = max;
    this.width = width;
    this.#grow(Math.min(max, MIN_ENTRIES));
  }

  get size(): number {
    return this.#size;
  }

  /** The entry of the key, marked as just used; -1 when absent. */
  get(h1: number, h2: number): number {
    const e = this.#find(h1 | 0, h2 | 0);
    if (e !== EMPTY) this.#toTail(e);
    return e;
  }

  /**
   * A new entry for a key that is absent (get answered -1), as the most
   * recently used; its values are the caller's to set. Sets `evicted` when
   * the least recently used key had to go to stay within max.
   */
  add(h1: number, h2: number): number {
    h1 |= 0;
    h2 |= 0;
    this.evicted = false;
    let e: number;
    // entries are 0..size-1: one is only ever taken out to be reused at once
    if (this.#size < this.#cap) e = this.#size;
    else if (this.#cap < this.max) {
      this.#grow(Math.min(this.max, this.#cap * 2));
      e = this.#size;
    } else {
      e = this.#head;
      this.#remove(e);
      this.evicted = true;
    }
    this.#h1[e] = h1;
    this.#h2[e] = h2;
    this.vals.fill(0, e * this.width, (e + 1) * this.width);
    let s = h1 & this.#mask;
    while (this.#index[s] !== EMPTY) s = (s + 1) & this.#mask;
    this.#index[s] = e;
    this.#size++;
    this.#link(e);
    return e;
  }

  /** Set by add: it evicted a key. */
  evicted = false;

  /** Every key, least recently used first: its hash halves at hashes[2i], [2i + 1], its values at values[i * width ...]. */
  export(): { hashes: Int32Array; values: Float64Array } {
    const w = this.width;
    const hashes = new Int32Array(2 * this.#size);
    const values = new Float64Array(w * this.#size);
    let i = 0;
    for (let e = this.#head; e !== EMPTY; e = this.#next[e]!, i++) {
      hashes[2 * i] = this.#h1[e]!;
      hashes[2 * i + 1] = this.#h2[e]!;
      for (let k = 0; k < w; k++) values[i * w + k] = this.vals[e * w + k]!;
    }
    return { hashes, values };
  }

  #find(h1: number, h2: number): number {
    const index = this.#index;
    for (let s = h1 & this.#mask; ; s = (s + 1) & this.#mask) {
      const e = index[s]!;
      if (e === EMPTY) return EMPTY;
      if (this.#h1[e] === h1 && this.#h2[e] === h2) return e;
    }
  }

  /** Take entry e out of the index and the list. */
  #remove(e: number): void {
    const index = this.#index;
    const mask = this.#mask;
    let s = this.#h1[e]! & mask;
    while (index[s] !== e) s = (s + 1) & mask;
    // backward shift: move later entries of the probe run into the hole so no search stops early
    let hole = s;
    for (let j = (hole + 1) & mask; index[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.#h1[index[j]!]! & mask;
      // the entry at j may fill the hole when its home is not in (hole, j] (cyclically)
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        index[hole] = index[j]!;
        hole = j;
      }
    }
    index[hole] = EMPTY;
    this.#unlink(e);
    this.#size--;
  }

  #grow(entries: number): void {
    const copy = <T extends Int32Array | Float64Array>(a: T, n: number): T => {
      const b = new (a.constructor as new (n: number) => T)(n);
      b.set(a);
      return b;
    };
    this.#h1 = copy(this.#h1, entries);
    this.#h2 = copy(this.#h2, entries);
    this.vals = copy(this.vals, entries * this.width);
    this.#prev = copy(this.#prev, entries);
    this.#next = copy(this.#next, entries);
    this.#cap = entries;
    let slots = 2;
    while (slots < 2 * entries) slots *= 2;
    this.#index = new Int32Array(slots).fill(EMPTY);
    this.#mask = slots - 1;
    for (let e = 0; e < this.#size; e++) {
      let s = this.#h1[e]! & this.#mask;
      while (this.#index[s] !== EMPTY) s = (s + 1) & this.#mask;
      this.#index[s] = e;
    }
  }

  #link(e: number): void {
    this.#prev[e] = this.#tail;
    this.#next[e] = EMPTY;
    if (this.#tail !== EMPTY) this.#next[this.#tail] = e;
    else this.#head = e;
    this.#tail = e;
  }

  #unlink(e: number): void {
    const p = this.#prev[e]!;
    const n = this.#next[e]!;
    if (p !== EMPTY) this.#next[p] = n;
    else this.#head = n;
    if (n !== EMPTY) this.#prev[n] = p;
    else this.#tail = p;
  }

  #toTail(e: number): void {
    if (this.#tail === e) return;
    this.#unlink(e);
    this.#link(e);
  }
}
