/**
 * logfmt (logrus text formatter, go-kit, Heroku router, slog TextHandler):
 * `key=value key="quoted value" bare_key`, with the same message / level /
 * time / host / app keys as JSON (keys.ts); everything else goes to `fields`
 * as strings (a bare key is `true`; the last of a repeated key wins).
 *
 * - Quoted values: `\"` and `\\`, and also `\n`, `\r`, `\t` and `\uXXXX` as
 *   Go's strconv.Quote writes them; any other backslash is kept as written;
 *   an unterminated quote runs to the end of the line.
 * - A bare value runs to the next whitespace (it may contain '=' and '"').
 * - Tokens that cannot be keys (`=x`, `"..."` without a key) are skipped.
 * - The line is logfmt only with at least two key=value pairs or a `msg=` /
 *   `message=` pair; otherwise undefined (the caller falls back to plain).
 *
 * One pass over the line into two reusable arrays, then one Map lookup per
 * key to find the special ones; the fields object is built once.
 */
import type { Level, ParsedLine } from '../core/record.js';
import { normalizeLevel } from './level.js';
import { parseTimestamp } from './time.js';
import { ROLES, ROLE_APP, ROLE_HOST, ROLE_LEVEL, ROLE_MESSAGE, ROLE_TIME, makeParsed, setField } from './keys.js';


// Reused across calls (the parser is synchronous and not re-entrant).
const KEYS: string[] = [];
const VALUES: (string | true)[] = [];

// Quoted-value scanning returns the value and leaves the end position here.
let quotedEnd = 0;

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  c |= 0x20;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** The quoted value whose opening quote is at line[q]. */
function scanQuoted(line: string, q: number): string {
  const len = line.length;
  const start = q + 1;
  const close = line.indexOf('"', start);
  const bs = line.indexOf('\\', start);
  if (close !== -1 && (bs === -1 || bs > close)) {
    quotedEnd = close + 1;
    return line.slice(start, close);
  }
  // Slow path: escapes.
  let out = '';
  let run = start;
  let i = start;
  while (i < len) {
    const c = line.charCodeAt(i);
    if (c === 34) {
      quotedEnd = i + 1;
      return out + line.slice(run, i);
    }
    if (c !== 92 || i + 1 >= len) {
      i++;
      continue;
    }
    const e = line.charCodeAt(i + 1);
    let rep: string | undefined;
    let skip = 2;
    if (e === 34) rep = '"';
    else if (e === 92) rep = '\\';
    else if (e === 110) rep = '\n';
    else if (e === 114) rep = '\r';
    else if (e === 116) rep = '\t';
    else if (e === 117 && i + 5 < len) {
      const h = (hexVal(line.charCodeAt(i + 2)) << 12) | (hexVal(line.charCodeAt(i + 3)) << 8) | (hexVal(line.charCodeAt(i + 4)) << 4) | hexVal(line.charCodeAt(i + 5));
      if (h >= 0) {
        rep = String.fromCharCode(h);
        skip = 6;
      }
    }
    if (rep === undefined) {
      i += 2; // unknown escape: keep both characters as written
      continue;
    }
    out += line.slice(run, i) + rep;
    i += skip;
    run = i;
  }
  quotedEnd = len;
  return out + line.slice(run, len);
}

/** Parse a logfmt line; undefined when it does not look like logfmt. */
export function parseLogfmt(line: string, now?: number): ParsedLine | undefined {
  const len = line.length;
  let n = 0;
  let pairs = 0;
  let hasMsg = false;
  let i = 0;
  while (i < len) {
    let c = line.charCodeAt(i);
    if (c <= 32) {
      i++;
      continue;
    }
    const ks = i;
    while (c > 32 && c !== 61 && c !== 34) {
      if (++i >= len) break;
      c = line.charCodeAt(i);
    }
    if (i === ks || (i < len && c === 34)) {
      // Not a key: a token starting with '=' or a quote, or `key"...`. Skip it (a quoted run as a whole).
      while (i < len && (c = line.charCodeAt(i)) > 32) {
        if (c === 34) {
          scanQuoted(line, i);
          i = quotedEnd;
        } else i++;
      }
      continue;
    }
    const key = line.slice(ks, i);
    let value: string | true;
    if (i < len && c === 61) {
      i++;
      if (i < len && line.charCodeAt(i) === 34) {
        value = scanQuoted(line, i);
        i = quotedEnd;
      } else {
        const vs = i;
        while (i < len && line.charCodeAt(i) > 32) i++;
        value = line.slice(vs, i);
      }
      pairs++;
      if (key === 'msg' || key === 'message') hasMsg = true;
    } else {
      value = true;
    }
    KEYS[n] = key;
    VALUES[n] = value;
    n++;
  }
  if (pairs < 2 && !hasMsg) return undefined;

  let message: string | undefined;
  let level: Level | undefined;
  let time: number | undefined;
  let host: string | undefined;
  let app: string | undefined;
  let mi = -1;
  let li = -1;
  let ti = -1;
  let hi = -1;
  let ai = -1;
  let mr = 99;
  let lr = 99;
  let tr = 99;
  let hr = 99;
  let ar = 99;
  for (let j = 0; j < n; j++) {
    const r = ROLES.get(KEYS[j]);
    if (r === undefined) continue;
    const v = VALUES[j];
    if (v === true) continue;
    const rank = r & 15;
    switch (r >> 4) {
      case ROLE_MESSAGE:
        if (rank < mr) {
          mr = rank;
          mi = j;
          message = v;
        }
        break;
      case ROLE_LEVEL:
        if (rank < lr) {
          const l = normalizeLevel(v);
          if (l !== undefined) {
            lr = rank;
            li = j;
            level = l;
          }
        }
        break;
      case ROLE_TIME:
        if (rank < tr) {
          const t = parseTimestamp(v, now);
          if (t !== undefined) {
            tr = rank;
            ti = j;
            time = t;
          }
        }
        break;
      case ROLE_HOST:
        if (rank < hr && v !== '') {
          hr = rank;
          hi = j;
          host = v;
        }
        break;
      case ROLE_APP:
        if (rank < ar && v !== '') {
          ar = rank;
          ai = j;
          app = v;
        }
        break;
    }
  }

  const fields: Record<string, unknown> = {};
  for (let j = 0; j < n; j++) {
    if (j === mi || j === li || j === ti || j === hi || j === ai) continue;
    setField(fields, KEYS[j], VALUES[j]);
  }
  return makeParsed(message ?? line, fields, time, level, host, app);
}

/** Characters that force a value into quotes: space and controls, '"', '=', DEL. */
function needsQuotes(v: string): boolean {
  if (v === '') return true;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c <= 32 || c === 34 || c === 61 || c === 127) return true;
  }
  return false;
}

function quote(v: string): string {
  let out = '"';
  let run = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    let rep: string | undefined;
    if (c === 34) rep = '\\"';
    else if (c === 92) rep = '\\\\';
    else if (c === 10) rep = '\\n';
    else if (c === 13) rep = '\\r';
    else if (c === 9) rep = '\\t';
    if (rep !== undefined) {
      out += v.slice(run, i) + rep;
      run = i + 1;
    }
  }
  return out + v.slice(run) + '"';
}

/** A key as logfmt can carry it: whitespace, control, '=' and '"' become '_'; empty becomes '_'. */
function formatKey(k: string): string {
  if (k === '') return '_';
  let out = '';
  let run = 0;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c <= 32 || c === 34 || c === 61 || c === 127) {
      out += k.slice(run, i) + '_';
      run = i + 1;
    }
  }
  return run === 0 ? k : out + k.slice(run);
}

/** Render fields as one logfmt line (values quoted and escaped when needed). */
export function formatLogfmt(fields: Record<string, string>): string {
  let out = '';
  for (const k in fields) {
    const v = String(fields[k]);
    if (out !== '') out += ' ';
    out += formatKey(k) + '=' + (needsQuotes(v) ? quote(v) : v);
  }
  return out;
}
