/**
 * Pieces shared by the RFC 5424 and RFC 3164 parsers: the `<PRI>` prefix,
 * facility names, and the "is this token a tag" test.
 */
import { SYSLOG_SEVERITY } from './level.js';
import type { Level } from '../core/record.js';

/** RFC 5424 §6.2.1 facility codes 0-23 by name (RFC 3164 names, as rsyslog prints them). */
export const FACILITIES: readonly string[] = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news',
  'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'security', 'console', 'solaris-cron',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
];

/** End of the last `scanPri` (index after '>'). */
export let priEnd = 0;

/** `<N>` at s[0] with N in 0..191 (1-3 digits, no leading zero except "0"); the PRI value or -1. */
export function scanPri(s: string): number {
  if (s.charCodeAt(0) !== 60) return -1;
  let v = 0;
  let i = 1;
  for (; i < 5; i++) {
    const c = s.charCodeAt(i);
    if (c === 62) break;
    const d = c - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    v = v * 10 + d;
  }
  if (i === 1 || i === 5 || s.charCodeAt(i) !== 62 || v > 191 || (i > 2 && s.charCodeAt(1) === 48)) return -1;
  priEnd = i + 1;
  return v;
}

export function priLevel(pri: number): Level {
  return SYSLOG_SEVERITY[pri & 7];
}

export function priFacility(pri: number): string {
  return FACILITIES[pri >> 3];
}

/** The tag token `line[s, e)` split as `name[pid]:` / `name:` / `name[pid]`; results in tagName/tagPid. */
export let tagName = '';
export let tagPid: string | undefined;

/**
 * Whether `line[s, e)` is an RFC 3164 TAG token: `name:`, `name[pid]:` or
 * `name[pid]` (the usual `tag[pid]: ` ends with the colon; some writers drop it).
 */
export function scanTag(line: string, s: number, e: number): boolean {
  if (e - s < 2 || e - s > 128) return false;
  let end = e;
  const colon = line.charCodeAt(end - 1) === 58;
  if (colon) end--;
  if (line.charCodeAt(end - 1) === 93) {
    // name[pid]
    const open = line.lastIndexOf('[', end - 1);
    if (open <= s || open >= end - 2) return false;
    for (let i = open + 1; i < end - 1; i++) {
      const c = line.charCodeAt(i);
      if (c < 48 || c > 57) return false;
    }
    tagName = line.slice(s, open);
    tagPid = line.slice(open + 1, end - 1);
    return tagName.indexOf('[') === -1 && tagName.indexOf(':') === -1;
  }
  if (!colon || end === s) return false;
  for (let i = s; i < end; i++) {
    const c = line.charCodeAt(i);
    if (c === 91 || c === 93 || c === 58) return false;
  }
  tagName = line.slice(s, end);
  tagPid = undefined;
  return true;
}
