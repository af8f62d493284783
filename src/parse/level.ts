/**
 * Level normalization: maps the many spellings of a severity to one `Level`.
 *
 * - Words, case-insensitive: trace/trc/verbose/finest/finer, debug/dbg/fine,
 *   info/inf/information/informational, notice, warn/warning/wrn,
 *   err/error/severe, crit/critical/fatal/ftl/dpanic, alert,
 *   emerg/emergency/panic/pnc (syslog, log4j, JUL, .NET, zap, zerolog).
 * - Single letters where they are unambiguous (glog, Android): T/V trace,
 *   D debug, I info, W warn, E error, F critical. Not A or C (alert/assert,
 *   critical/config).
 * - Numbers and numeric strings: syslog severities 0-7 (0 emergency ... 7
 *   debug) and bunyan/pino levels by decade (10-19 trace, 20 debug, 30 info,
 *   40 warn, 50 error, 60 critical), so custom pino levels like 35 land in the
 *   decade below them. 8, 9 and 70+ are not levels.
 *
 * One Map lookup on the string as given (the common spellings are stored in
 * lower, UPPER and Capitalized form), a lowercase lookup only when that misses.
 */
import type { Level } from '../core/record.js';

/** Level words, lowercase (matched in any case). native/gen-tables.ts generates the C writer's copy from this. */
export const WORDS: ReadonlyArray<readonly [string, Level]> = [
  ['trace', 'trace'],
  ['trc', 'trace'],
  ['verbose', 'trace'],
  ['finest', 'trace'],
  ['finer', 'trace'],
  ['debug', 'debug'],
  ['dbg', 'debug'],
  ['fine', 'debug'],
  ['info', 'info'],
  ['inf', 'info'],
  ['information', 'info'],
  ['informational', 'info'],
  ['notice', 'notice'],
  ['warn', 'warn'],
  ['warning', 'warn'],
  ['wrn', 'warn'],
  ['err', 'error'],
  ['error', 'error'],
  ['severe', 'error'],
  ['crit', 'critical'],
  ['critical', 'critical'],
  ['fatal', 'critical'],
  ['ftl', 'critical'],
  ['dpanic', 'critical'],
  ['alert', 'alert'],
  ['emerg', 'emergency'],
  ['emergency', 'emergency'],
  ['panic', 'emergency'],
  ['pnc', 'emergency'],
];

/** Single-letter levels, lowercase (both cases match). */
export const LETTERS: ReadonlyArray<readonly [string, Level]> = [
  ['t', 'trace'],
  ['v', 'trace'],
  ['d', 'debug'],
  ['i', 'info'],
  ['w', 'warn'],
  ['e', 'error'],
  ['f', 'critical'],
];

/** Syslog severity (0-7) to level. */
export const SYSLOG_SEVERITY: readonly Level[] = ['emergency', 'alert', 'critical', 'error', 'warn', 'notice', 'info', 'debug'];

/** pino/bunyan decades 1..6 to level. */
export const DECADES: readonly Level[] = ['trace', 'debug', 'info', 'warn', 'error', 'critical'];

function addForms(map: Map<string, Level>, word: string, level: Level): void {
  map.set(word, level);
  map.set(word.toUpperCase(), level);
  map.set(word[0].toUpperCase() + word.slice(1), level);
}

/** Level words only (no letters, no numbers): what a free-text scan may match. */
export const LEVEL_WORDS: ReadonlyMap<string, Level> = (() => {
  const m = new Map<string, Level>();
  for (const [w, l] of WORDS) addForms(m, w, l);
  return m;
})();

/** Single letters (both cases). */
export const LEVEL_LETTERS: ReadonlyMap<string, Level> = (() => {
  const m = new Map<string, Level>();
  for (const [w, l] of LETTERS) addForms(m, w, l);
  return m;
})();

const ALL: Map<string, Level> = (() => {
  const m = new Map<string, Level>(LEVEL_WORDS);
  for (const [k, v] of LEVEL_LETTERS) m.set(k, v);
  for (let i = 0; i < 8; i++) m.set(String(i), SYSLOG_SEVERITY[i]);
  for (let d = 1; d <= 6; d++) m.set(String(d * 10), DECADES[d - 1]);
  return m;
})();

/** A numeric level: syslog 0-7 or a pino/bunyan level 10-69. */
export function levelFromNumber(n: number): Level | undefined {
  if (!Number.isInteger(n)) return undefined;
  if (n >= 0 && n <= 7) return SYSLOG_SEVERITY[n];
  if (n >= 10 && n < 70) return DECADES[((n / 10) | 0) - 1];
  return undefined;
}

/** Normalize a level value found in a log line (string or number); undefined when it is not one. */
export function normalizeLevel(v: unknown): Level | undefined {
  if (typeof v === 'string') {
    const hit = ALL.get(v);
    if (hit !== undefined) return hit;
    const n = v.length;
    if (n === 0 || n > 16) return undefined;
    const c = v.charCodeAt(0);
    if (c >= 48 && c <= 57) {
      // Short all-digit strings only ("35"); Number() would also accept "0x1f", "1e1".
      let x = 0;
      for (let i = 0; i < n; i++) {
        const d = v.charCodeAt(i) - 48;
        if (d < 0 || d > 9 || i > 2) return undefined;
        x = x * 10 + d;
      }
      return levelFromNumber(x);
    }
    return ALL.get(v.trim().toLowerCase());
  }
  if (typeof v === 'number') return levelFromNumber(v);
  return undefined;
}
