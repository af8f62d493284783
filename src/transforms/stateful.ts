/**
 * The transforms that keep state per key (dedupe, throttle). They run on the
 * main thread when a batch commits, in each source's order, so one state per
 * source sees every record once (a parse thread sees only the batches it
 * happens to get). State is bounded (`max_keys`, least recently used
 * forgotten and counted) and can be saved and restored with the source.
 */
import type { LogRecord } from '../core/record.js';
import type { DedupeConfig, ThrottleConfig } from './config.js';
import { compileKey, hashSavedKey, KeyHash, type KeyOf } from './keyhash.js';
import { KeyTable } from './keytable.js';
import { textGetter } from './path.js';

/** What a keyed transform reports besides its drops. */
export interface KeyedCounters {
  evicted: number;
}

/** A transform with state: `pass` answers whether a record goes on. */
export interface Keyed {
  readonly reason: 'dedupe' | 'throttle';
  pass(r: LogRecord): boolean;
  readonly counters: KeyedCounters;
  /** Keys held. */
  readonly size: number;
  /** Its state as JSON-able data (oldest key first), and back. */
  save(): unknown;
  load(state: unknown): void;
}

/**
 * Saved state: the hash seed, and the keys oldest first as base64 of their
 * hash halves (Int32, two per key) and of their values (Float64, `width`
 * per key), little-endian. 100,000 keys save in ~2 ms where a JSON row per
 * key took 40-50 ms of the main thread every few seconds. The state of
 * earlier versions (`keys`: a row [h1, h2, ...values] per key; before that,
 * [key string, values] pairs) still loads.
 */
interface Saved {
  seed: [number, number];
  hashes?: string;
  values?: string;
  keys?: number[][];
}

const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The keys and their values, hashed (keyhash.ts, keytable.ts). The state
 * saved before keys were hashed ([key string, values] pairs) loads too.
 */
class KeyedState {
  #kh: KeyHash;
  #table: KeyTable;
  readonly #key: KeyOf;

  constructor(
    keys: readonly string[],
    max: number,
    readonly width: number,
  ) {
    this.#key = compileKey(keys);
    this.#kh = new KeyHash();
    this.#table = new KeyTable(max, width);
  }

  get size(): number {
    return this.#table.size;
  }

  get vals(): Float64Array {
    return this.#table.vals;
  }

  /** r's key's entry (values at vals[e * width]), or -1. */
  get(r: LogRecord): number {
    this.#key(r, this.#kh);
    return this.#table.get(this.#kh.h1, this.#kh.h2);
  }

  /** A new entry for the key get() just missed; true in `evicted` when one was forgotten for it. */
  add(): number {
    return this.#table.add(this.#kh.h1, this.#kh.h2);
  }

  get evicted(): boolean {
    return this.#table.evicted;
  }

  save(): Saved {
    const { hashes, values } = this.#table.export();
    const seed = [...this.#kh.seed] as [number, number];
    if (LE) return { seed, hashes: base64(hashes), values: base64(values) };
    // a big-endian machine: a row per key, as before
    const w = this.width;
    return { seed, keys: Array.from({ length: hashes.length / 2 }, (_, i) => [hashes[2 * i]!, hashes[2 * i + 1]!, ...values.subarray(i * w, (i + 1) * w)]) };
  }

  /** `legacy`: a pair's values as the old state held them, as numbers (undefined: skip it). */
  load(state: unknown, legacy: (v: unknown) => number[] | undefined): void {
    if (Array.isArray(state)) {
      for (const e of state) {
        if (!Array.isArray(e) || typeof e[0] !== 'string') continue;
        const v = legacy(e[1]);
        if (v === undefined || !hashSavedKey(this.#kh, e[0])) continue;
        this.#put(this.#kh.h1, this.#kh.h2, v);
      }
      return;
    }
    const s = state as Partial<Saved> | null;
    if (s === null || typeof s !== 'object' || !Array.isArray(s.seed)) return;
    const [a, b] = s.seed;
    if (typeof a !== 'number' || typeof b !== 'number') return;
    const w = this.width;
    let rows: (i: number) => number[] | undefined;
    let n: number;
    if (typeof s.hashes === 'string' && typeof s.values === 'string') {
      const h = fromBase64(s.hashes, Int32Array);
      const v = fromBase64(s.values, Float64Array);
      // a state cut short or of another width holds no key we can trust
      if (h === undefined || v === undefined || h.length % 2 !== 0 || v.length !== (h.length / 2) * w) return;
      n = h.length / 2;
      rows = (i) => [h[2 * i]!, h[2 * i + 1]!, ...v.subarray(i * w, (i + 1) * w)];
    } else if (Array.isArray(s.keys)) {
      const keys = s.keys;
      n = keys.length;
      rows = (i) => {
        const row = keys[i];
        return Array.isArray(row) && row.length === 2 + w && row.every((x) => typeof x === 'number') ? row : undefined;
      };
    } else return;
    // the keys were hashed with the saved seed: go on with it (a fresh table, nothing held yet under another)
    this.#kh = new KeyHash([a, b]);
    this.#table = new KeyTable(this.#table.max, w);
    for (let i = 0; i < n; i++) {
      const row = rows(i);
      if (row !== undefined) this.#put(row[0]!, row[1]!, row.slice(2));
    }
  }

  #put(h1: number, h2: number, v: readonly number[]): void {
    let e = this.#table.get(h1, h2);
    if (e < 0) e = this.#table.add(h1, h2);
    for (let k = 0; k < this.width; k++) this.#table.vals[e * this.width + k] = v[k]!;
  }
}

function base64(a: Int32Array | Float64Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** The typed array a base64 text holds, or undefined when its length is not a whole number of elements. */
function fromBase64<T extends Int32Array | Float64Array>(text: string, type: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }): T | undefined {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % type.BYTES_PER_ELEMENT !== 0 || !LE) return undefined;
  // a copy of its own: aligned, whatever the pool offset of `bytes`
  return new type(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer);
}

/**
 * The first record of a key passes and opens a window of `window` ms of
 * event time; repeats inside it are dropped. A record out of order (older
 * than the window's first) counts as inside when it is within `window` of it.
 */
export class Dedupe implements Keyed {
  readonly reason = 'dedupe';
  readonly counters: KeyedCounters = { evicted: 0 };
  readonly #window: number;
  readonly #seen: KeyedState;
  readonly #only: ((r: LogRecord) => boolean) | undefined;

  constructor(c: DedupeConfig) {
    this.#window = c.window;
    this.#seen = new KeyedState(c.keys, c.max_keys, 1);
    if (c.only) {
      const get = textGetter(c.only.field);
      const set = new Set(c.only.in);
      this.#only = (r) => {
        const v = get(r);
        return v !== undefined && set.has(v);
      };
    }
  }

  get size(): number {
    return this.#seen.size;
  }

  pass(r: LogRecord): boolean {
    if (this.#only !== undefined && !this.#only(r)) return true;
    const seen = this.#seen;
    const e = seen.get(r);
    if (e >= 0) {
      const first = seen.vals[e]!;
      if (Math.abs(r.time - first) < this.#window) return false;
      seen.vals[e] = r.time;
      return true;
    }
    // add first: a table that grows has new arrays (seen.vals read before add() would be the old one)
    const added = seen.add();
    seen.vals[added] = r.time;
    if (seen.evicted) this.counters.evicted++;
    return true;
  }

  save(): unknown {
    return this.#seen.save();
  }

  load(state: unknown): void {
    this.#seen.load(state, (v) => (typeof v === 'number' ? [v] : undefined));
  }
}

/** A token bucket per key over arrival time: `rate` records per `per` ms, bursts up to `rate`. */
export class Throttle implements Keyed {
  readonly reason = 'throttle';
  readonly counters: KeyedCounters = { evicted: 0 };
  readonly #rate: number;
  readonly #perMs: number;
  /** per key: tokens, at (epoch ms) */
  readonly #buckets: KeyedState;

  constructor(c: ThrottleConfig) {
    this.#rate = c.rate;
    this.#perMs = c.per;
    this.#buckets = new KeyedState(c.keys, c.max_keys, 2);
  }

  get size(): number {
    return this.#buckets.size;
  }

  pass(r: LogRecord): boolean {
    const now = r.received;
    const b = this.#buckets;
    let e = b.get(r);
    if (e < 0) {
      e = b.add();
      if (b.evicted) this.counters.evicted++;
      b.vals[2 * e] = this.#rate;
      b.vals[2 * e + 1] = now;
    }
    // read after add: a table that grew has new arrays
    const vals = b.vals;
    if (now > vals[2 * e + 1]!) {
      vals[2 * e] = Math.min(this.#rate, vals[2 * e]! + ((now - vals[2 * e + 1]!) * this.#rate) / this.#perMs);
      vals[2 * e + 1] = now;
    }
    if (vals[2 * e]! < 1) return false;
    vals[2 * e]! -= 1;
    return true;
  }

  save(): unknown {
    return this.#buckets.save();
  }

  load(state: unknown): void {
    this.#buckets.load(state, (v) => (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'number' ? [v[0], v[1]] : undefined));
  }
}
