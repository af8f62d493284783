/**
 * A Sluice wire record taken in by its bytes: what a forward sink sends (the
 * agent's hub bytes, written by wire/json.ts) becomes the central's record
 * without being parsed into objects and written again. checkRecord's answer
 * for such a record is known from its text: its `time`, `level`, `host`,
 * `app`, `message` and `fields` come out as they went in, and its `seq`,
 * `source`, `stream` and `origin` move into `origin.from` in that order. So a
 * line that is exactly what the wire writer writes (its keys in its order,
 * no space, every string escaped as JSON.stringify escapes it, every number
 * as JSON.stringify writes it, no key twice in an object) is copied in six
 * pieces around this source's middle segment.
 *
 * Anything else, and anything this scanner is not sure of (an escape other
 * than JSON.stringify's own, a key that may rewrite a prototype or that V8
 * would move ahead of the others, nesting past MAX_DEPTH), is declined and
 * checked the general way (ndjson.ts): `scan` never passes a record
 * checkRecord would refuse or write differently. relay.test.ts holds it to
 * that over generated records and every byte value.
 *
 * The bytes handed to `scan` must be valid UTF-8 (the caller checks a chunk
 * at once): then no byte of a multi-byte character is a quote or a
 * backslash, and a string is scanned for those and control bytes only.
 * Before, the central's parse threads spent ~5.8 us on each forwarded record
 * (JSON.parse, the check, a new origin stringified per record, the writer):
 * bench/forward.ts.
 */
import { LEVELS } from '../../core/record.js';
import { RELAY } from '../../parse/native.js';
import { daysInMonth, utcMs } from '../../parse/time.js';
import { middleText } from '../../wire/json.js';

/** Where relayed records are written (parse/render.ts Records). */
export interface RawRecords {
  readonly out: { readonly buf: Buffer };
  /** Room for a record's tail of `tail` bytes: where it starts in out.buf. */
  openRaw(tail: number): number;
  closeRaw(tail: number, msgFrom: number, msgTo: number, time: number, level: number): void;
}

/** Objects and arrays nested deeper than this are left to the general check. */
const MAX_DEPTH = 32;
/** Objects with more keys than this are left to the general check (keys are compared pairwise). */
const MAX_KEYS = 64;
/** Pieces shorter than this are copied byte by byte (a Buffer#copy call costs more). */
const SHORT_COPY = 48;

const enc = (s: string): Buffer => Buffer.from(s, 'latin1');
const SEQ = enc('{"seq":');
const TIME = enc(',"time":"');
const SOURCE = enc('","source":');
const STREAM = enc(',"stream":');
const ORIGIN = enc(',"origin":');
const HOST = enc(',"host":');
const APP = enc(',"app":');
const LEVEL = enc(',"level":"');
const MESSAGE = enc(',"message":');
const FIELDS = enc(',"fields":');
const LEVEL_BYTES = LEVELS.map(enc);
const PROTO = enc('__proto__');
const CONSTRUCTOR = enc('constructor');
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = 10 + i;

function at(b: Buffer, p: number, e: number, lit: Buffer): boolean {
  if (p + lit.length > e) return false;
  for (let i = 0; i < lit.length; i++) if (b[p + i] !== lit[i]) return false;
  return true;
}

function same(b: Buffer, p: number, q: number, lit: Buffer): boolean {
  return q - p === lit.length && at(b, p, q, lit);
}

/** After the JSON string at `p` (its opening quote), or -1 when it is not one JSON.stringify would write. */
function str(b: Buffer, p: number, e: number): number {
  if (b[p] !== 34) return -1;
  p++;
  while (p < e) {
    const c = b[p]!;
    if (c === 34) return p + 1;
    if (c === 92) {
      if (p + 1 >= e) return -1;
      const d = b[p + 1];
      // \" \\ \b \f \n \r \t
      if (d === 34 || d === 92 || d === 98 || d === 102 || d === 110 || d === 114 || d === 116) {
        p += 2;
        continue;
      }
      // \u00XX for the other control characters, lower-case hex; any other \u (a lone surrogate too) is left alone
      if (d !== 117 || p + 6 > e || b[p + 2] !== 48 || b[p + 3] !== 48 || (b[p + 4] !== 48 && b[p + 4] !== 49)) return -1;
      const lo = HEX[b[p + 5]!]!;
      if (lo < 0) return -1;
      const v = (b[p + 4]! - 48) * 16 + lo;
      if (v === 8 || v === 9 || v === 10 || v === 12 || v === 13) return -1;
      p += 6;
      continue;
    }
    if (c < 32) return -1;
    p++;
  }
  return -1;
}

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 48 && c <= 57;

/** After the JSON number at `p`, or -1 when it is not one JSON.stringify would write. */
function num(b: Buffer, p: number, e: number): number {
  const s = p;
  if (b[p] === 45) p++;
  if (b[p] === 48) p++;
  else if (isDigit(b[p]) && b[p] !== 48) while (p < e && isDigit(b[p])) p++;
  else return -1;
  const intEnd = p;
  if (p < e && b[p] === 46) {
    p++;
    if (!isDigit(b[p])) return -1;
    while (p < e && isDigit(b[p])) p++;
  }
  if (p < e && (b[p] === 101 || b[p] === 69)) {
    p++;
    if (b[p] === 43 || b[p] === 45) p++;
    if (!isDigit(b[p])) return -1;
    while (p < e && isDigit(b[p])) p++;
  }
  if (p > e) return -1;
  const digits = intEnd - s - (b[s] === 45 ? 1 : 0);
  // a whole number of up to 15 digits is written as it reads, but for -0
  if (p === intEnd && digits <= 15) return b[s] === 45 && b[s + 1] === 48 ? -1 : p;
  const text = b.toString('latin1', s, p);
  return String(Number(text)) === text ? p : -1;
}

function equalBytes(b: Buffer, x: number, y: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[x + i] !== b[y + i]) return false;
  return true;
}

/** Where an object's keys start and end while it is scanned (pairs), for the duplicate check. */
const keyAt = new Int32Array(2 * MAX_KEYS * (MAX_DEPTH + 1));

/** After the JSON value at `p`, or -1. */
function value(b: Buffer, p: number, e: number, depth: number): number {
  const c = b[p];
  if (c === 34) return str(b, p, e);
  if (c === 123) return obj(b, p, e, depth + 1);
  if (c === 91) {
    if (depth + 1 > MAX_DEPTH) return -1;
    p++;
    if (b[p] === 93) return p + 1;
    for (;;) {
      p = value(b, p, e, depth + 1);
      if (p < 0 || p >= e) return -1;
      if (b[p] === 93) return p + 1;
      if (b[p] !== 44) return -1;
      p++;
    }
  }
  if (c === 116) return e - p >= 4 && b[p + 1] === 114 && b[p + 2] === 117 && b[p + 3] === 101 ? p + 4 : -1;
  if (c === 102) return e - p >= 5 && b[p + 1] === 97 && b[p + 2] === 108 && b[p + 3] === 115 && b[p + 4] === 101 ? p + 5 : -1;
  if (c === 110) return e - p >= 4 && b[p + 1] === 117 && b[p + 2] === 108 && b[p + 3] === 108 ? p + 4 : -1;
  return num(b, p, e);
}

/** After the JSON object at `p`, or -1 (also for a key twice, a key of digits, `__proto__` or `constructor`). */
function obj(b: Buffer, p: number, e: number, depth: number): number {
  if (depth > MAX_DEPTH || b[p] !== 123) return -1;
  p++;
  if (b[p] === 125) return p + 1;
  const base = 2 * MAX_KEYS * depth;
  let n = 0;
  for (;;) {
    const ks = p + 1;
    const q = str(b, p, e);
    if (q < 0 || n >= MAX_KEYS) return -1;
    const ke = q - 1;
    // V8 enumerates integer-like keys first: leave any all-digit key to the general check
    let digits = ke > ks;
    for (let i = ks; i < ke && digits; i++) digits = isDigit(b[i]);
    if (digits || same(b, ks, ke, PROTO) || same(b, ks, ke, CONSTRUCTOR)) return -1;
    for (let k = 0; k < n; k++) {
      const s2 = keyAt[base + 2 * k]!;
      if (keyAt[base + 2 * k + 1]! - s2 === ke - ks && equalBytes(b, s2, ks, ke - ks)) return -1;
    }
    keyAt[base + 2 * n] = ks;
    keyAt[base + 2 * n + 1] = ke;
    n++;
    if (b[q] !== 58) return -1;
    p = value(b, q + 1, e, depth);
    if (p < 0 || p >= e) return -1;
    if (b[p] === 125) return p + 1;
    if (b[p] !== 44) return -1;
    p++;
  }
}

const dd = (b: Buffer, p: number): number => {
  const h = b[p]! - 48;
  const l = b[p + 1]! - 48;
  return h >= 0 && h <= 9 && l >= 0 && l <= 9 ? h * 10 + l : -1;
};

/** Epoch ms of `YYYY-MM-DDTHH:MM:SS.mmmZ` at `p` (what isoTime writes for years 0-9999), or NaN. */
export function isoMs(b: Buffer, p: number): number {
  if (b[p + 4] !== 45 || b[p + 7] !== 45 || b[p + 10] !== 84 || b[p + 13] !== 58 || b[p + 16] !== 58 || b[p + 19] !== 46 || b[p + 23] !== 90) return NaN;
  const yh = dd(b, p), yl = dd(b, p + 2), mo = dd(b, p + 5), d = dd(b, p + 8);
  const h = dd(b, p + 11), mi = dd(b, p + 14), s = dd(b, p + 17), m1 = dd(b, p + 20), m2 = b[p + 22]! - 48;
  if (yh < 0 || yl < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 || m1 < 0 || m2 < 0 || m2 > 9) return NaN;
  const y = yh * 100 + yl;
  return d > daysInMonth(y, mo) ? NaN : utcMs(y, mo, d, h, mi, s, m1 * 10 + m2);
}

function copy(src: Buffer, s: number, e: number, dst: Buffer, at_: number): number {
  if (e - s < SHORT_COPY) for (let i = s; i < e; i++) dst[at_++] = src[i]!;
  else at_ += src.copy(dst, at_, s, e);
  return at_;
}

/** One job's relay: this source's middle segment with the sender's record to follow in `origin.from`. */
export class Relay {
  /** `","source":..,"stream":..,"origin":{<this source's origin>,"from":` */
  readonly #pre: Buffer;

  private constructor(pre: Buffer) {
    this.#pre = pre;
  }

  /** The relay for records of `source` on `stream` with this origin, or undefined when its origin already has a `from`. */
  static for(source: string, stream: string, origin: object): Relay | undefined {
    if (Object.hasOwn(origin, 'from')) return undefined;
    const text = middleText(source, stream, JSON.stringify({ ...origin, from: null }));
    if (!text.endsWith('"from":null}')) return undefined;
    return new Relay(Buffer.from(text.slice(0, -5), 'utf8'));
  }

  /** The last record's `","source":..,"stream":..,"origin":{..}` that passed (its first #lastLen bytes). */
  #last = Buffer.alloc(0);
  #lastLen = 0;
  // what scan found, for write
  #b: Buffer = Buffer.alloc(0);
  #s = 0;
  #e = 0;
  #seqEnd = 0;
  #t1 = 0;
  #o1 = 0;
  #m0 = 0;
  #m1 = 0;
  #time = 0;
  #level = 0;

  /** Is the line `b[s, e)` a wire record checkRecord would pass unchanged? When true, `write` writes it. */
  scan(b: Buffer, s: number, e: number): boolean {
    if (!at(b, s, e, SEQ)) return false;
    let p = s + SEQ.length;
    const d0 = p;
    if (b[p] === 48) p++;
    else while (p < e && isDigit(b[p])) p++;
    if (p === d0 || p - d0 > 15 || isDigit(b[p])) return false;
    const seqEnd = p;
    if (!at(b, p, e, TIME) || p + TIME.length + 25 > e) return false;
    const time = isoMs(b, p + TIME.length);
    if (time !== time) return false;
    const t1 = p + TIME.length + 24;
    let o1 = t1 + this.#lastLen;
    // a sender's records mostly share their source, stream and origin: the same bytes as the last record's pass as they did
    if (this.#lastLen === 0 || o1 > e || this.#last.compare(b, t1, o1, 0, this.#lastLen) !== 0) {
      if (!at(b, t1, e, SOURCE)) return false;
      p = str(b, t1 + SOURCE.length, e);
      if (p < 0 || !at(b, p, e, STREAM)) return false;
      p = str(b, p + STREAM.length, e);
      if (p < 0 || !at(b, p, e, ORIGIN)) return false;
      o1 = obj(b, p + ORIGIN.length, e, 1);
      if (o1 < 0) return false;
      if (o1 - t1 > this.#last.length) this.#last = Buffer.allocUnsafe(Math.max(256, 2 * (o1 - t1)));
      this.#lastLen = b.copy(this.#last, 0, t1, o1);
    }
    p = o1;
    if (at(b, p, e, HOST) && (p = str(b, p + HOST.length, e)) < 0) return false;
    if (at(b, p, e, APP) && (p = str(b, p + APP.length, e)) < 0) return false;
    let level = 0;
    if (at(b, p, e, LEVEL)) {
      p += LEVEL.length;
      let q = p;
      while (q < e && b[q] !== 34) q++;
      for (let i = 0; i < LEVEL_BYTES.length && level === 0; i++) if (same(b, p, q, LEVEL_BYTES[i]!)) level = i + 1;
      if (level === 0) return false;
      p = q + 1;
    }
    if (!at(b, p, e, MESSAGE)) return false;
    const m0 = p + MESSAGE.length;
    const m1 = str(b, m0, e);
    if (m1 < 0 || !at(b, m1, e, FIELDS)) return false;
    p = obj(b, m1 + FIELDS.length, e, 1);
    if (p < 0 || p + 1 !== e || b[p] !== 125) return false;
    this.#b = b;
    this.#s = s;
    this.#e = e;
    this.#seqEnd = seqEnd;
    this.#t1 = t1;
    this.#o1 = o1;
    this.#m0 = m0;
    this.#m1 = m1;
    this.#time = time;
    this.#level = level;
    return true;
  }

  /** Take the parts of the line `b[s, e)` the native scan found (its slots at `slots[o..]`), as a true `scan` would. */
  found(b: Buffer, slots: Int32Array, o: number, time: number): void {
    this.#b = b;
    this.#s = slots[o + RELAY.START]!;
    this.#e = slots[o + RELAY.END]!;
    this.#seqEnd = slots[o + RELAY.SEQ_END]!;
    this.#t1 = slots[o + RELAY.T1]!;
    this.#o1 = slots[o + RELAY.O1]!;
    this.#m0 = slots[o + RELAY.M0]!;
    this.#m1 = slots[o + RELAY.M1]!;
    this.#time = time;
    this.#level = slots[o + RELAY.LEVEL]!;
  }

  /** Write the record the last true `scan` (or `found`) found into `recs`. */
  write(recs: RawRecords): void {
    const b = this.#b, s = this.#s, e = this.#e, seqEnd = this.#seqEnd, t1 = this.#t1, o1 = this.#o1;
    // `,"time":"T` + this source's segment + `{"seq":N` + `,"source":..,"origin":{..}` + `}}` + the rest
    const pre = this.#pre;
    const tail = t1 - seqEnd + pre.length + (seqEnd - s) + (o1 - t1 - 1) + 2 + (e - o1);
    const out = recs.openRaw(tail);
    const buf = recs.out.buf;
    let w = copy(b, seqEnd, t1, buf, out);
    w = copy(pre, 0, pre.length, buf, w);
    w = copy(b, s, seqEnd, buf, w);
    w = copy(b, t1 + 1, o1, buf, w);
    buf[w++] = 125;
    buf[w++] = 125;
    const msgAt = w + (this.#m0 - o1);
    copy(b, o1, e, buf, w);
    recs.closeRaw(tail, msgAt, msgAt + (this.#m1 - this.#m0), this.#time, this.#level);
  }
}
