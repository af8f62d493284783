/**
 * Looking for a few fixed bytes (a literal a pattern needs, a key's JSON
 * name) in a parse thread's batch of record bytes, where mostly they are
 * not: the gates (gates.ts) and the extract patch (patch.ts) ask this of
 * every record.
 *
 * `Buffer.indexOf` finds a needle by its first byte (memchr), then compares
 * the rest; a needle that starts with a byte the text is full of ("t" of
 * `token=`, `"` of a key) costs a stop at every one of them: 3 to 5 times
 * the cost of one that starts with a rare byte (measured over the bench's
 * records: `token=` 30 ms per 64 MiB, `ken=` 7 ms). So a NeedleSearch looks
 * for the needle's tail from its rarest byte, as counted in the text it is
 * given, and checks the bytes before that byte where the tail is found:
 * the anchor is Rust memchr's rare-byte idea, with the frequencies measured
 * on the data rather than taken from a table.
 */

/** Does buf[from, to) hold needle? A loop: for a needle of a few bytes, or a record's range, cheaper than a call. */
export function holds(buf: Uint8Array, from: number, to: number, needle: Uint8Array): boolean {
  const n = needle.length;
  const first = needle[0]!;
  outer: for (let i = from, last = to - n; i <= last; i++) {
    if (buf[i] !== first) continue;
    for (let k = 1; k < n; k++) if (buf[i + k] !== needle[k]) continue outer;
    return true;
  }
  return false;
}

/** Bytes of a text sampled to count the needle's bytes (one in STRIDE, up to SAMPLE of them). */
const STRIDE = 7;
const SAMPLE = 8192;
/** The anchor is chosen again at every RECOUNT-th text (the first included). */
const RECOUNT = 64;

export class NeedleSearch {
  readonly needle: Buffer;
  /** Where in the needle its tail starts: its rarest byte. */
  #anchor = 0;
  #tail: Buffer;
  #texts = 0;

  constructor(needle: Buffer) {
    if (needle.length === 0) throw new Error('NeedleSearch: an empty needle');
    this.needle = needle;
    this.#tail = needle;
  }

  /** The needle's offset the search anchors at (for tests). */
  get anchor(): number {
    return this.#anchor;
  }

  /** Anchor at offset k of the needle (tests; recount picks it from the data). */
  anchorAt(k: number): void {
    if (!(k >= 0 && k < this.needle.length)) throw new RangeError(`anchor ${k} is outside the needle`);
    this.#anchor = k;
    this.#tail = this.needle.subarray(k);
  }

  /**
   * A new text (batch) is about to be searched: every RECOUNT-th one, count
   * the needle's bytes in a sample of it and anchor at the rarest (the last
   * of equals: the shorter tail).
   */
  newText(text: Uint8Array): void {
    if (this.#texts++ % RECOUNT !== 0) return;
    const nd = this.needle;
    const count = new Uint32Array(256);
    const want = new Uint8Array(256);
    for (let k = 0; k < nd.length; k++) want[nd[k]!] = 1;
    for (let i = 0, s = 0; i < text.length && s < SAMPLE; i += STRIDE, s++) {
      const b = text[i]!;
      if (want[b] === 1) count[b]!++;
    }
    let best = 0;
    for (let k = 1; k < nd.length; k++) if (count[nd[k]!]! <= count[nd[best]!]!) best = k;
    this.anchorAt(best);
  }

  /** The first index at or after `from` where the needle is in buf, or -1: buf.indexOf(needle, from). */
  find(buf: Buffer, from: number): number {
    const a = this.#anchor;
    const nd = this.needle;
    let t = buf.indexOf(this.#tail, from + a);
    outer: while (t !== -1) {
      const s = t - a;
      for (let k = 0; k < a; k++) {
        if (buf[s + k] !== nd[k]) {
          t = buf.indexOf(this.#tail, t + 1);
          continue outer;
        }
      }
      return s;
    }
    return -1;
  }
}
