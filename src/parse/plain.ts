/**
 * Plain text lines: the message is the whole line, unchanged; a time and a
 * level are picked out when they are cheap to find and unambiguous.
 *
 * Time, from the start of the line: an ISO / RFC 3164 / ctime timestamp, the
 * same inside `[...]`, a glog/klog header (`E1123 12:00:00.123456 ...`,
 * which also gives the level), or the bracketed common-log-format time of an
 * access log (`1.2.3.4 - - [23/Nov/2026:12:00:00 +0000] "GET ...`).
 *
 * Level: the first level word within 80 characters after the timestamp
 * (none for access-log lines: `GET /ERROR` is a path, not a level),
 * whole words only ("terror" and "error_code" are not "error"), and only
 * where a word is used as a level rather than as prose: written in capitals
 * (`ERROR`, `WARN`), or decorated (`[error]`, `<warn>`, `(info)`, `error:`,
 * `level=warn`, `severity=err`). Single letters count only when bracketed
 * (`<E>`, `[W]`). Prose like "stack trace" or "an error occurred" gives no
 * level.
 *
 * `fields` is the shared frozen empty object of core/record.ts: stages that
 * add fields must copy first.
 */
import type { Level, ParsedLine } from '../core/record.js';
import { emptyFields } from '../core/record.js';
import { LEVEL_LETTERS, LEVEL_WORDS } from './level.js';
import { scanMonthDayClock, scanTimestamp, timeScan } from './time.js';
import { makeParsed } from './keys.js';

// The tables and limits below are exported for native/gen-tables.ts, which generates the
// C writer's copies of them (native/tables.h).
export const LEVEL_WINDOW = 80;
export const LONGEST_WORD = 13; // "informational"

/** Character classes for the level scan (ASCII; everything else is a separator). */
export const CHAR_CLASSES = { OTHER: 0, UPPER: 1, LOWER: 2, WORDISH: 3 } as const;
const { OTHER, UPPER, LOWER, WORDISH } = CHAR_CLASSES; // WORDISH: digit or '_': part of a word, but a word with one is never a level
export const CLASS = new Uint8Array(128);
for (let c = 65; c <= 90; c++) CLASS[c] = UPPER;
for (let c = 97; c <= 122; c++) CLASS[c] = LOWER;
for (let c = 48; c <= 57; c++) CLASS[c] = WORDISH;
CLASS[95] = WORDISH;

function cls(c: number): number {
  return c < 128 ? CLASS[c] : OTHER;
}

function isAlpha(c: number): boolean {
  const k = cls(c);
  return k === UPPER || k === LOWER;
}

/**
 * Level words by a case-folded rolling hash of their letters, so the scan
 * looks words up without slicing them; a hit is confirmed by comparing
 * the letters (hash collisions with other words must not match).
 */
interface WordEntry {
  word: string; // lowercase
  level: Level;
}
const BY_HASH = new Map<number, WordEntry>();
function foldHash(h: number, c: number): number {
  return (Math.imul(h, 31) + (c | 0x20)) | 0;
}
for (const [w, level] of LEVEL_WORDS) {
  if (w !== w.toLowerCase()) continue;
  let h = 0;
  for (let i = 0; i < w.length; i++) h = foldHash(h, w.charCodeAt(i));
  BY_HASH.set(h, { word: w, level });
}

function sameWordCi(line: string, s: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) if ((line.charCodeAt(s + i) | 0x20) !== word.charCodeAt(i)) return false;
  return true;
}

/** Does line[.., e) end with `key` (ASCII, case-insensitive)? */
function endsWithCi(line: string, e: number, key: string): boolean {
  const n = key.length;
  return e >= n && sameWordCi(line, e - n, key);
}

/** The keys of `key=WORD` that make WORD a level (`level=warn`, `severity=err`), lowercase, matched in any case. */
export const LEVEL_ASSIGN_KEYS = ['level', 'lvl', 'severity'] as const;

/** Does line[.., e) end with one of LEVEL_ASSIGN_KEYS? */
function levelKeyBefore(line: string, e: number): boolean {
  for (const k of LEVEL_ASSIGN_KEYS) if (endsWithCi(line, e, k)) return true;
  return false;
}

/** The first level word in line[from, from + 80). */
export function scanLevel(line: string, from: number): Level | undefined {
  const len = line.length;
  const stop = Math.min(len, from + LEVEL_WINDOW);
  let i = from;
  while (i < stop) {
    let k = cls(line.charCodeAt(i));
    if (k === OTHER) {
      i++;
      continue;
    }
    const ws = i;
    if (k === WORDISH || (ws > 0 && cls(line.charCodeAt(ws - 1)) !== OTHER)) {
      // A word starting with a digit or '_', or glued to one before it: skip it whole.
      while (i < len && cls(line.charCodeAt(i)) !== OTHER) i++;
      continue;
    }
    let upper = true;
    let alpha = true;
    let h = 0;
    do {
      const c = line.charCodeAt(i);
      if (k === LOWER) upper = false;
      else if (k === WORDISH) alpha = false;
      h = foldHash(h, c);
      i++;
    } while (i < len && (k = cls(line.charCodeAt(i))) !== OTHER);
    const wl = i - ws;
    if (!alpha || wl > LONGEST_WORD) continue;
    const prev = ws > 0 ? line.charCodeAt(ws - 1) : 32;
    const next = i < len ? line.charCodeAt(i) : 32;
    const openDeco = prev === 91 || prev === 60 || prev === 40; // [ < (
    const closeDeco = next === 93 || next === 62 || next === 41; // ] > )
    if (wl === 1) {
      if (openDeco && closeDeco) {
        const l = LEVEL_LETTERS.get(line[ws]);
        if (l !== undefined) return l;
      }
      continue;
    }
    if (upper || openDeco || closeDeco || next === 58 || (prev === 61 && levelKeyBefore(line, ws - 1))) {
      const e = BY_HASH.get(h);
      if (e !== undefined && e.word.length === wl && sameWordCi(line, ws, e.word)) return e.level;
    }
  }
  return undefined;
}

/** glog/klog header letters: `Lmmdd hh:mm:ss.uuuuuu` with L in I W E F (upper case only). */
export const GLOG_LETTERS: ReadonlyArray<readonly [string, Level]> = [
  ['I', 'info'],
  ['W', 'warn'],
  ['E', 'error'],
  ['F', 'critical'],
];
const GLOG_BY_CODE: (Level | undefined)[] = new Array<Level | undefined>(128).fill(undefined);
for (const [c, l] of GLOG_LETTERS) GLOG_BY_CODE[c.charCodeAt(0)] = l;

/** The glog level of a header's first character (an ASCII letter here). */
function glogLevel(c: number): Level | undefined {
  return GLOG_BY_CODE[c];
}

/** The bracketed CLF time of an access log within the first 100 chars (`host ident user [time]`). */
function clfTime(line: string, now: number | undefined): number {
  const stop = Math.min(line.length - 12, 100);
  for (let i = 1; i < stop; i++) {
    if (line.charCodeAt(i) !== 91 || line.charCodeAt(i - 1) !== 32) continue;
    const t = scanTimestamp(line, i + 1, now);
    if (t === t && line.charCodeAt(timeScan.end) === 93) return t;
    return NaN;
  }
  return NaN;
}

/** Parse any line as plain text (never fails). */
export function parsePlain(line: string, now?: number): ParsedLine {
  let time: number | undefined;
  let level: Level | undefined;
  let from = 0;
  const c = line.charCodeAt(0);
  if (c === 91) {
    const t = scanTimestamp(line, 1, now);
    if (t === t && line.charCodeAt(timeScan.end) === 93) {
      time = t;
      from = timeScan.end + 1;
    }
  } else if (c >= 48 && c <= 57) {
    const t = scanTimestamp(line, 0, now);
    if (t === t) {
      time = t;
      from = timeScan.end;
    } else {
      const u = clfTime(line, now);
      // An access log line has a status, not a level: a word in its URL or user agent is not one.
      if (u === u) return makeParsed(line, emptyFields(), u, undefined, undefined, undefined);
    }
  } else if (isAlpha(c)) {
    const g = glogLevel(c);
    if (g !== undefined && line.charCodeAt(5) === 32) {
      const t = scanMonthDayClock(line, 1, now);
      if (t === t) {
        time = t;
        level = g;
      }
    }
    if (time === undefined) {
      const t = scanTimestamp(line, 0, now);
      if (t === t) {
        time = t;
        from = timeScan.end;
      }
    }
  } else if (c === 58) {
    const u = clfTime(line, now); // "::1 - - [...]"
    if (u === u) return makeParsed(line, emptyFields(), u, undefined, undefined, undefined);
  }
  if (level === undefined) level = scanLevel(line, from);
  return makeParsed(line, emptyFields(), time, level, undefined, undefined);
}
