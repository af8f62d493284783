/**
 * BSD syslog (RFC 3164) and the forms it takes in practice:
 *
 *   <PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG      on the wire
 *   Mmm dd hh:mm:ss HOST TAG[PID]: MSG           /var/log/syslog, /var/log/messages
 *   2026-11-23T12:00:00.123456+00:00 HOST TAG[PID]: MSG
 *                                                rsyslog RSYSLOG_FileFormat / ForwardFormat
 *   <PRI>Mmm dd hh:mm:ss TAG[PID]: MSG           no HOST (local /dev/log writers)
 *   <PRI>MSG                                     no header at all (§4.3.3: PRI kept, the rest is MSG)
 *
 * app = TAG, fields.pid = PID, level = severity (PRI & 7), fields.facility
 * = facility name. The timestamp may also carry a year (`Mmm dd yyyy
 * hh:mm:ss`) or a fraction; the BSD form has no year and no zone: local
 * time, year inferred from `now` (see time.ts).
 *
 * Without a PRI a line must still look like syslog, so that application logs
 * that merely start with a timestamp fall through to plain text: a BSD
 * timestamp is enough, but after an ISO timestamp there must be a TAG, and the
 * HOST must not be a level word (`2026-... INFO main: started` is not syslog).
 */
import type { Level, ParsedLine } from '../core/record.js';
import { LEVEL_WORDS } from './level.js';
import { scanTimestamp, timeScan } from './time.js';
import { makeParsed } from './keys.js';
import { priEnd, priFacility, priLevel, scanPri, scanTag, tagName, tagPid } from './syslog-common.js';

/** Index of the next space at or after i, or len. */
function tokenEnd(line: string, i: number): number {
  const sp = line.indexOf(' ', i);
  return sp === -1 ? line.length : sp;
}

function skipSpaces(line: string, i: number): number {
  while (line.charCodeAt(i) === 32) i++;
  return i;
}

/** Hostname, FQDN, IPv4 or IPv6 characters only. */
function hostLike(line: string, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = line.charCodeAt(i);
    if (!((c >= 48 && c <= 58) || ((c | 0x20) >= 97 && (c | 0x20) <= 122) || c === 45 || c === 46 || c === 95)) return false;
  }
  return true;
}

/** Parse an RFC 3164 / BSD-style syslog line; undefined when it is not one. */
export function parseSyslog3164(line: string, now?: number): ParsedLine | undefined {
  const len = line.length;
  const pri = scanPri(line);
  let i = pri >= 0 ? priEnd : 0;
  const c0 = line.charCodeAt(i);
  let time: number | undefined;
  let iso = false;
  if ((c0 >= 48 && c0 <= 57) || ((c0 | 0x20) >= 97 && (c0 | 0x20) <= 122)) {
    const t = scanTimestamp(line, i, now);
    if (t === t && (timeScan.end === len || line.charCodeAt(timeScan.end) === 32)) {
      time = t;
      iso = c0 <= 57;
      i = skipSpaces(line, timeScan.end);
    }
  }
  if (time === undefined && pri < 0) return undefined;

  let host: string | undefined;
  let app: string | undefined;
  let pid: string | undefined;
  const t1s = i;
  const t1e = tokenEnd(line, i);
  if (t1e > t1s && scanTag(line, t1s, t1e)) {
    // No HOST: the first token is already the tag.
    app = tagName;
    pid = tagPid;
    i = t1e + 1;
    if (pri < 0 && iso && LEVEL_WORDS.has(app)) return undefined;
  } else if (time !== undefined && t1e > t1s) {
    if (pri < 0 && iso && !hostLike(line, t1s, t1e)) return undefined;
    // HOST, then maybe a TAG.
    const t2s = skipSpaces(line, t1e);
    const t2e = tokenEnd(line, t2s);
    if (t2e > t2s && scanTag(line, t2s, t2e)) {
      host = line.slice(t1s, t1e);
      app = tagName;
      pid = tagPid;
      i = t2e + 1;
    } else if (pri < 0 && iso) {
      return undefined;
    } else {
      host = line.slice(t1s, t1e);
      i = t2s;
    }
    if (pri < 0 && iso && (LEVEL_WORDS.has(host) || LEVEL_WORDS.has(app as string))) return undefined;
  } else if (pri < 0 && iso) {
    return undefined;
  }

  const message = i >= len ? '' : line.slice(i);
  let fields: Record<string, unknown>;
  let level: Level | undefined;
  if (pri >= 0) {
    level = priLevel(pri);
    fields = pid === undefined ? { facility: priFacility(pri) } : { facility: priFacility(pri), pid };
  } else {
    fields = pid === undefined ? {} : { pid };
  }
  return makeParsed(message, fields, time, level, host, app);
}
