/**
 * A run of one-byte classes every match of a pattern contains: `\d\.\d` of
 * `\d+\.\d+\.\d+\.\d+`. A gate (gates.ts) looks for it in a message's bytes
 * before it asks RE2, as it looks for a required literal (probe.ts) where a
 * pattern has one. A pattern like the IPv4 one has no literal of three
 * characters, so every plain message was given to RE2: in the bench's
 * transforms case 81 % of the records, for 6 % that matched; each `test`
 * costs a view and a call into node-re2 (~0.7 us) where this loop over the
 * message costs a few nanoseconds per byte.
 *
 * It only ever says "no" when RE2 would: the classes are read from a
 * subset of RE2's syntax, and anything outside it (alternation, flags,
 * classes that reach past ASCII, escapes not listed here) either ends a run
 * or gives no factor at all. A class may hold more bytes than RE2's (a
 * superset only makes the filter weaker). Within a run, consecutive
 * classes stand for consecutive bytes of every match: an atom repeated
 * (`+`, `{2,}`) can only start or end a run, an optional one (`?`, `*`,
 * `{0,n}`) ends it, zero-width assertions (`\b`, `^`) are passed over.
 */

/** 256 flags per class, the classes one after another; `anchor` is the class with fewest bytes. */
export interface Factor {
  readonly sets: Uint8Array;
  readonly length: number;
  readonly anchor: number;
}

type Set = Uint8Array | null; // null: matches more than one byte, or something not understood
interface Item {
  set: Set;
  /** A group's items, when the item is a group. */
  inner?: Item[];
  zero?: boolean;
  min: number;
  max: number;
}

const range = (s: Uint8Array, a: number, b: number): void => void s.fill(1, a, b + 1);
const DIGIT = (s: Uint8Array): void => range(s, 0x30, 0x39);
const WORD = (s: Uint8Array): void => {
  DIGIT(s);
  range(s, 0x41, 0x5a);
  range(s, 0x61, 0x7a);
  s[0x5f] = 1;
};
const SPACE = (s: Uint8Array): void => {
  range(s, 0x09, 0x0d);
  s[0x20] = 1;
};
/** Escapes that stand for one ASCII byte class. */
const CLASS_ESC: Record<string, (s: Uint8Array) => void> = { d: DIGIT, w: WORD, s: SPACE };
/** Escapes that match no byte (assertions). */
const ZERO_ESC = new Set(['b', 'B', 'A', 'z']);
/** Escapes of one control byte. */
const CONTROL: Record<string, number> = { a: 0x07, f: 0x0c, t: 0x09, n: 0x0a, r: 0x0d, v: 0x0b };
/** Punctuation that stands for itself after a backslash. */
const PUNCT = /[!-/:-@[-`{-~]/;

class Bail extends Error {}

/** The factor of `pattern` with the fewest expected hits, or undefined when none can be read from it. */
export function requiredFactor(pattern: string): Factor | undefined {
  if (pattern.includes('|')) return undefined;
  let items: Item[];
  try {
    const p = { s: pattern, i: 0 };
    items = parseSeq(p);
    if (p.i !== pattern.length) return undefined;
  } catch (e) {
    if (e instanceof Bail) return undefined;
    throw e;
  }
  let best: Uint8Array[] | undefined;
  let bestScore = Infinity;
  for (const run of runs(items)) {
    // the chance that a random text byte starts the run, taking each byte as equally likely
    let score = 1;
    for (const s of run) score *= count(s) / 256;
    if (score < bestScore) {
      bestScore = score;
      best = run;
    }
  }
  if (best === undefined) return undefined;
  const sets = new Uint8Array(256 * best.length);
  let anchor = 0;
  best.forEach((s, k) => {
    sets.set(s, 256 * k);
    if (count(s) < count(best[anchor]!)) anchor = k;
  });
  return { sets, length: best.length, anchor };
}

/** Does buf[from, to) hold the factor? */
export function factorIn(f: Factor, buf: Uint8Array, from: number, to: number): boolean {
  const { sets, length: k, anchor: a } = f;
  const base = 256 * a;
  outer: for (let i = from + a, last = to - k + a; i <= last; i++) {
    if (sets[base + buf[i]!] === 0) continue;
    for (let j = 0, at = i - a; j < k; j++) if (j !== a && sets[256 * j + buf[at + j]!] === 0) continue outer;
    return true;
  }
  return false;
}

/** Are all the factor's bytes ones JSON writes as they are (printable ASCII but `"` and `\`)? */
export function factorVerbatim(f: Factor): boolean {
  for (let k = 0; k < f.length; k++) {
    for (let b = 0; b < 256; b++) {
      if (f.sets[256 * k + b] === 1 && (b < 0x20 || b > 0x7e || b === 0x22 || b === 0x5c)) return false;
    }
  }
  return true;
}

function count(s: Uint8Array): number {
  let n = 0;
  for (let b = 0; b < 256; b++) n += s[b]!;
  return n;
}

/** The runs of one-byte classes the items require one after another. */
function* runs(items: readonly Item[]): Generator<Uint8Array[]> {
  let run: Uint8Array[] = [];
  for (const it of flatten(items)) {
    if (it.zero === true) continue;
    if (it.inner !== undefined || it.set === null || it.min === 0) {
      // a repeated or optional group, a class not read, an optional atom: the run ends here
      if (run.length > 0) yield run;
      run = [];
      // what a group needs at least once is needed, though not next to what is around it
      if (it.inner !== undefined && it.min >= 1) yield* runs(it.inner);
      continue;
    }
    run.push(it.set);
    if (it.max !== 1) {
      // repeated: its first copy ends the run, its last copy starts the next one
      yield run;
      run = [it.set];
    }
  }
  if (run.length > 0) yield run;
}

/** The items with each group that is there exactly once replaced by its own items. */
function* flatten(items: readonly Item[]): Generator<Item> {
  for (const it of items) {
    if (it.inner !== undefined && it.min === 1 && it.max === 1) yield* flatten(it.inner);
    else yield it;
  }
}

function parseSeq(p: { s: string; i: number }): Item[] {
  const out: Item[] = [];
  while (p.i < p.s.length) {
    const c = p.s[p.i]!;
    if (c === ')') break;
    let it: Item;
    if (c === '(') {
      p.i++;
      if (p.s[p.i] === '?') {
        // only the non-capturing and the named groups: a flag group changes what the rest means
        const m = /^\?(?::|P<\w+>|<\w+>)/.exec(p.s.slice(p.i));
        if (m === null) throw new Bail();
        p.i += m[0].length;
      }
      const inner = parseSeq(p);
      if (p.s[p.i] !== ')') throw new Bail();
      p.i++;
      it = { set: null, inner, min: 1, max: 1 };
    } else if (c === '[') {
      it = { set: parseClass(p), min: 1, max: 1 };
    } else if (c === '\\') {
      it = parseEscape(p);
    } else if (c === '^' || c === '$') {
      p.i++;
      it = { set: null, zero: true, min: 1, max: 1 };
    } else if (c === '.' || c.charCodeAt(0) > 0x7e || c.charCodeAt(0) < 0x20) {
      // `.` and a character past ASCII match more than one byte
      p.i++;
      it = { set: null, min: 1, max: 1 };
    } else if ('*+?{'.includes(c)) {
      if (c === '{' && quantifier(p) === undefined) {
        p.i++;
        it = { set: one(0x7b), min: 1, max: 1 };
      } else throw new Bail(); // a quantifier with nothing before it
    } else {
      p.i++;
      it = { set: one(c.charCodeAt(0)), min: 1, max: 1 };
    }
    const q = quantifier(p);
    if (q !== undefined) {
      if (it.zero === true) throw new Bail();
      it.min = q.min;
      it.max = q.max;
    }
    out.push(it);
  }
  return out;
}

function one(b: number): Uint8Array {
  const s = new Uint8Array(256);
  s[b] = 1;
  return s;
}

/** A quantifier at p.i (consumed, with a lazy `?` after it), or undefined. */
function quantifier(p: { s: string; i: number }): { min: number; max: number } | undefined {
  const c = p.s[p.i];
  let q: { min: number; max: number } | undefined;
  if (c === '*') q = { min: 0, max: Infinity };
  else if (c === '+') q = { min: 1, max: Infinity };
  else if (c === '?') q = { min: 0, max: 1 };
  if (q !== undefined) p.i++;
  else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(p.s.slice(p.i));
    if (m === null) return undefined;
    p.i += m[0].length;
    const min = Number(m[1]);
    q = { min, max: m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]) };
  } else return undefined;
  if (p.s[p.i] === '?') p.i++;
  return q;
}

function parseEscape(p: { s: string; i: number }): Item {
  const n = p.s[p.i + 1];
  if (n === undefined) throw new Bail();
  p.i += 2;
  const cls = CLASS_ESC[n];
  if (cls !== undefined) {
    const s = new Uint8Array(256);
    cls(s);
    return { set: s, min: 1, max: 1 };
  }
  if (ZERO_ESC.has(n)) return { set: null, zero: true, min: 1, max: 1 };
  if (PUNCT.test(n)) return { set: one(n.charCodeAt(0)), min: 1, max: 1 };
  const ctl = CONTROL[n];
  if (ctl !== undefined) return { set: one(ctl), min: 1, max: 1 };
  if ('DWSC'.includes(n)) return { set: null, min: 1, max: 1 };
  if (n === 'p' || n === 'P' || n === 'x') {
    // \pL, \p{Greek}, \x41, \x{263a}: one character, not read here
    const m = (n === 'x' ? /^(?:[0-9A-Fa-f]{2}|\{[0-9A-Fa-f]+\})/ : /^(?:[A-Za-z]|\{\^?\w+\})/).exec(p.s.slice(p.i));
    if (m === null) throw new Bail();
    p.i += m[0].length;
    return { set: null, min: 1, max: 1 };
  }
  // octal, \Q...\E and the rest: not read here
  throw new Bail();
}

/** A bracket class of ASCII characters, ranges and \d \w \s; null when negated (it matches past ASCII). */
function parseClass(p: { s: string; i: number }): Set {
  p.i++;
  const negated = p.s[p.i] === '^';
  if (negated) p.i++;
  const s = new Uint8Array(256);
  let first = true;
  for (;;) {
    const c = p.s[p.i];
    if (c === undefined) throw new Bail();
    if (c === ']' && !first) {
      p.i++;
      // a negated class takes every character but these, bytes past ASCII too
      return negated ? null : s;
    }
    first = false;
    let lo: number;
    if (c === '\\') {
      const n = p.s[p.i + 1];
      if (n === undefined) throw new Bail();
      p.i += 2;
      const cls = CLASS_ESC[n];
      if (cls !== undefined) {
        cls(s);
        continue;
      }
      if (PUNCT.test(n)) lo = n.charCodeAt(0);
      else if (CONTROL[n] !== undefined) lo = CONTROL[n];
      else throw new Bail();
    } else if (c === '[') {
      throw new Bail(); // a POSIX name or a nested class
    } else {
      lo = c.charCodeAt(0);
      p.i++;
    }
    if (lo > 0x7e) throw new Bail();
    if (p.s[p.i] === '-' && p.s[p.i + 1] !== ']' && p.s[p.i + 1] !== undefined) {
      const h = p.s[p.i + 1]!;
      if (h === '\\' || h === '[' || h.charCodeAt(0) > 0x7e) throw new Bail();
      p.i += 2;
      const hi = h.charCodeAt(0);
      if (hi < lo) throw new Bail();
      range(s, lo, hi);
    } else s[lo] = 1;
  }
}
