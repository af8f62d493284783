/**
 * A 64-bit seeded hash of a key's parts, as two 32-bit halves (KeyTable's
 * key). A part is hashed as its JSON string literal's UTF-8 bytes, quotes
 * left out: a message still in wire form is hashed where it lies, nothing
 * decoded, and a text given as a string is first written as JSON.stringify
 * writes it, which is how both writers write a message (the differential
 * tests hold the native one to JSON.stringify's escapes). Each part's length
 * goes in first, so parts never run into one another and absent differs
 * from "".
 *
 * The halves are two different mixing chains over 4-byte blocks (murmur3's
 * and xxhash32's rounds), each with a seed of its own. Not cryptographic:
 * see keytable.ts for what a collision means.
 */
import { randomInt } from 'node:crypto';
import type { LogRecord } from '../core/record.js';
import { messageLiteral, type Span } from '../wire/encoded.js';
import { textGetter } from './path.js';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

export class KeyHash {
  readonly seed: readonly [number, number];
  /** The result of the last begin() ... end(). */
  h1 = 0;
  h2 = 0;
  #scratch = Buffer.allocUnsafe(1024);

  constructor(seed?: readonly [number, number]) {
    this.seed = seed ?? [randomInt(2 ** 32) | 0, randomInt(2 ** 32) | 0];
  }

  begin(): void {
    this.h1 = this.seed[0];
    this.h2 = this.seed[1];
  }

  /** An absent part. */
  absent(): void {
    this.#word(0);
  }

  /** A part given as a string: hashed as its JSON literal (literal()). */
  text(s: string): void {
    const lit = JSON.stringify(s);
    if (lit.length * 3 > this.#scratch.length) {
      const need = Buffer.byteLength(lit, 'utf8');
      if (need > this.#scratch.length) this.#scratch = Buffer.allocUnsafe(Math.max(need, 2 * this.#scratch.length));
    }
    const n = this.#scratch.write(lit, 0, 'utf8');
    this.literal(this.#scratch, 1, n - 1);
  }

  /** A part given as the inside of its JSON string literal, buf[from, to), as JSON.stringify writes it. */
  literal(b: Uint8Array, from: number, to: number): void {
    this.#word(to - from + 1);
    let i = from;
    for (const end = to - 3; i < end; i += 4) this.#word(b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
    if (i < to) {
      let k = 0;
      for (let s = 0; i < to; i++, s += 8) k |= b[i]! << s;
      this.#word(k);
    }
  }

  end(): void {
    this.h1 = fmix(this.h1);
    this.h2 = fmix(this.h2 ^ Math.imul(this.h1, P1));
  }

  #word(k: number): void {
    let a = Math.imul(k, C1);
    a = (a << 15) | (a >>> 17);
    a = Math.imul(a, C2);
    let h = this.h1 ^ a;
    h = (h << 13) | (h >>> 19);
    this.h1 = (Math.imul(h, 5) + 0xe6546b64) | 0;
    let g = (this.h2 + Math.imul(k, P2)) | 0;
    g = (g << 13) | (g >>> 19);
    this.h2 = Math.imul(g, P1);
  }
}

/** Hash a record's key: the parts at `paths`, in order, into kh.h1 / kh.h2. */
export type KeyOf = (r: LogRecord, kh: KeyHash) => void;

export function compileKey(paths: readonly string[]): KeyOf {
  const span: Span = { buf: Buffer.alloc(0), from: 0, to: 0 };
  const parts = paths.map((p): ((r: LogRecord, kh: KeyHash) => void) => {
    // the message of a record still in wire form is hashed from its bytes, not decoded
    if (p === 'message') return (r, kh) => (messageLiteral(r, span) ? kh.literal(span.buf, span.from, span.to) : kh.text(r.message));
    const get = textGetter(p);
    return (r, kh) => {
      const v = get(r);
      if (v === undefined) kh.absent();
      else kh.text(v);
    };
  });
  if (parts.length === 1) {
    const part = parts[0]!;
    return (r, kh) => {
      kh.begin();
      part(r, kh);
      kh.end();
    };
  }
  return (r, kh) => {
    kh.begin();
    for (const part of parts) part(r, kh);
    kh.end();
  };
}

/**
 * A key as the state files before the hashed keys held it (path.ts keyOf's
 * string: "-" absent, "=" + text, or a JSON array of texts and nulls), hashed
 * as compileKey hashes the same parts; false when it is not one.
 */
export function hashSavedKey(kh: KeyHash, key: string): boolean {
  let parts: unknown[];
  if (key === '-') parts = [null];
  else if (key.startsWith('=')) parts = [key.slice(1)];
  else {
    try {
      parts = JSON.parse(key) as unknown[];
    } catch {
      return false;
    }
    if (!Array.isArray(parts)) return false;
  }
  kh.begin();
  for (const v of parts) {
    if (v === null) kh.absent();
    else if (typeof v === 'string') kh.text(v);
    else return false;
  }
  kh.end();
  return true;
}
