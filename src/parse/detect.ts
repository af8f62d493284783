/**
 * Format selection: `parseLine` runs the parser a source is configured for,
 * or in `auto` picks one from the first characters of the line, and falls
 * back to plain text whenever the chosen parser declines. It never throws and
 * always returns a ParsedLine.
 *
 * auto: '{' -> json; '<digits>' -> syslog (5424 when a version digit and a
 * space follow the PRI, else 3164); a leading BSD (`Mmm dd hh:mm:ss`) or ISO
 * timestamp -> 3164 if it has a syslog shape; a first token `key=...` ->
 * logfmt; otherwise plain.
 *
 * `parseCounters` counts which parser produced each line (the daemon exports
 * them as metrics): json, logfmt, syslog5424, syslog3164, plain (lines that are
 * plain text by choice or by detection), fallback (lines a forced format, or
 * an unmistakable '{' / '<PRI>' start, did not parse and went to plain).
 */
import type { ParsedLine } from '../core/record.js';
import { parseJson } from './json.js';
import { parseLogfmt } from './logfmt.js';
import { parsePlain } from './plain.js';
import { parseSyslog3164 } from './syslog3164.js';
import { parseSyslog5424 } from './syslog5424.js';
import { priEnd, scanPri } from './syslog-common.js';

export type Format = 'auto' | 'json' | 'logfmt' | 'syslog' | 'plain';

export const FORMATS: readonly Format[] = ['auto', 'json', 'logfmt', 'syslog', 'plain'];

export const parseCounters = { json: 0, logfmt: 0, syslog5424: 0, syslog3164: 0, plain: 0, fallback: 0 };

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function fallback(line: string, now: number | undefined): ParsedLine {
  parseCounters.fallback++;
  return parsePlain(line, now);
}

function plain(line: string, now: number | undefined): ParsedLine {
  parseCounters.plain++;
  return parsePlain(line, now);
}

/** A line with `<PRI>`: 5424 if a version follows, else 3164. */
function syslogWithPri(line: string, now: number | undefined): ParsedLine | undefined {
  const i = priEnd;
  if (isDigit(line.charCodeAt(i)) && (line.charCodeAt(i + 1) === 32 || (isDigit(line.charCodeAt(i + 1)) && line.charCodeAt(i + 2) === 32))) {
    const r = parseSyslog5424(line, now);
    if (r !== undefined) {
      parseCounters.syslog5424++;
      return r;
    }
  }
  const r = parseSyslog3164(line, now);
  if (r !== undefined) parseCounters.syslog3164++;
  return r;
}

function syslog3164(line: string, now: number | undefined): ParsedLine | undefined {
  const r = parseSyslog3164(line, now);
  if (r !== undefined) parseCounters.syslog3164++;
  return r;
}

/** First token is `key=`: a key of non-blank characters other than '=' and '"'. */
function looksLikeLogfmt(line: string): boolean {
  const len = line.length;
  for (let i = 0; i < len; i++) {
    const c = line.charCodeAt(i);
    if (c === 61) return i > 0;
    if (c <= 32 || c === 34) return false;
  }
  return false;
}

function logfmt(line: string, now: number | undefined): ParsedLine | undefined {
  const r = parseLogfmt(line, now);
  if (r !== undefined) parseCounters.logfmt++;
  return r;
}

function json(line: string, now: number | undefined): ParsedLine | undefined {
  const r = parseJson(line, now);
  if (r !== undefined) parseCounters.json++;
  return r;
}

function auto(line: string, now: number | undefined): ParsedLine {
  let i = 0;
  while (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9) i++;
  const c = line.charCodeAt(i);
  if (c === 123) return json(line, now) ?? fallback(line, now);
  if (c === 60 && i === 0) {
    if (scanPri(line) >= 0) return syslogWithPri(line, now) ?? fallback(line, now);
    return plain(line, now);
  }
  if (i === 0 && (isDigit(c) || ((c | 0x20) >= 97 && (c | 0x20) <= 122))) {
    // Cheap pre-checks before trying 3164: an ISO date (dddd-) or a month name and a space.
    if (isDigit(c) ? line.charCodeAt(4) === 45 && isDigit(line.charCodeAt(3)) : line.charCodeAt(3) === 32) {
      const r = syslog3164(line, now);
      if (r !== undefined) return r;
    }
  }
  if (looksLikeLogfmt(line)) return logfmt(line, now) ?? plain(line, now);
  return plain(line, now);
}

/** Parse one line in the given format; never throws, never returns undefined. */
export function parseLine(line: string, format: Format, now?: number): ParsedLine {
  try {
    switch (format) {
      case 'json':
        return json(line, now) ?? fallback(line, now);
      case 'logfmt':
        return logfmt(line, now) ?? fallback(line, now);
      case 'syslog':
        if (scanPri(line) >= 0) return syslogWithPri(line, now) ?? fallback(line, now);
        return syslog3164(line, now) ?? fallback(line, now);
      case 'plain':
        return plain(line, now);
      default:
        return auto(line, now);
    }
  } catch {
    // Defensive: the parsers are written not to throw (property-tested); if one ever does, the line still gets through.
    return fallback(line, now);
  }
}
