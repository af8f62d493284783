/**
 * RFC 5424 syslog: `<PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`.
 *
 * - NILVALUE "-" means absent for every header field.
 * - level = severity (PRI & 7); fields.facility = facility name;
 *   fields.procid, fields.msgid when present.
 * - Structured data `[id k="v" ...][id2 ...]` becomes fields.sd =
 *   { id: { k: v } }, with `\"`, `\\` and `\]` unescaped (a backslash before
 *   anything else is kept, §6.3.3). A repeated PARAM-NAME within an element
 *   becomes an array of its values (§6.3.3 allows repeats); a repeated SD-ID
 *   merges into the first. Malformed SD stops SD parsing: what was parsed is
 *   kept and the rest of the line, from the bad element on, is the message,
 *   so nothing is lost.
 * - A UTF-8 BOM at the start of MSG is stripped.
 * - Lenient where real senders are sloppy: extra spaces between header
 *   fields, a missing SD (MSG right after MSGID), a timestamp that does not
 *   parse (time left undefined, the rest still parsed).
 *
 * Relayed lines (an envelope whose MSG is itself a syslog line, e.g. a
 * collector wrapping a container's `logger --rfc5424` output) are unwrapped,
 * up to two levels: MSG starting with `<PRI>` (5424 or 3164), `1 TIMESTAMP`
 * (5424 with the PRI stripped), `TIMESTAMP HOST APP PROCID MSGID SD` (5424
 * with PRI and VERSION stripped; SD must be "-" or "[", which tells it from
 * rsyslog's 3164 file format) or a BSD/ISO 3164 header with a tag. The inner
 * line's time, host, app, procid, msgid and MSG win; the outer level and
 * facility are used when the inner line has no PRI; SD of both are merged
 * (inner wins per SD-ID); the envelope's own header is kept in fields.relay =
 * { host, app, procid, msgid, time }.
 */
import type { Level, ParsedLine } from '../core/record.js';
import { parseSyslog3164 } from './syslog3164.js';
import { scanTimestamp, timeScan } from './time.js';
import { makeParsed, setField } from './keys.js';
import { priEnd, priFacility, priLevel, scanPri } from './syslog-common.js';

const MAX_DEPTH = 2;

/** One parsed 5424 header + SD + MSG (allocated per line; the nested path creates one per level). */
interface Parts {
  time: number | undefined;
  host: string | undefined;
  app: string | undefined;
  procid: string | undefined;
  msgid: string | undefined;
  sd: Record<string, Record<string, unknown>> | undefined;
  msg: string;
}

/** Header token [s, e) or undefined for NILVALUE. */
function tok(line: string, s: number, e: number): string | undefined {
  return e - s === 1 && line.charCodeAt(s) === 45 ? undefined : line.slice(s, e);
}

function nextSpace(line: string, i: number): number {
  return line.indexOf(' ', i);
}

function skipSpaces(line: string, i: number): number {
  while (line.charCodeAt(i) === 32) i++;
  return i;
}

// SD value scanning result.
let sdValueEnd = 0;

// Index of the next backslash at or after the current SD position (len when none): values
// before it need no unescaping and are cut with indexOf + slice.
let nextBackslash = 0;

/** PARAM-VALUE starting after its opening quote at i; sdValueEnd = -1 when unterminated. */
function scanSdValue(line: string, i: number): string {
  const len = line.length;
  if (nextBackslash < i) {
    nextBackslash = line.indexOf('\\', i);
    if (nextBackslash === -1) nextBackslash = len;
  }
  const q = line.indexOf('"', i);
  if (q !== -1 && q < nextBackslash) {
    sdValueEnd = q + 1;
    return line.slice(i, q);
  }
  let out = '';
  let run = i;
  while (i < len) {
    const c = line.charCodeAt(i);
    if (c === 34) {
      sdValueEnd = i + 1;
      return out + line.slice(run, i);
    }
    if (c === 92 && i + 1 < len) {
      const e = line.charCodeAt(i + 1);
      if (e === 34 || e === 92 || e === 93) {
        out += line.slice(run, i);
        run = i + 1; // keep the escaped character itself
        i += 2;
        continue;
      }
    }
    i++;
  }
  sdValueEnd = -1;
  return '';
}

// scanSd results.
let sdEnd = 0;
let sdBad = -1;

/**
 * Structured data elements starting at line[i] === '['. Returns the SD object
 * (or undefined if no element parsed); sdEnd = index after the last good
 * element, sdBad = start of a malformed element or -1.
 */
function scanSd(line: string, i: number): Record<string, Record<string, unknown>> | undefined {
  const len = line.length;
  let sd: Record<string, Record<string, unknown>> | undefined;
  sdBad = -1;
  nextBackslash = -1;
  while (i < len && line.charCodeAt(i) === 91) {
    const start = i;
    i++;
    let j = i;
    while (j < len) {
      const c = line.charCodeAt(j);
      if (c === 32 || c === 93 || c === 61 || c === 34) break;
      j++;
    }
    const c = line.charCodeAt(j);
    if (j === i || (c !== 32 && c !== 93)) {
      sdBad = start;
      break;
    }
    const id = line.slice(i, j);
    const params: Record<string, unknown> = {};
    i = j;
    let ok = false;
    while (i < len) {
      i = skipSpaces(line, i);
      if (line.charCodeAt(i) === 93) {
        ok = true;
        i++;
        break;
      }
      let k = i;
      while (k < len) {
        const d = line.charCodeAt(k);
        if (d === 61 || d === 32 || d === 93 || d === 34) break;
        k++;
      }
      if (k === i || line.charCodeAt(k) !== 61 || line.charCodeAt(k + 1) !== 34) break;
      const name = line.slice(i, k);
      const value = scanSdValue(line, k + 2);
      if (sdValueEnd < 0) break;
      i = sdValueEnd;
      const prev = Object.prototype.hasOwnProperty.call(params, name) ? params[name] : undefined;
      if (prev === undefined) setField(params, name, value);
      else if (Array.isArray(prev)) prev.push(value);
      else setField(params, name, [prev, value]);
    }
    if (!ok) {
      sdBad = start;
      break;
    }
    if (sd === undefined) sd = {};
    const existing = Object.prototype.hasOwnProperty.call(sd, id) ? sd[id] : undefined;
    if (existing === undefined) setField(sd, id, params);
    else for (const p in params) setField(existing, p, params[p]);
  }
  sdEnd = i;
  return sd;
}

// Header token bounds, scratch (parseFromTimestamp is done with them before any nested call).
const STARTS = new Int32Array(5);
const ENDS = new Int32Array(5);

/**
 * Header from TIMESTAMP on (line[i] is its first char), then SD and MSG.
 * Undefined when the header is cut short (fewer than five tokens).
 */
function parseFromTimestamp(line: string, i: number, now: number | undefined, requireSd: boolean): Parts | undefined {
  const len = line.length;
  const starts = STARTS;
  const ends = ENDS;
  for (let f = 0; f < 5; f++) {
    i = skipSpaces(line, i);
    const sp = nextSpace(line, i);
    if (sp === -1) {
      // The last header field may end the line (no SD, no MSG).
      if (f < 4 || i >= len) return undefined;
      starts[f] = i;
      ends[f] = len;
      i = len;
      break;
    }
    starts[f] = i;
    ends[f] = sp;
    i = sp + 1;
  }
  let time: number | undefined;
  if (!(ends[0] - starts[0] === 1 && line.charCodeAt(starts[0]) === 45)) {
    const t = scanTimestamp(line, starts[0], now);
    if (t === t && timeScan.end === ends[0]) time = t;
  }
  i = skipSpaces(line, i);
  let sd: Parts['sd'];
  let msgStart = i;
  const c = line.charCodeAt(i);
  if (c === 45 && (i + 1 >= len || line.charCodeAt(i + 1) === 32)) {
    msgStart = i + 2;
  } else if (c === 91) {
    sd = scanSd(line, i);
    if (sdBad >= 0) msgStart = sdBad;
    else msgStart = line.charCodeAt(sdEnd) === 32 ? sdEnd + 1 : sdEnd;
  } else if (requireSd) {
    return undefined;
  }
  let msg = msgStart >= len ? '' : line.slice(msgStart);
  if (msg.charCodeAt(0) === 0xfeff) msg = msg.slice(1);
  return {
    time,
    host: tok(line, starts[1], ends[1]),
    app: tok(line, starts[2], ends[2]),
    procid: tok(line, starts[3], ends[3]),
    msgid: tok(line, starts[4], ends[4]),
    sd,
    msg,
  };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Build the result for a 5424 line (`pri` >= 0) or a PRI-less nested one (`pri` < 0). */
function finish(p: Parts, pri: number, depth: number, now: number | undefined): ParsedLine {
  if (depth < MAX_DEPTH) {
    const inner = unwrap(p.msg, depth + 1, now);
    if (inner !== undefined) return merge(p, pri, inner);
  }
  const fields: Record<string, unknown> = {};
  if (pri >= 0) fields.facility = priFacility(pri);
  if (p.procid !== undefined) fields.procid = p.procid;
  if (p.msgid !== undefined) fields.msgid = p.msgid;
  if (p.sd !== undefined) fields.sd = p.sd;
  return makeParsed(p.msg, fields, p.time, pri >= 0 ? priLevel(pri) : undefined, p.host, p.app);
}

/** Outer envelope + already-finished inner line. */
function merge(outer: Parts, pri: number, inner: ParsedLine): ParsedLine {
  const f = inner.fields;
  const fields: Record<string, unknown> = {};
  let level: Level | undefined = inner.level;
  if (level === undefined && pri >= 0) level = priLevel(pri);
  if (f.facility !== undefined) fields.facility = f.facility;
  else if (pri >= 0) fields.facility = priFacility(pri);
  for (const k in f) if (k !== 'facility' && k !== 'sd') setField(fields, k, f[k]);
  const innerSd = f.sd as Record<string, Record<string, unknown>> | undefined;
  if (outer.sd !== undefined || innerSd !== undefined) {
    const sd: Record<string, unknown> = {};
    if (outer.sd !== undefined) for (const k in outer.sd) setField(sd, k, outer.sd[k]);
    if (innerSd !== undefined) for (const k in innerSd) setField(sd, k, innerSd[k]);
    fields.sd = sd;
  }
  const relay: Record<string, unknown> = {};
  if (outer.host !== undefined) relay.host = outer.host;
  if (outer.app !== undefined) relay.app = outer.app;
  if (outer.procid !== undefined) relay.procid = outer.procid;
  if (outer.msgid !== undefined) relay.msgid = outer.msgid;
  if (outer.time !== undefined) relay.time = outer.time;
  // An inner relay (two levels) is the outermost envelope's inner one: keep both, outermost first.
  if (f.relay !== undefined) fields.relay = [relay, f.relay].flat();
  else fields.relay = relay;
  return makeParsed(
    inner.message,
    fields,
    inner.time ?? outer.time,
    level,
    inner.host ?? outer.host,
    inner.app ?? outer.app,
  );
}

/** If `msg` is itself a syslog line, parse it; else undefined. */
function unwrap(msg: string, depth: number, now: number | undefined): ParsedLine | undefined {
  const c = msg.charCodeAt(0);
  if (c === 60) {
    const r = parse5424(msg, depth, now);
    if (r !== undefined) return r;
    return scanPri(msg) >= 0 ? parseSyslog3164(msg, now) : undefined;
  }
  if (c === 49 && msg.charCodeAt(1) === 32 && isDigit(msg.charCodeAt(2))) {
    // "1 TIMESTAMP ...": 5424 with its PRI stripped.
    const p = parseFromTimestamp(msg, 2, now, false);
    if (p !== undefined && p.time !== undefined) return finish(p, -1, depth, now);
    return undefined;
  }
  if (isDigit(c) || ((c | 0x20) >= 97 && (c | 0x20) <= 122)) {
    const t = scanTimestamp(msg, 0, now);
    if (t !== t || msg.charCodeAt(timeScan.end) !== 32) return undefined;
    if (isDigit(c)) {
      // "TIMESTAMP HOST APP PROCID MSGID SD MSG": 5424 without PRI and VERSION (SD must be there).
      const p = parseFromTimestamp(msg, 0, now, true);
      if (p !== undefined) return finish(p, -1, depth, now);
    }
    const r = parseSyslog3164(msg, now);
    // A BSD-stamped inner line must at least have a tag to count as a relayed syslog line.
    if (r !== undefined && r.app !== undefined) return r;
  }
  return undefined;
}

function parse5424(line: string, depth: number, now: number | undefined): ParsedLine | undefined {
  const pri = scanPri(line);
  if (pri < 0) return undefined;
  let i = priEnd;
  // VERSION: 1-3 digits, no leading zero, then a space.
  const v0 = line.charCodeAt(i);
  if (v0 < 49 || v0 > 57) return undefined;
  i++;
  while (i < priEnd + 3 && isDigit(line.charCodeAt(i))) i++;
  if (line.charCodeAt(i) !== 32) return undefined;
  const p = parseFromTimestamp(line, i + 1, now, false);
  if (p === undefined) return undefined;
  return finish(p, pri, depth, now);
}

/** Parse an RFC 5424 line; undefined when it is not one. */
export function parseSyslog5424(line: string, now?: number): ParsedLine | undefined {
  return parse5424(line, 0, now);
}
