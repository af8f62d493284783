import { describe, expect, it } from 'vitest';
import { MultilineJoiner } from './multiline.js';

function joiner(start: string, maxLines = 500) {
  const out: Array<{ text: string; end: number; lines: number }> = [];
  const j = new MultilineJoiner({ start, maxLines, onRecord: (text, end, lines) => out.push({ text, end, lines }) });
  return { j, out };
}

describe('MultilineJoiner', () => {
  it('joins a Java stack trace into one record and emits it when the next start line comes', () => {
    const { j, out } = joiner('^\\d{4}-\\d{2}-\\d{2} ');
    const lines = [
      '2024-05-01 10:00:00 ERROR request failed',
      'java.lang.IllegalStateException: boom',
      '\tat com.example.Foo.bar(Foo.java:42)',
      '\tat com.example.Main.main(Main.java:7)',
      'Caused by: java.io.IOException: disk',
      '\t... 2 more',
      '2024-05-01 10:00:01 INFO next',
    ];
    let off = 0;
    for (const l of lines) j.push(l, (off += l.length + 1), 1);
    expect(out).toHaveLength(1);
    expect(out[0]!.text).toBe(lines.slice(0, 6).join('\n'));
    expect(out[0]!.lines).toBe(6);
    expect(out[0]!.end).toBe(lines.slice(0, 6).reduce((n, l) => n + l.length + 1, 0));
    expect(j.pendingLines).toBe(1);
    expect(j.flush()).toBe(true);
    expect(out[1]!.text).toBe('2024-05-01 10:00:01 INFO next');
    expect(j.flush()).toBe(false);
  });

  it('lines before any start line form their own record; max_lines cuts', () => {
    const { j, out } = joiner('^START', 3);
    for (const [i, l] of ['orphan', 'START a', 'b', 'c', 'd', 'START e'].entries()) j.push(l, i + 1, 0);
    j.flush();
    expect(out.map((o) => o.text)).toEqual(['orphan', 'START a\nb\nc', 'd', 'START e']);
    expect(out.map((o) => o.end)).toEqual([1, 4, 5, 6]);
  });

  it('runs a table of states: a rule to `start` ends the record with its line; a line no start rule takes is a record at once', () => {
    const out: string[] = [];
    const j = new MultilineJoiner({
      states: { start: [{ match: '^BEGIN', to: 'body' }], body: [{ match: '^END', to: 'start' }, { match: '', to: 'body' }] },
      maxLines: 500,
      onRecord: (text) => out.push(text),
    });
    for (const [i, l] of ['x', 'BEGIN', 'a', 'END'].entries()) j.push(l, i + 1, 0);
    expect(out).toEqual(['x', 'BEGIN\na\nEND']); // at END, not when the next line comes
    expect(j.pendingLines).toBe(0);
    for (const [i, l] of ['y', 'BEGIN', 'b'].entries()) j.push(l, i + 5, 0);
    expect(out).toEqual(['x', 'BEGIN\na\nEND', 'y']);
    expect(j.pendingLines).toBe(2);
    j.flush();
    expect(out.at(-1)).toBe('BEGIN\nb');
  });

  it('records when the last line came, for the quiet timeout', () => {
    const { j } = joiner('^S');
    j.push('S1', 3, 1234);
    expect(j.lastLineAt).toBe(1234);
    j.reset();
    expect(j.pendingLines).toBe(0);
  });
});
