/**
 * Compiling user patterns. Only RE2 ever runs a user pattern (linear time, no
 * backtracking: `^(a+)+$` over 100 kB answers in well under a millisecond where
 * a JS RegExp runs for minutes). Matching is two-phase: one `RE2.Set` pass over
 * the line's UTF-8 bytes tells which rules hit (~4x faster than passing JS
 * strings, which the addon re-encodes per call: bench/rules.ts), then only
 * those rules run again for captures.
 */
import RE2 from 're2';
import { defineError } from '../core/errors.js';

export const RULE_ERR = {
  PATTERN_INVALID: defineError('SLUICE_ERR_RULE_PATTERN', 400, 'invalid pattern'),
} as const;

export const MAX_PATTERN_LENGTH = 4096;
/** Longest capture value kept in an event. */
export const MAX_CAPTURE_CHARS = 1024;

export type CompileResult = { ok: true; re: RE2 } | { ok: false; error: string };

/** Compile one pattern with RE2, returning RE2's message on failure. */
export function compilePattern(pattern: string): CompileResult {
  if (pattern.length === 0) return { ok: false, error: 'empty pattern' };
  if (pattern.length > MAX_PATTERN_LENGTH) return { ok: false, error: `pattern longer than ${MAX_PATTERN_LENGTH} characters` };
  try {
    return { ok: true, re: new RE2(pattern, 'u') };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/**
 * Named groups by name, unnamed groups as "$1", "$2"... (distinct keys, so no
 * group silently overwrites another). Unmatched optional groups are omitted.
 * Undefined when the pattern does not match. Given the line's UTF-8 bytes
 * (as the engine has them from the Set pass) RE2 does not re-encode the
 * string: about 3x faster per hit (bench/rules.ts).
 */
export function captures(re: RE2, text: string | Buffer): Record<string, string> | undefined {
  re.lastIndex = 0;
  const m = (typeof text === 'string' ? re.exec(text) : re.exec(text)) as ArrayLike<string | Buffer | undefined> | null;
  if (!m) return undefined;
  const out: Record<string, string> = {};
  if (m.length <= 1) return out;
  const names = groupNames(re);
  for (let i = 1; i < m.length; i++) {
    const raw = m[i];
    if (raw === undefined) continue;
    const v = typeof raw === 'string' ? raw : raw.toString('utf8');
    out[names[i - 1] ?? '$' + i] = v.length > MAX_CAPTURE_CHARS ? v.slice(0, MAX_CAPTURE_CHARS) + '…' : v;
  }
  return out;
}

/** Whether a pattern has capture groups at all (rules without them skip the second pass). */
export function hasGroups(re: RE2): boolean {
  return groupNames(re).length > 0;
}

const namesCache = new WeakMap<RE2, (string | undefined)[]>();

/** Group names by position (index 0 = group 1), parsed from the source once. */
export function groupNames(re: RE2): (string | undefined)[] {
  let names = namesCache.get(re);
  if (names) return names;
  names = [];
  const src = re.source;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') { i++; continue; }
    if (inClass) { if (c === ']') inClass = false; continue; }
    if (c === '[') { inClass = true; continue; }
    if (c !== '(') continue;
    if (src[i + 1] !== '?') { names.push(undefined); continue; }
    const named = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(src.slice(i, i + 300));
    if (named) names.push(named[1]);
    // other (?...) forms are non-capturing flags/groups
  }
  namesCache.set(re, names);
  return names;
}

/** `POST /api/rules/test` and `sluice rules test`: compile and try one line. */
export function testPattern(pattern: string, line: string): { matched: boolean; captures: Record<string, string> } {
  const c = compilePattern(pattern);
  if (!c.ok) throw Object.assign(new Error(c.error), { compileError: c.error });
  const caps = captures(c.re, line);
  return { matched: caps !== undefined, captures: caps ?? {} };
}

/**
 * Reusable UTF-8 scratch buffer for the Set pass: `write` into one buffer and
 * hand RE2 a view, instead of allocating a Buffer per line.
 */
export class Utf8Scratch {
  #buf = Buffer.allocUnsafe(64 * 1024);

  encode(text: string): Buffer {
    // UTF-16 code unit -> at most 3 UTF-8 bytes; grow before writing, since write() truncates silently.
    if (text.length * 3 > this.#buf.length) this.#buf = Buffer.allocUnsafe(text.length * 3);
    const n = this.#buf.write(text, 0, 'utf8');
    return this.#buf.subarray(0, n);
  }
}
