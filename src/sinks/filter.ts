/**
 * Live-stream filters shared by SSE, TCP and backfill: `level` (comma list),
 * `min_level`, `source` (comma list), `q` (case-insensitive substring of the
 * message) and `re` (RE2 on the message; linear time, so a user pattern
 * cannot stall the hub). All given filters must match (AND).
 *
 * A ring entry's level sits beside its bytes and its message is a JSON
 * string in the block (src/wire/block.ts): `q` and `re` look at those bytes
 * and decode the message only when the bytes cannot decide (messageMatch).
 */
import RE2 from 're2';
import { LEVELS, type Level } from '../core/record.js';
import type { RecordView } from '../hub/entry.js';
import { literalIncludes, literalText } from '../wire/literal.js';
import { E, SluiceError } from '../core/errors.js';

export interface FilterQuery {
  level?: string;
  min_level?: string;
  source?: string;
  q?: string;
  re?: string;
}

const RANK = new Map<string, number>(LEVELS.map((l, i) => [l, i]));

export function buildFilter(q: FilterQuery): ((r: RecordView) => boolean) | undefined {
  const tests: ((r: RecordView) => boolean)[] = [];
  if (q.level) {
    const set = new Set(splitList(q.level));
    for (const l of set) if (!RANK.has(l)) throw new SluiceError(E.FILTER_INVALID, `level: unknown level "${l}" (one of ${LEVELS.join(', ')})`);
    tests.push((r) => r.level !== undefined && set.has(r.level));
  }
  if (q.min_level) {
    const min = RANK.get(q.min_level.trim());
    if (min === undefined) throw new SluiceError(E.FILTER_INVALID, `min_level: unknown level "${q.min_level}"`);
    tests.push((r) => r.level !== undefined && RANK.get(r.level as Level)! >= min);
  }
  if (q.source) {
    const set = new Set(splitList(q.source));
    tests.push((r) => set.has(r.source));
  }
  if (q.q) {
    const needle = q.q.toLowerCase();
    const bytes = /^[\x20-\x7e]*$/.test(needle) ? Buffer.from(JSON.stringify(needle).slice(1, -1), 'latin1') : null;
    tests.push((r) => {
      const m = bytes !== null ? r.messageBytes?.() : undefined;
      const sure = m !== undefined ? literalIncludes(m.buf, m.start, m.end, bytes!) : undefined;
      return sure ?? r.message.toLowerCase().includes(needle);
    });
  }
  if (q.re) {
    let re: RE2;
    try {
      re = new RE2(q.re);
    } catch (err) {
      throw new SluiceError(E.FILTER_INVALID, `re: invalid RE2 pattern: ${(err as Error).message}`);
    }
    tests.push((r) => {
      const m = r.messageBytes?.();
      const text = m !== undefined ? literalText(m.buf, m.start, m.end) : undefined;
      return re.test(text ?? r.message);
    });
  }
  if (tests.length === 0) return undefined;
  if (tests.length === 1) return tests[0];
  return (r) => {
    for (const t of tests) if (!t(r)) return false;
    return true;
  };
}

function splitList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}
