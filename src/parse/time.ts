/**
 * Timestamp parsing to epoch milliseconds, hand-written (no Date.parse, no
 * regex, no allocation on the common paths):
 *
 * - RFC 3339 / ISO 8601: `YYYY-MM-DD[T| ]hh:mm[:ss[.frac]][Z|±hh[:]mm|±hh]`,
 *   fractions of any precision (`.` or `,`, truncated to ms), `/` as the date
 *   separator too (nginx error log), and Go's `time.String()` form
 *   `... 15:04:05.999 -0700 MST`. A date alone is accepted only as a whole
 *   value (midnight UTC, as ECMAScript does).
 * - RFC 3164 `Mmm dd hh:mm:ss[.frac]`, optionally with a year
 *   (`Mmm dd yyyy hh:mm:ss`, Cisco); the year is inferred from `now`: the
 *   current year unless that puts it more than a day in the future, then the
 *   previous one.
 * - ctime `Www Mmm dd hh:mm:ss[.frac] yyyy` (Apache error log) and the common
 *   log format `dd/Mmm/yyyy:hh:mm:ss ±hhmm` (nginx/Apache access logs).
 * - Epoch numbers (and all-digit strings) by magnitude: < 1e11 seconds (with
 *   fraction), < 1e14 ms, < 1e17 µs, < 1e20 ns. Below 1e8 (1973 in seconds) a
 *   number is not taken for a time.
 *
 * Wall-clock forms without an offset are local time (what syslog and most
 * file loggers write). Results outside 1970..9999 are rejected (undefined).
 */

/** End position of the last successful `scanTimestamp`. */
export const timeScan = { end: 0 };

const MAX_MS = 253402300799999; // 9999-12-31T23:59:59.999Z
const DAY_MS = 86_400_000;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Two digits at s[p], or -1. */
function d2(s: string, p: number): number {
  const a = s.charCodeAt(p) - 48;
  const b = s.charCodeAt(p + 1) - 48;
  if (!(a >= 0 && a <= 9 && b >= 0 && b <= 9)) return -1; // NaN past the end fails too
  return a * 10 + b;
}

/** Four digits at s[p], or -1. */
function d4(s: string, p: number): number {
  const a = d2(s, p);
  const b = d2(s, p + 2);
  return a < 0 || b < 0 ? -1 : a * 100 + b;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Days in month `m` (1-12) of year `y`, proleptic Gregorian. */
export function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

function validDateTime(y: number, mo: number, d: number, h: number, mi: number, sec: number): boolean {
  return (
    y >= 1969 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo) && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && sec >= 0 && sec <= 60
  );
}

// Local-time conversion: one Date per distinct wall-clock minute (consecutive lines share it).
let localKey = NaN;
let localBase = 0;
function localMs(y: number, mo: number, d: number, h: number, mi: number, sec: number, ms: number): number {
  const key = daysFromCivil(y, mo, d) * 1440 + h * 60 + mi;
  if (key !== localKey) {
    localKey = key;
    localBase = new Date(y, mo - 1, d, h, mi).getTime();
  }
  return localBase + sec * 1000 + ms;
}

/** Epoch ms of a UTC date and time (any year; the caller checks the ranges). */
export function utcMs(y: number, mo: number, d: number, h: number, mi: number, sec: number, ms: number): number {
  return ((daysFromCivil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + sec * 1000 + ms;
}

function inRange(ms: number): number {
  return ms >= 0 && ms <= MAX_MS ? ms : NaN;
}

/** Month names (1-12) and weekday names, lowercase; matched in any case. native/gen-tables.ts generates the C writer's MONTH_KEYS and WEEKDAY_KEYS from them. */
export const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] as const;
export const WEEKDAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

// Month from three letters, any case: key = lowercase char codes packed.
const MONTHS = new Map<number, number>();
MONTH_NAMES.forEach((m, i) => MONTHS.set((m.charCodeAt(0) << 16) | (m.charCodeAt(1) << 8) | m.charCodeAt(2), i + 1));
const WEEKDAYS = new Set<number>();
WEEKDAY_NAMES.forEach((w) => WEEKDAYS.add((w.charCodeAt(0) << 16) | (w.charCodeAt(1) << 8) | w.charCodeAt(2)));

/** Packed lowercase key of the three ASCII letters at s[p], or -1. */
function word3(s: string, p: number): number {
  let k = 0;
  for (let i = 0; i < 3; i++) {
    const c = s.charCodeAt(p + i) | 0x20;
    if (c < 97 || c > 122) return -1;
    k = (k << 8) | c;
  }
  return k;
}

function month3(s: string, p: number): number {
  const k = word3(s, p);
  return k < 0 ? 0 : (MONTHS.get(k) ?? 0);
}

// Fraction parsing writes here (ms, end) to avoid returning a tuple.
let fracMs = 0;
/** At s[p] a '.' or ',' followed by digits: set fracMs, return the end; else return p and fracMs = 0. */
function scanFrac(s: string, p: number): number {
  fracMs = 0;
  const c = s.charCodeAt(p);
  if ((c !== 46 && c !== 44) || !isDigit(s.charCodeAt(p + 1))) return p;
  let i = p + 1;
  let scale = 100;
  while (isDigit(s.charCodeAt(i))) {
    if (scale >= 1) fracMs += (s.charCodeAt(i) - 48) * scale;
    scale /= 10;
    i++;
  }
  return i;
}

// Offset parsing: minutes east of UTC in `offMin`, returns the end or -1 when there is none.
let offMin = 0;
function scanOffset(s: string, p: number): number {
  const c = s.charCodeAt(p);
  if (c === 90 || c === 122) {
    offMin = 0;
    return p + 1;
  }
  if (c !== 43 && c !== 45) return -1;
  const hh = d2(s, p + 1);
  if (hh < 0 || hh > 23) return -1;
  let i = p + 3;
  let mm = 0;
  if (s.charCodeAt(i) === 58) {
    mm = d2(s, i + 1);
    if (mm < 0) return -1;
    i += 3;
  } else {
    const m2 = d2(s, i);
    if (m2 >= 0) {
      mm = m2;
      i += 2;
    }
  }
  if (mm > 59) return -1;
  offMin = (c === 45 ? -1 : 1) * (hh * 60 + mm);
  return i;
}

/** ISO 8601 / RFC 3339 at s[p]. `whole`: must end the string, and a bare date is allowed. */
function scanIso(s: string, p: number, whole: boolean): number {
  const n = s.length;
  if (p + 10 > n) return NaN;
  const y = d4(s, p);
  const sep = s.charCodeAt(p + 4);
  if (y < 0 || (sep !== 45 && sep !== 47) || s.charCodeAt(p + 7) !== sep) return NaN;
  const mo = d2(s, p + 5);
  const d = d2(s, p + 8);
  if (mo < 0 || d < 0) return NaN;
  let i = p + 10;
  let sec = 0;
  let ms = 0;
  const t = s.charCodeAt(i);
  if (!(t === 84 || t === 116 || t === 32)) {
    // A date alone: only as a whole value.
    if (!whole || i !== n || !validDateTime(y, mo, d, 0, 0, 0)) return NaN;
    timeScan.end = i;
    return inRange(utcMs(y, mo, d, 0, 0, 0, 0));
  }
  const h = d2(s, i + 1);
  const mi = d2(s, i + 4);
  if (h < 0 || mi < 0 || s.charCodeAt(i + 3) !== 58) return NaN;
  i += 6;
  if (s.charCodeAt(i) === 58) {
    const ss = d2(s, i + 1);
    if (ss >= 0) {
      sec = ss;
      i = scanFrac(s, i + 3);
      ms = fracMs;
    }
  }
  if (!validDateTime(y, mo, d, h, mi, sec)) return NaN;
  let e = scanOffset(s, i);
  if (e < 0 && s.charCodeAt(i) === 32) {
    // Go's time.String(): "2006-01-02 15:04:05.999 -0700 MST" (numeric offset after a space, 4 digits).
    const c = s.charCodeAt(i + 1);
    if ((c === 43 || c === 45) && d4(s, i + 2) >= 0 && !isDigit(s.charCodeAt(i + 6))) {
      e = scanOffset(s, i + 1);
      if (e >= 0 && whole && s.charCodeAt(e) === 32) {
        // and the zone abbreviation after it
        let j = e + 1;
        while (j < n && s.charCodeAt(j) >= 65 && s.charCodeAt(j) <= 90) j++;
        if (j === n && j - e > 2) e = j;
      }
    }
  }
  let out: number;
  if (e >= 0) {
    out = utcMs(y, mo, d, h, mi, sec, ms) - offMin * 60000;
    i = e;
  } else {
    out = localMs(y, mo, d, h, mi, sec, ms);
  }
  if (whole && i !== n) return NaN;
  timeScan.end = i;
  return inRange(out);
}

// The local year containing `now`, cached with its bounds.
let yearStart = 0;
let yearEnd = -1;
let yearOfNow = 1970;
function localYear(now: number): number {
  if (now < yearStart || now >= yearEnd) {
    yearOfNow = new Date(now).getFullYear();
    yearStart = new Date(yearOfNow, 0, 1).getTime();
    yearEnd = new Date(yearOfNow + 1, 0, 1).getTime();
  }
  return yearOfNow;
}

/** `hh:mm:ss[.frac]` at s[p]; sets clockH/M/S/Ms, returns the end or -1. */
let clockH = 0;
let clockM = 0;
let clockS = 0;
function scanClock(s: string, p: number): number {
  clockH = d2(s, p);
  clockM = d2(s, p + 3);
  clockS = d2(s, p + 6);
  if (clockH < 0 || clockM < 0 || clockS < 0 || s.charCodeAt(p + 2) !== 58 || s.charCodeAt(p + 5) !== 58) return -1;
  return scanFrac(s, p + 8);
}

/** RFC 3164 `Mmm dd [yyyy ]hh:mm:ss[.frac]` or ctime `Www Mmm dd hh:mm:ss[.frac] yyyy` at s[p]. */
function scanBsd(s: string, p: number, now: number | undefined): number {
  let i = p;
  let ctime = false;
  if (s.charCodeAt(p + 3) === 32 && WEEKDAYS.has(word3(s, p))) {
    ctime = true;
    i = p + 4;
  }
  const mo = month3(s, i);
  if (mo === 0 || s.charCodeAt(i + 3) !== 32) return NaN;
  i += 4;
  if (s.charCodeAt(i) === 32) i++; // space-padded day: "Nov  3"
  let d = s.charCodeAt(i) - 48;
  if (!(d >= 0 && d <= 9)) return NaN;
  i++;
  const c = s.charCodeAt(i) - 48;
  if (c >= 0 && c <= 9) {
    d = d * 10 + c;
    i++;
  }
  if (s.charCodeAt(i) !== 32) return NaN;
  i++;
  let y = -1;
  if (!ctime && s.charCodeAt(i + 4) === 32) {
    y = d4(s, i);
    if (y >= 0) i += 5;
  }
  i = scanClock(s, i);
  if (i < 0) return NaN;
  const ms = fracMs;
  if (ctime) {
    if (s.charCodeAt(i) !== 32) return NaN;
    y = d4(s, i + 1);
    if (y < 0) return NaN;
    i += 5;
  }
  let out: number;
  if (y >= 0) {
    if (!validDateTime(y, mo, d, clockH, clockM, clockS)) return NaN;
    out = localMs(y, mo, d, clockH, clockM, clockS, ms);
  } else {
    out = withInferredYear(mo, d, ms, now);
  }
  timeScan.end = i;
  return inRange(out);
}

/** Local wall time without a year (clock in clockH/M/S): this year, or the previous one if that is > 1 day ahead of `now`. */
function withInferredYear(mo: number, d: number, ms: number, now: number | undefined): number {
  const ref = now ?? Date.now();
  let y = localYear(ref);
  let out = validDateTime(y, mo, d, clockH, clockM, clockS) ? localMs(y, mo, d, clockH, clockM, clockS, ms) : NaN;
  if (!(out <= ref + DAY_MS)) {
    y--;
    out = validDateTime(y, mo, d, clockH, clockM, clockS) ? localMs(y, mo, d, clockH, clockM, clockS, ms) : NaN;
  }
  return out;
}

/**
 * glog/klog header time `mmdd hh:mm:ss[.frac]` at s[p] (after the level
 * letter), year inferred as for RFC 3164. Returns epoch ms and sets
 * `timeScan.end`, or NaN.
 */
export function scanMonthDayClock(s: string, p: number, now?: number): number {
  const mo = d2(s, p);
  const d = d2(s, p + 2);
  if (mo < 0 || d < 0 || s.charCodeAt(p + 4) !== 32) return NaN;
  const i = scanClock(s, p + 5);
  if (i < 0) return NaN;
  const out = withInferredYear(mo, d, fracMs, now);
  timeScan.end = i;
  return inRange(out);
}

/** Common log format `dd/Mmm/yyyy:hh:mm:ss ±hhmm` at s[p]. */
function scanClf(s: string, p: number): number {
  const d = d2(s, p);
  const mo = month3(s, p + 3);
  if (d < 0 || s.charCodeAt(p + 2) !== 47 || mo === 0 || s.charCodeAt(p + 6) !== 47) return NaN;
  const y = d4(s, p + 7);
  if (y < 0 || s.charCodeAt(p + 11) !== 58) return NaN;
  let i = scanClock(s, p + 12);
  if (i < 0 || !validDateTime(y, mo, d, clockH, clockM, clockS)) return NaN;
  const ms = fracMs;
  let out: number;
  const e = s.charCodeAt(i) === 32 && s.charCodeAt(i + 1) !== 90 ? scanOffset(s, i + 1) : -1;
  if (e >= 0) {
    i = e;
    out = utcMs(y, mo, d, clockH, clockM, clockS, ms) - offMin * 60000;
  } else {
    out = localMs(y, mo, d, clockH, clockM, clockS, ms);
  }
  timeScan.end = i;
  return inRange(out);
}

/**
 * A timestamp starting at s[p] (ISO, RFC 3164, ctime or common log format; not
 * bare epoch numbers, which are too ambiguous inside text). Returns epoch ms
 * and sets `timeScan.end`, or NaN.
 */
export function scanTimestamp(s: string, p: number, now?: number): number {
  const c = s.charCodeAt(p);
  if (isDigit(c)) {
    if (s.charCodeAt(p + 2) === 47) return scanClf(s, p);
    return scanIso(s, p, false);
  }
  if (((c | 0x20) >= 97 && (c | 0x20) <= 122)) return scanBsd(s, p, now);
  return NaN;
}

/** Epoch number by magnitude to ms, or NaN. */
export function epochToMs(v: number): number {
  if (!(v >= 1e8)) return NaN;
  let ms: number;
  if (v < 1e11) ms = Math.round(v * 1000);
  else if (v < 1e14) ms = Math.round(v);
  else if (v < 1e17) ms = Math.floor(v / 1000);
  else if (v < 1e20) ms = Math.floor(v / 1e6);
  else return NaN;
  return inRange(ms);
}

/** All digits with at most one '.', not empty. */
function isDecimal(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > 32) return false;
  let dot = false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (dot || i === 0 || i === n - 1) return false;
      dot = true;
    } else if (!isDigit(c)) return false;
  }
  return true;
}

/** A time value from a log field (string or number) to epoch ms; undefined when it is not one. */
export function parseTimestamp(v: unknown, now?: number): number | undefined {
  let ms: number;
  if (typeof v === 'number') {
    ms = epochToMs(v);
  } else if (typeof v === 'string') {
    const c = v.charCodeAt(0);
    if (isDigit(c)) {
      const sep = v.charCodeAt(4);
      if (sep === 45 || (sep === 47 && v.charCodeAt(2) !== 47)) ms = scanIso(v, 0, true);
      else if (v.charCodeAt(2) === 47) ms = scanClf(v, 0) + (timeScan.end === v.length ? 0 : NaN);
      else ms = isDecimal(v) ? epochToMs(Number(v)) : NaN;
    } else {
      ms = scanTimestamp(v, 0, now);
      if (timeScan.end !== v.length) ms = NaN;
    }
  } else {
    return undefined;
  }
  return ms === ms ? ms : undefined;
}
