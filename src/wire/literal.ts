/**
 * Looking at a message where it lies in a block: a JSON string literal
 * (quotes included) in UTF-8, as json.ts wrote it. A live filter asks these
 * first and decodes the message only when the bytes cannot decide, so a
 * filtered client costs no JSON.parse per record (src/sinks/filter.ts).
 */

const BACKSLASH = 92;

/**
 * Does the message contain `needle` (ASCII, lower case, JSON-escaped), ASCII
 * letters compared without case? true or false when the bytes decide it,
 * undefined when only the decoded message can: a hit inside an escape
 * (`\n` holds an `n`), or a miss where non-ASCII text is present (lower-casing
 * `K`, the Kelvin sign, gives `k`). JSON escapes one character at a time, so
 * a needle in the message is its escaped form in the literal.
 */
export function literalIncludes(buf: Buffer, start: number, end: number, needle: Buffer): boolean | undefined {
  const from = start + 1;
  const to = end - 1;
  let escaped = false;
  let ascii = true;
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c === BACKSLASH) escaped = true;
    else if (c >= 0x80) ascii = false;
  }
  const n = needle.length;
  if (n === 0) return true;
  const first = needle[0]!;
  for (let i = from; i + n <= to; i++) {
    if (fold(buf[i]!) !== first) continue;
    let k = 1;
    while (k < n && fold(buf[i + k]!) === needle[k]) k++;
    if (k === n) return escaped ? undefined : true;
  }
  return ascii ? false : undefined;
}

/** The message's bytes as a view when they are its UTF-8 text (no escape in the literal), else undefined. */
export function literalText(buf: Buffer, start: number, end: number): Buffer | undefined {
  for (let i = start + 1; i < end - 1; i++) if (buf[i] === BACKSLASH) return undefined;
  return buf.subarray(start + 1, end - 1);
}

/** What a one-letter JSON escape stands for (a quote, a backslash and a slash stand for themselves). */
const ESCAPES: Record<number, number> = { 0x62: 8, 0x66: 12, 0x6e: 10, 0x72: 13, 0x74: 9 };

/**
 * The UTF-8 of the text that the inside of a JSON string literal,
 * buf[from, to), stands for, written to `out` from 0 (it needs at most
 * to - from bytes); returns its length. A lone surrogate (`\ud800` with no
 * low half) becomes U+FFFD, as Buffer's UTF-8 encoder writes it, so the
 * result is Buffer.from(JSON.parse(literal)) without the string.
 */
export function unescapeUtf8(buf: Uint8Array, from: number, to: number, out: Uint8Array): number {
  let n = 0;
  let hi = -1; // a high surrogate waiting for its low half
  for (let i = from; i < to; ) {
    const c = buf[i]!;
    if (c !== BACKSLASH) {
      if (hi >= 0) n = putCode(out, n, 0xfffd);
      hi = -1;
      out[n++] = c;
      i++;
      continue;
    }
    const e = buf[i + 1]!;
    i += 2;
    let cp: number;
    if (e === 0x75 /* u */) {
      cp = (hex(buf[i]!) << 12) | (hex(buf[i + 1]!) << 8) | (hex(buf[i + 2]!) << 4) | hex(buf[i + 3]!);
      i += 4;
    } else cp = ESCAPES[e] ?? e;
    if (hi >= 0) {
      const high = hi;
      hi = -1;
      if (cp >= 0xdc00 && cp <= 0xdfff) {
        n = putCode(out, n, 0x10000 + ((high - 0xd800) << 10) + (cp - 0xdc00));
        continue;
      }
      n = putCode(out, n, 0xfffd);
    }
    if (cp >= 0xd800 && cp <= 0xdbff) hi = cp;
    else n = putCode(out, n, cp >= 0xdc00 && cp <= 0xdfff ? 0xfffd : cp);
  }
  if (hi >= 0) n = putCode(out, n, 0xfffd);
  return n;
}

function hex(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
}

/** Code point cp as UTF-8 at out[n]; returns the new length. */
function putCode(out: Uint8Array, n: number, cp: number): number {
  if (cp < 0x80) out[n++] = cp;
  else if (cp < 0x800) {
    out[n++] = 0xc0 | (cp >> 6);
    out[n++] = 0x80 | (cp & 63);
  } else if (cp < 0x10000) {
    out[n++] = 0xe0 | (cp >> 12);
    out[n++] = 0x80 | ((cp >> 6) & 63);
    out[n++] = 0x80 | (cp & 63);
  } else {
    out[n++] = 0xf0 | (cp >> 18);
    out[n++] = 0x80 | ((cp >> 12) & 63);
    out[n++] = 0x80 | ((cp >> 6) & 63);
    out[n++] = 0x80 | (cp & 63);
  }
  return n;
}

function fold(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}
