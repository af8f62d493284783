/**
 * A record's wire JSON (CONTRACT.md): the one writer of its bytes in
 * JavaScript (the native writer renders the same bytes and is tested against
 * this). Hand-built rather than one JSON.stringify of the whole object: the
 * fixed keys are pre-rendered and only the variable strings go through the
 * (fast, native) string escaper. The seq prefix is seq.ts's.
 */
import { LEVELS, type Level, type LogRecord, type Origin } from '../core/record.js';

/** True when an object has no own enumerable keys, without allocating a key array. */
function isEmpty(o: Record<string, unknown>): boolean {
  for (const _ in o) return false;
  return true;
}

// Sources reuse one origin object per file/container and a handful of
// source/stream names: the `"source":..,"stream":..,"origin":{..}` segment is
// rendered once per (origin, source, stream) and reused (re-stringifying the
// origin per record was ~1/3 of serializeRecord's cost, bench/).
interface Middle {
  source: string;
  stream: string;
  text: string;
}
const middles = new WeakMap<Origin, Middle>();

function middle(r: LogRecord): string {
  const o = r.origin;
  let m = middles.get(o);
  if (m === undefined || m.source !== r.source || m.stream !== r.stream) {
    const text = middleText(r.source, r.stream, JSON.stringify(o));
    // only immutable origins can be cached safely
    if (!Object.isFrozen(o)) return text;
    m = { source: r.source, stream: r.stream, text };
    middles.set(o, m);
  }
  return m.text;
}

/** The wire segment after the time's digits: `","source":..,"stream":..,"origin":{..}` (the origin given as its JSON). */
export function middleText(source: string, stream: string, originJson: string): string {
  return '","source":' + JSON.stringify(source) + ',"stream":' + JSON.stringify(stream) + ',"origin":' + originJson;
}

/**
 * Serialize to the wire format of CONTRACT.md. Hand-built rather than one
 * JSON.stringify of the whole object: the fixed keys are pre-rendered and only
 * the variable strings go through the (fast, native) string escaper.
 */
export function serializeRecord(r: LogRecord): string {
  return '{"seq":' + r.seq + serializeTail(r);
}

/** The wire JSON after `{"seq":N` (what a parse worker renders before a seq exists). */
export function serializeTail(r: LogRecord): string {
  return tailHead(r) + JSON.stringify(r.message) + tailFields(r);
}

/** `,"level":"<l>","message":` per level, and `,"message":` for none. */
const LEVEL_MESSAGE = new Map<string | undefined, string>([[undefined, ',"message":'], ...LEVELS.map((l) => [l, ',"level":"' + l + '","message":'] as [string, string])]);

/** The tail up to and including `"message":` (its three parts let a writer note where the message is). */
export function tailHead(r: LogRecord): string {
  return headWith(middle(r), r.time, r.host, r.app, r.level);
}

/** tailHead with the middle segment (middleText) given: a writer of many records with one origin renders it once. */
export function headWith(mid: string, time: number, host: string | undefined, app: string | undefined, level: Level | undefined): string {
  let s = ',"time":"' + isoTime(time) + mid;
  if (host !== undefined) s += ',"host":' + JSON.stringify(host);
  if (app !== undefined) s += ',"app":' + JSON.stringify(app);
  return s + LEVEL_MESSAGE.get(level)!;
}

/** The tail after the message: `,"fields":{...}}`. */
export function tailFields(r: LogRecord): string {
  return fieldsTail(r.fields);
}

export function fieldsTail(fields: Record<string, unknown>): string {
  return isEmpty(fields) ? ',"fields":{}}' : ',"fields":' + JSON.stringify(fields) + '}';
}

const P2 = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + i);
const P3 = Array.from({ length: 1000 }, (_, i) => (i < 10 ? '00' : i < 100 ? '0' : '') + i);
/** `HH:MM:` for each minute of the day, `SS.` for each second, `mmmZ` for each millisecond. */
const HHMM = Array.from({ length: 1440 }, (_, i) => P2[Math.floor(i / 60)] + ':' + P2[i % 60] + ':');
const SS = P2.slice(0, 60).map((s) => s + '.');
const MSZ = P3.map((s) => s + 'Z');
/** `YYYY-MM-DDT` by day number (epoch days); a log's times fall on few days. */
const DAYS = new Map<number, string>();

/** `YYYY-MM-DDT` of an epoch day number (H. Hinnant's days -> civil date). */
function civilDay(epochDays: number): string {
  const days = epochDays + 719_468;
  const era = Math.floor(days / 146_097);
  const doe = days - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const ys = y >= 1000 ? '' + y : y >= 100 ? '0' + y : y >= 10 ? '00' + y : '000' + y;
  return ys + '-' + P2[m] + '-' + P2[d] + 'T';
}

/**
 * RFC 3339 UTC with milliseconds, from tables instead of a Date per call:
 * log times are spread over the day, so caching by second missed and
 * Date#toISOString was 8% of the hub's CPU (bench/). The date part is cached
 * per day; the rest is three table lookups. Years outside 0..9999 fall back
 * to Date.
 */
export function isoTime(ms: number): string {
  if (!Number.isFinite(ms) || ms < -62167219200000 || ms >= 253402300800000) {
    const d = new Date(Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? ms : 0);
    return d.toISOString();
  }
  const t = Math.floor(ms);
  const days = Math.floor(t / 86_400_000);
  const rem = t - days * 86_400_000;
  let day = DAYS.get(days);
  if (day === undefined) {
    if (DAYS.size >= 4096) DAYS.clear();
    day = civilDay(days);
    DAYS.set(days, day);
  }
  const inMin = rem % 60_000;
  const sec = Math.floor(inMin / 1000);
  return day + HHMM[(rem - inMin) / 60_000]! + SS[sec]! + MSZ[inMin - sec * 1000]!;
}

/** A record's wire JSON after `{"seq":N`, in the three parts a block records the message's place from. */
export function recordParts(r: LogRecord): { head: string; lit: string; rest: string } {
  return { head: tailHead(r), lit: JSON.stringify(r.message), rest: tailFields(r) };
}
