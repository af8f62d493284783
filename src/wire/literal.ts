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

function fold(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}
