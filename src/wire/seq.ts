/**
 * A record's seq prefix, `{"seq":N`, and the one rule for its width: a
 * writer that renders records before the hub assigns their seqs (a parse
 * thread, the native writer) reserves `seqDigits(next)` digit bytes, where
 * `next` is the seq the hub will most likely hand out first (Hub.nextSeq);
 * the hub stamps the digits in place when the seqs it assigned have that
 * width, and copies the records behind their seqs when they do not (999 ->
 * 1000). Nothing else decides a seq's width.
 */

/** `{"seq":` */
export const SEQ_KEY = '{"seq":';
export const SEQ_KEY_BYTES = 7;

/** The number of decimal digits of a seq (>= 0). */
export function seqDigits(seq: number): number {
  let d = 1;
  for (let x = Math.floor(seq / 10); x >= 1; x = Math.floor(x / 10)) d++;
  return d;
}

/** Bytes before a record's tail when it is laid out whole with `digits` reserved: `{"seq":` and the digits. */
export function holdBytes(digits: number): number {
  return digits > 0 ? SEQ_KEY_BYTES + digits : 0;
}

/** Do the seqs first..first+n-1 all have `digits` digits? */
export function seqsFit(first: number, n: number, digits: number): boolean {
  return n > 0 && seqDigits(first) === digits && seqDigits(first + n - 1) === digits;
}

/** The digits of the last seq written by writeSeq (ASCII), their count, and its value. */
const odo = new Uint8Array(24);
let odoLen = 0;
let odoValue = -2;

/**
 * Write `{"seq":N` at `off`; returns the offset after it. A batch's seqs are
 * consecutive, so the digits are kept and incremented in place (an odometer)
 * rather than converted from the number per record. Per-record Buffer#write
 * calls cost ~100 ns in argument handling alone; this loop ~25 (bench/).
 */
export function writeSeq(buf: Uint8Array, off: number, seq: number): number {
  if (seq === odoValue + 1 && odoLen > 0) {
    let i = odoLen - 1;
    while (i >= 0 && odo[i] === 57) odo[i--] = 48;
    if (i >= 0) odo[i]!++;
    else {
      // 99..9 + 1: one more digit
      odo[0] = 49;
      odo[odoLen++] = 48;
    }
  } else {
    const s = String(seq);
    odoLen = s.length;
    for (let k = 0; k < odoLen; k++) odo[k] = s.charCodeAt(k);
  }
  odoValue = seq;
  buf[off] = 123; // {"seq":
  buf[off + 1] = 34;
  buf[off + 2] = 115;
  buf[off + 3] = 101;
  buf[off + 4] = 113;
  buf[off + 5] = 34;
  buf[off + 6] = 58;
  off += 7;
  for (let k = 0; k < odoLen; k++) buf[off++] = odo[k]!;
  return off;
}
