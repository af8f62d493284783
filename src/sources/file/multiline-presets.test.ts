/**
 * The multiline presets on real traces: test/fixtures/multiline/ holds what
 * the JVM, CPython, the Go runtime and Ruby wrote to stderr for the programs
 * beside them (generate.sh regenerates them where the runtimes are
 * installed); the .NET traces are copied from Microsoft's documentation (.NET
 * is not packaged by Debian; dotnet/SOURCE.md says from where and what was
 * changed). Each preset must make every trace of its runtime exactly one
 * record, keep the log lines around it records of their own, and cut it only
 * where the timeout or max_lines says.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MultilineJoiner, compileStates } from './multiline.js';
import { MULTILINE_PRESETS, multilinePresetNames, multilineStates, type MultilinePreset } from './multiline-presets.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../../test/fixtures/multiline');

/** A captured trace as its lines (the file ends with the runtime's last newline). */
function trace(file: string): string[] {
  return readFileSync(path.join(FIXTURES, file), 'utf8').replace(/\n$/, '').split('\n');
}

const TRACES: Record<Exclude<MultilinePreset, 'stack'>, string[]> = {
  java: ['java/caused-by.txt', 'java/suppressed.txt', 'java/npe.txt'],
  python: ['python/context.txt', 'python/cause.txt', 'python/both.txt', 'python/thread.txt'],
  go: ['go/goroutines.txt', 'go/nil.txt', 'go/repanic.txt', 'go/deadlock.txt'],
  ruby: ['ruby/cause.txt', 'ruby/simple.txt', 'ruby/typo.txt'],
  dotnet: ['dotnet/type-initializer.txt', 'dotnet/untrusted-certificate.txt'],
};

/** The records a preset makes of these lines (the owner's final flush included), each as its lines. */
function join(preset: MultilinePreset, lines: string[], opts: { maxLines?: number; flushAfter?: number } = {}): string[][] {
  const out: string[][] = [];
  const j = new MultilineJoiner({ states: MULTILINE_PRESETS[preset], maxLines: opts.maxLines ?? 500, onRecord: (text) => out.push(text.split('\n')) });
  lines.forEach((l, i) => {
    j.push(l, i, 0);
    if (i + 1 === opts.flushAfter) j.flush(); // what the file source does after `timeout` of quiet
  });
  j.flush();
  return out;
}

// Log lines a program writes around its traces (a logger's line before a trace is a record of its own).
const LOG = [
  '2024-05-01T10:00:00.000Z INFO  service started on :8080',
  '2024-05-01T10:00:01.250Z ERROR request failed: user=42',
  '2024-05-01T10:00:02.500Z WARN  retry scheduled (attempt 2)',
  '2024-05-01T10:00:03.750Z INFO  shutting down',
];

describe('multiline presets', () => {
  it('are the names the config accepts, and every table compiles (states exist, patterns are RE2)', () => {
    expect(multilinePresetNames).toEqual(['java', 'python', 'go', 'ruby', 'dotnet', 'stack']);
    for (const name of multilinePresetNames) expect(() => compileStates(MULTILINE_PRESETS[name]), name).not.toThrow();
    expect(() => compileStates({ start: [{ match: 'x', to: 'nowhere' }] })).toThrow(/unknown state "nowhere"/);
    expect(multilineStates({ preset: 'go' })).toBe(MULTILINE_PRESETS.go);
  });

  for (const [preset, files] of Object.entries(TRACES) as [Exclude<MultilinePreset, 'stack'>, string[]][]) {
    describe(preset, () => {
      it.each(files)('%s is one record', (file) => {
        expect(join(preset, trace(file))).toEqual([trace(file)]);
      });

      it('makes each trace one record and each log line around them one record', () => {
        const lines: string[] = [LOG[0]!];
        const want: string[][] = [[LOG[0]!]];
        files.forEach((f, i) => {
          const l = LOG[1 + (i % 2)]!;
          lines.push(l, ...trace(f));
          want.push([l], trace(f));
        });
        lines.push(LOG[3]!);
        want.push([LOG[3]!]);
        expect(join(preset, lines)).toEqual(want);
      });

      it('a trace cut by the timeout: the part before it is one record, the rest another', () => {
        const t = trace(files[0]!);
        const cut = Math.ceil(t.length / 2);
        expect(join(preset, [LOG[0]!, ...t, LOG[3]!], { flushAfter: 1 + cut })).toEqual([[LOG[0]!], t.slice(0, cut), t.slice(cut), [LOG[3]!]]);
      });

      it('max_lines cuts a trace into records of at most that many lines, in order', () => {
        const t = trace(files[0]!);
        const max = Math.max(2, Math.floor(t.length / 3));
        const records = join(preset, [...t, LOG[3]!], { maxLines: max });
        expect(records[0]).toEqual(t.slice(0, max));
        expect(records.at(-1)).toEqual([LOG[3]!]);
        expect(records.every((r) => r.length <= max)).toBe(true);
        expect(records.slice(0, -1).flat()).toEqual(t);
      });
    });
  }

  it('java and dotnet: traces right after one another are separate records', () => {
    const [a, b] = [trace('java/caused-by.txt'), trace('java/suppressed.txt')];
    expect(join('java', [...a, ...b])).toEqual([a, b]);
    const [c, d] = [trace('dotnet/type-initializer.txt'), trace('dotnet/untrusted-certificate.txt')];
    expect(join('dotnet', [...c, ...d])).toEqual([c, d]);
  });

  it('python: two tracebacks in a row are two records; a chained one is not', () => {
    const [a, b] = [trace('python/context.txt'), trace('python/cause.txt')];
    expect(join('python', [...a, ...b])).toEqual([a, b]);
  });

  it('go: two dumps in a row are two records', () => {
    const [a, b] = [trace('go/nil.txt'), trace('go/deadlock.txt')];
    expect(join('go', [...a, ...b])).toEqual([a, b]);
  });

  it('ruby: an error line right after the frames of another is its cause (same record); after a log line it is not', () => {
    const c = trace('ruby/cause.txt');
    expect(join('ruby', c)).toEqual([c]);
    const [a, b] = [trace('ruby/simple.txt'), trace('ruby/typo.txt')];
    expect(join('ruby', [...a, LOG[1]!, ...b])).toEqual([a, [LOG[1]!], b]);
  });

  it('log lines that look like nothing the preset knows are emitted at once (no wait for the timeout)', () => {
    for (const preset of ['python', 'go', 'ruby'] as const) {
      const out: string[] = [];
      const j = new MultilineJoiner({ states: MULTILINE_PRESETS[preset], maxLines: 500, onRecord: (text) => out.push(text) });
      j.push(LOG[0]!, 1, 0);
      expect(out, preset).toEqual([LOG[0]]);
      expect(j.pendingLines).toBe(0);
    }
  });

  describe('stack (generic)', () => {
    const files = [...TRACES.java, ...TRACES.dotnet, ...TRACES.python, 'ruby/simple.txt'];

    it.each(files)('%s is one record', (file) => {
      expect(join('stack', [LOG[1]!, ...trace(file), LOG[3]!])).toEqual([[LOG[1]!], trace(file), [LOG[3]!]]);
    });

    it('splits what only a runtime preset knows: a Go dump, a Ruby cause', () => {
      expect(join('stack', trace('go/nil.txt')).length).toBeGreaterThan(1);
      expect(join('stack', trace('ruby/cause.txt'))).toEqual([trace('ruby/cause.txt').slice(0, 3), trace('ruby/cause.txt').slice(3)]);
    });
  });
});
