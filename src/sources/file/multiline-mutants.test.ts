/**
 * MultilineJoiner and compileStates beyond multiline.test.ts (found by
 * mutation testing, `npm run mutate`): a table is compiled once, the tables
 * it refuses and their messages, a state without rules, the first of a
 * state's rules winning when several match, `unless`, max_lines of 1 or
 * less, and what reset and flush leave behind.
 */
import { describe, expect, it } from 'vitest';
import { MultilineJoiner, compileStates, startPatternStates, type JoinStates } from './multiline.js';
import { MULTILINE_PRESETS, isMultilinePreset, multilineStates } from './multiline-presets.js';

interface Rec {
  text: string;
  end: number;
  lines: number;
}

function joiner(states: JoinStates, maxLines = 500) {
  const out: Rec[] = [];
  const j = new MultilineJoiner({ states, maxLines, onRecord: (text, end, lines) => out.push({ text, end, lines }) });
  /** Push lines with offsets 1, 2, ...after `from`. */
  const push = (lines: string[], from = 0) => lines.forEach((l, i) => j.push(l, from + i + 1, 0));
  return { j, out, push, texts: () => out.map((o) => o.text) };
}

describe('compileStates', () => {
  it('compiles a table once: the same table gives the same machine', () => {
    const t: JoinStates = { start: [{ match: 'a', to: 'start' }] };
    expect(compileStates(t)).toBe(compileStates(t));
    expect(compileStates({ ...t })).not.toBe(compileStates(t));
  });

  it('refuses a rule to an unknown state, an empty pattern with unless, and unless beside other rules, naming the state', () => {
    expect(() => compileStates({ start: [{ match: '', to: 'start' }], body: [{ match: 'x', to: 'gone' }] })).toThrow(
      new Error('multiline state "body": a rule goes to unknown state "gone"'),
    );
    expect(() => compileStates({ start: [{ match: '', to: 'b' }], b: [{ match: '', to: 'b', unless: true }] })).toThrow(
      new Error('multiline state "b": an empty pattern with unless never matches'),
    );
    expect(() => compileStates({ start: [{ match: '', to: 'b' }], b: [{ match: 'x', to: 'b', unless: true }, { match: 'y', to: 'b' }] })).toThrow(
      new Error('multiline state "b": unless is allowed only as a state\'s single rule'),
    );
    expect(() => compileStates({ start: [{ match: '', to: 'b' }], b: [{ match: 'x', to: 'b' }, { match: 'y', to: 'b', unless: true }] })).toThrow(/unless is allowed only/);
  });

  it('the `start` pattern form: every line begins a record, lines not matching `start` join it', () => {
    expect(startPatternStates('^S')).toEqual({ start: [{ match: '', to: 'record' }], record: [{ match: '^S', to: 'record', unless: true }] });
  });
});

describe('MultilineJoiner', () => {
  it('a state without rules takes no line: the record ends there and the line starts over', () => {
    const { push, texts, j } = joiner({ start: [{ match: '^B', to: 'end' }], end: [] });
    push(['B1', 'B2', 'x']);
    expect(texts()).toEqual(['B1', 'B2', 'x']);
    expect(j.pendingLines).toBe(0);
  });

  it('a single plain rule joins the lines matching it, and only those', () => {
    const { push, texts, j } = joiner({ start: [{ match: '^B', to: 'body' }], body: [{ match: '^ ', to: 'body' }] });
    push(['B', ' a', ' b', 'x', 'B', ' c']);
    expect(texts()).toEqual(['B\n a\n b', 'x']);
    expect(j.pendingLines).toBe(2);
  });

  it('when several of a state\'s rules match, the first listed wins', () => {
    const table: JoinStates = {
      start: [{ match: '^B', to: 'body' }],
      // 'zz' matches both the rule to `start` (listed first: ends the record) and the rule to `body`
      body: [{ match: '^z', to: 'start' }, { match: '^y', to: 'body' }, { match: 'z', to: 'body' }],
    };
    const { push, texts, j } = joiner(table);
    push(['B', 'y', 'zz', 'B', 'az', 'zz']);
    expect(texts()).toEqual(['B\ny\nzz', 'B\naz\nzz']);
    expect(j.pendingLines).toBe(0);
    const later: JoinStates = {
      start: [{ match: '^B', to: 'body' }],
      body: [{ match: 'z', to: 'body' }, { match: '^z', to: 'start' }],
    };
    const second = joiner(later);
    second.push(['B', 'zz']);
    expect(second.texts()).toEqual([]);
    expect(second.j.pendingLines).toBe(2);
  });

  it('the start rules of a table: the first that matches picks the state', () => {
    const table: JoinStates = {
      start: [{ match: '^A', to: 'a' }, { match: '^A|^B', to: 'b' }],
      a: [{ match: '^a', to: 'a' }],
      b: [{ match: '^b', to: 'b' }],
    };
    const { push, texts } = joiner(table);
    push(['A', 'a', 'b', 'B', 'b', 'a']);
    expect(texts()).toEqual(['A\na', 'b', 'B\nb', 'a']);
  });

  it('max_lines of 1 (or less) makes every line its own record, with its own end and line count', () => {
    for (const max of [1, 0, -3]) {
      const { push, out, j } = joiner(startPatternStates('^S'), max);
      push(['S', 'a', 'b']);
      expect(out, String(max)).toEqual([{ text: 'S', end: 1, lines: 1 }, { text: 'a', end: 2, lines: 1 }, { text: 'b', end: 3, lines: 1 }]);
      expect(j.pendingLines).toBe(0);
    }
    const two = joiner(startPatternStates('^S'), 2);
    two.push(['S', 'a', 'b']);
    expect(two.out).toEqual([{ text: 'S\na', end: 2, lines: 2 }]);
    expect(two.j.pendingLines).toBe(1);
  });

  it('after max_lines cuts, the next line is matched from start again', () => {
    const { push, texts } = joiner({ start: [{ match: '^B', to: 'body' }], body: [{ match: '', to: 'body' }] }, 2);
    push(['B', '1', '2', 'B', '3']);
    expect(texts()).toEqual(['B\n1', '2', 'B\n3']);
  });

  it('reset forgets the pending record and goes back to start; flush returns there too', () => {
    const { push, texts, j } = joiner({ start: [{ match: '^B', to: 'body' }], body: [{ match: '^ ', to: 'body' }] });
    push(['B', ' a']);
    j.reset();
    expect(j.pendingLines).toBe(0);
    expect(j.flush()).toBe(false);
    push([' b', 'B', ' c'], 2); // ' b' is tried at start: no rule takes it
    expect(texts()).toEqual([' b']);
    expect(j.flush()).toBe(true);
    expect(texts()).toEqual([' b', 'B\n c']);
    push([' d'], 5);
    expect(texts()).toEqual([' b', 'B\n c', ' d']);
  });

  it('a record of one pending line carries its end offset and count; of several, the end of the last', () => {
    const { j, out } = joiner(startPatternStates('^S'));
    j.push('S', 10, 0);
    j.flush();
    j.push('S', 20, 0);
    j.push('x', 25, 0);
    j.push('y', 31, 0);
    j.flush();
    expect(out).toEqual([{ text: 'S', end: 10, lines: 1 }, { text: 'S\nx\ny', end: 31, lines: 3 }]);
  });
});

describe('multilineStates', () => {
  it('a preset name means its table; a start pattern its own table; an unknown name throws', () => {
    expect(multilineStates({ preset: 'java' })).toBe(MULTILINE_PRESETS.java);
    expect(multilineStates({ start: '^S' })).toEqual(startPatternStates('^S'));
    expect(() => multilineStates({ preset: 'node' })).toThrow(new Error('unknown multiline preset "node"'));
  });

  it('only the presets\' own names are presets (not what every object inherits)', () => {
    expect(isMultilinePreset('go')).toBe(true);
    expect(isMultilinePreset('toString')).toBe(false);
    expect(isMultilinePreset('constructor')).toBe(false);
  });
});
