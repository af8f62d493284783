/**
 * JSON lines (pino, bunyan, zap, logrus/zerolog JSON, ECS, journald
 * `-o json`, docker json-file): one `JSON.parse`, then the message, level,
 * time, host and app are taken from the well-known keys listed in keys.ts and
 * everything else becomes `fields` (the keys used are left out).
 *
 * - Not a JSON object (first non-blank char is not '{', or invalid JSON):
 *   undefined, and the caller falls back to plain text.
 * - No message key: the message is the whole line.
 * - A non-string message (number, boolean) is stringified; an object or array
 *   under a message key is not a message and stays in fields.
 * - docker json-file's `log` carries the line's own '\n': stripped.
 *
 * Fields are copied into a fresh object rather than `delete`d from the parsed
 * one: delete turns V8 objects into slow dictionaries, and the copy measured
 * faster end to end (parse + stringify). A key that loses to a better-ranked
 * one stays in fields (possibly after the others in key order).
 */
import type { Level, ParsedLine } from '../core/record.js';
import { normalizeLevel } from './level.js';
import { parseTimestamp } from './time.js';
import { LEVEL_KEYS, ROLES, ROLE_HOST, ROLE_LEVEL, ROLE_MESSAGE, ROLE_TIME, makeParsed, setField } from './keys.js';

function firstNonBlank(line: string): number {
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    i++;
  }
  return i;
}

// the nested ECS form of log.level is handled on the key "log"
const NESTED_LOG_LEVEL_RANK = LEVEL_KEYS.indexOf('log.level');

/** Parse a JSON-object line; undefined when the line is not one. */
export function parseJson(line: string, now?: number): ParsedLine | undefined {
  if (line.charCodeAt(firstNonBlank(line)) !== 123) return undefined;
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;

  // One pass over the keys: ordinary keys go straight to fields; for each role
  // the best-ranked valid candidate so far is held back, and one it displaces
  // goes to fields. (One Map lookup per key measured faster than probing the
  // object for every well-known name: most probes miss and walk the prototype.)
  const fields: Record<string, unknown> = {};
  let message: string | undefined;
  let mKey = '';
  let mRank = 99;
  let level: Level | undefined;
  let lKey = '';
  let lRank = 99;
  let time: number | undefined;
  let tKey = '';
  let tRank = 99;
  let host: string | undefined;
  let hKey = '';
  let hRank = 99;
  let app: string | undefined;
  let aKey = '';
  let aRank = 99;
  for (const k in obj) {
    const v = obj[k];
    const r = ROLES.get(k);
    if (r === undefined) {
      setField(fields, k, v);
      continue;
    }
    const rank = r & 15;
    switch (r >> 4) {
      case ROLE_MESSAGE: {
        let m: string | undefined;
        if (typeof v === 'string') {
          m = k === 'log' && v.charCodeAt(v.length - 1) === 10 ? v.slice(0, v.charCodeAt(v.length - 2) === 13 ? -2 : -1) : v;
        } else if (typeof v === 'number' || typeof v === 'boolean') {
          m = String(v);
        } else if (k === 'log' && v !== null && typeof v === 'object' && !Array.isArray(v) && NESTED_LOG_LEVEL_RANK < lRank) {
          // ECS {"log":{"level":"info",...}}: a level candidate; the rest of `log` is added at the end if it wins.
          const l = normalizeLevel((v as Record<string, unknown>).level);
          if (l !== undefined) {
            if (lKey !== '') setField(fields, lKey, obj[lKey]);
            level = l;
            lKey = k;
            lRank = NESTED_LOG_LEVEL_RANK;
            continue;
          }
        }
        if (m !== undefined && rank < mRank) {
          if (mKey !== '') setField(fields, mKey, obj[mKey]);
          message = m;
          mKey = k;
          mRank = rank;
        } else setField(fields, k, v);
        break;
      }
      case ROLE_LEVEL: {
        const l = rank < lRank ? normalizeLevel(v) : undefined;
        if (l !== undefined) {
          if (lKey !== '') setField(fields, lKey, obj[lKey]);
          level = l;
          lKey = k;
          lRank = rank;
        } else setField(fields, k, v);
        break;
      }
      case ROLE_TIME: {
        const t = rank < tRank ? parseTimestamp(v, now) : undefined;
        if (t !== undefined) {
          if (tKey !== '') setField(fields, tKey, obj[tKey]);
          time = t;
          tKey = k;
          tRank = rank;
        } else setField(fields, k, v);
        break;
      }
      case ROLE_HOST:
        if (typeof v === 'string' && v !== '' && rank < hRank) {
          if (hKey !== '') setField(fields, hKey, obj[hKey]);
          host = v;
          hKey = k;
          hRank = rank;
        } else setField(fields, k, v);
        break;
      default:
        if (typeof v === 'string' && v !== '' && rank < aRank) {
          if (aKey !== '') setField(fields, aKey, obj[aKey]);
          app = v;
          aKey = k;
          aRank = rank;
        } else setField(fields, k, v);
        break;
    }
  }
  if (lKey === 'log') {
    // Keep the rest of the ECS `log` object.
    const log = obj.log as Record<string, unknown>;
    let rest: Record<string, unknown> | undefined;
    for (const kk in log) {
      if (kk === 'level') continue;
      if (rest === undefined) rest = {};
      setField(rest, kk, log[kk]);
    }
    if (rest !== undefined) fields.log = rest;
  }
  return makeParsed(message ?? line, fields, time, level, host, app);
}
