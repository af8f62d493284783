/**
 * An `extract` applied to a record's bytes, with no decode and no second
 * render (parse/gated.ts). In the bench's chain a quarter of the records
 * carry an address that `extract` takes; decoding each one (JSON.parse of
 * the record), running the chain on the object and rendering it again cost
 * more than the match itself.
 *
 * The bytes the JS path gives for such a record are the record's own with
 * `"<into>":<value as JSON>` added as the last key of `fields` (a key a
 * record does not have goes last: `fieldsTail` is JSON.stringify of the
 * fields in their order). That holds, and the patch is offered, only when:
 * - `into` is one plain key (no dot: no object to create) and not an array
 *   index (JS puts those first, not last);
 * - no other transform of the chain reads `fields.<into>` or below it (its
 *   gate saw the record without the new field);
 * - the record has no `"<into>":` anywhere in its fields' bytes (else the
 *   key may exist and keep its place);
 * - of the extract's candidates, only ones over the message with a pattern
 *   opened their gate (a candidate whose gate is shut yields nothing: a
 *   field whose name is not in the bytes is absent, a pattern that cannot
 *   match the message does not).
 * The caller also requires that this extract is the only transform whose
 * gate opened. The differential tests hold the result to the JS path's.
 */
import RE2 from 're2';
import type { TransformConfig } from './config.js';
import type { ExtractGate, Gate, RecordBytes } from './gates.js';
import { LiteralDecoder } from '../wire/literal.js';
import { holds } from './needle.js';

export interface ExtractPatch {
  /** The extract's own gate (gates.ts): its candidates' gates and which one opened. */
  gate: ExtractGate;
  /** Per candidate, its pattern when it is over the message (else undefined: not patchable when its gate is open). */
  res: (RE2 | undefined)[];
  /** Per candidate, when its group `v` is the whole pattern (wholeGroup): the pattern with the `g` flag. */
  ends: (RE2 | undefined)[];
  /** `"<into>":` in UTF-8: the key as it is written. */
  key: Buffer;
  keyText: string;
}

const decoder = new LiteralDecoder();

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/** Per transform of the (gated) chain, its patch when it is an extract that can take one; `gates` are the chain's (compileGates). */
export function compilePatches(cfgs: readonly TransformConfig[], gates: readonly Gate[]): (ExtractPatch | undefined)[] {
  return cfgs.map((c, k) => {
    if (c.type !== 'extract' || c.into.includes('.') || (ARRAY_INDEX.test(c.into) && Number(c.into) < 2 ** 32 - 1)) return undefined;
    const path = 'fields.' + c.into;
    const reads = (p: string): boolean => p === path || p.startsWith(path + '.') || p === 'fields';
    const others = cfgs.filter((_, j) => j !== k);
    if (others.some((o) => pathsOf(o).some(reads))) return undefined;
    return {
      gate: gates[k] as ExtractGate,
      res: c.from.map((f) => (f.field === 'message' && f.matches !== undefined ? new RE2(f.matches, 'u') : undefined)),
      ends: c.from.map((f) => (f.field === 'message' && f.matches !== undefined && wholeGroup(f.matches) ? new RE2(f.matches, 'gu') : undefined)),
      key: Buffer.from(JSON.stringify(c.into) + ':', 'utf8'),
      keyText: JSON.stringify(c.into) + ':',
    };
  });
}

const OPEN = '(?P<v>';

/**
 * Is `pattern` one group named v and nothing else, `(?P<v>X)`, so that
 * what v captures is the whole match? X must be a pattern by itself: RE2
 * then read it as one unit (its groups, classes, escapes and \Q...\E
 * quotes closed within it), and the last `)` closes v.
 */
export function wholeGroup(pattern: string): boolean {
  if (!pattern.startsWith(OPEN) || !pattern.endsWith(')')) return false;
  try {
    new RE2(pattern.slice(OPEN.length, -1), 'u');
    return true;
  } catch {
    return false;
  }
}

/** The record paths a transform reads or writes. */
function pathsOf(c: TransformConfig): string[] {
  switch (c.type) {
    case 'extract':
      return ['fields.' + c.into, ...c.from.map((f) => f.field)];
    case 'drop':
    case 'route':
    case 'redact':
      return [c.field];
    default:
      // the stateful ones never run in a parse thread; say "everything" to be safe
      return ['fields'];
  }
}

/**
 * The value the extract sets for record r, or undefined when it sets none;
 * null when the patch cannot decide (a non-message candidate opened, or the
 * key may already be there): decode the record instead. Asked right after
 * the extract's gate opened for r: the candidates before `gate.first` are
 * shut, and those after it are asked only when it yields nothing.
 */
export function patchValue(p: ExtractPatch, r: RecordBytes, message: () => string): string | undefined | null {
  if (holds(r.buf, r.msgEnd, r.end, p.key)) return null;
  const g = p.gate;
  for (let k = g.first; k < p.res.length; k++) {
    if (k > g.first && !g.cands[k]!(r)) continue;
    const re = p.res[k];
    if (re === undefined) return null;
    const whole = p.ends[k];
    if (whole !== undefined) {
      // the match's bounds from two calls that build no result (exec costs several times both): search
      // gives where it starts, a `g` test from there sets lastIndex where it ends. Both on UTF-8 bytes (a
      // string costs node-re2 a conversion and a weak handle per call): the message's own where its
      // literal is plain, else its literal's decoded into a scratch buffer (no string made)
      const text = r.plain ? r.buf.subarray(r.msgStart + 1, r.msgEnd - 1) : decoder.decode(r.buf, r.msgStart, r.msgEnd);
      whole.lastIndex = 0;
      const s = whole.search(text);
      if (s < 0) continue;
      whole.lastIndex = s;
      if (!whole.test(text) || whole.lastIndex === s) continue;
      return text.toString('utf8', s, whole.lastIndex);
    }
    const m = message();
    if (m === '') continue;
    const got = (re.exec(m)?.groups as Record<string, string | undefined> | undefined)?.v;
    if (got !== undefined && got.length > 0) return got;
  }
  return undefined;
}
