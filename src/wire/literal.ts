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

/** The hex digit's value, or -1. */
function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
}

/** The code unit of `\uXXXX` whose digits start at i, or -1 when they are not four hex digits. */
function unit(b: Buffer, i: number): number {
  const a = hex(b[i]!);
  const c = hex(b[i + 1]!);
  const d = hex(b[i + 2]!);
  const e = hex(b[i + 3]!);
  return (a | c | d | e) < 0 ? -1 : (a << 12) | (c << 8) | (d << 4) | e;
}

/** One-letter escapes: the byte after the backslash -> the byte it stands for (0: not one). */
const SHORT = new Uint8Array(128);
for (const [k, v] of [['"', 0x22], ['\\', 0x5c], ['/', 0x2f], ['b', 8], ['f', 12], ['n', 10], ['r', 13], ['t', 9]] as const) SHORT[k.charCodeAt(0)] = v;

/**
 * A message literal's text as UTF-8 bytes, decoded from its escapes without
 * a JS string: what `Buffer.from(JSON.parse(literal))` gives (a surrogate
 * with no partner becomes U+FFFD, as Buffer.from writes it), at a fraction
 * of the cost. The result is a view of a scratch buffer, valid until the next
 * call. A literal that is not valid JSON throws a SyntaxError.
 */
export class LiteralDecoder {
  #out = Buffer.allocUnsafe(1024);

  /** buf[start, end) is the literal, quotes included. */
  decode(buf: Buffer, start: number, end: number): Buffer {
    const to = end - 1;
    // no escape is longer than what it stands for in UTF-8
    if (this.#out.length < to - start) this.#out = Buffer.allocUnsafe(2 * (to - start));
    const o = this.#out;
    let n = 0;
    for (let i = start + 1; i < to; ) {
      const c = buf[i]!;
      if (c !== BACKSLASH) {
        o[n++] = c;
        i++;
        continue;
      }
      const e = buf[i + 1]!;
      if (e !== 0x75) {
        const v = e < 128 ? SHORT[e]! : 0;
        if (v === 0 || i + 1 >= to) throw new SyntaxError(`bad escape at byte ${i - start} of a message literal`);
        o[n++] = v;
        i += 2;
        continue;
      }
      let u = i + 6 <= to ? unit(buf, i + 2) : -1;
      if (u < 0) throw new SyntaxError(`bad \\u escape at byte ${i - start} of a message literal`);
      i += 6;
      if (u >= 0xd800 && u < 0xdc00 && i + 6 <= to && buf[i] === BACKSLASH && buf[i + 1] === 0x75) {
        const lo = unit(buf, i + 2);
        if (lo >= 0xdc00 && lo < 0xe000) {
          u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
          i += 6;
        }
      }
      if (u >= 0xd800 && u < 0xe000) u = 0xfffd;
      if (u < 0x80) o[n++] = u;
      else if (u < 0x800) {
        o[n++] = 0xc0 | (u >> 6);
        o[n++] = 0x80 | (u & 0x3f);
      } else if (u < 0x10000) {
        o[n++] = 0xe0 | (u >> 12);
        o[n++] = 0x80 | ((u >> 6) & 0x3f);
        o[n++] = 0x80 | (u & 0x3f);
      } else {
        o[n++] = 0xf0 | (u >> 18);
        o[n++] = 0x80 | ((u >> 12) & 0x3f);
        o[n++] = 0x80 | ((u >> 6) & 0x3f);
        o[n++] = 0x80 | (u & 0x3f);
      }
    }
    return o.subarray(0, n);
  }
}

function fold(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}
