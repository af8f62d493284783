/**
 * The file source's config slice beyond config.test.ts (found by mutation
 * testing, `npm run mutate`): the bounds of every number and their messages,
 * the multiline table's own bounds and defaults, the RE2 check's message,
 * and the key descriptions the docs are generated from.
 */
import { describe, expect, it } from 'vitest';
import { fileSourceSchema, multilineTableSchema, re2Error, type FileSourceInput } from './config.js';

const base = { name: 'app', type: 'file', paths: ['x'] } as const;
const parse = (over: Partial<Record<keyof FileSourceInput, unknown>>) => fileSourceSchema.safeParse({ ...base, ...over });
const messages = (over: Partial<Record<keyof FileSourceInput, unknown>>) =>
  parse(over).error?.issues.map((i) => [i.path.join('.'), i.message]) ?? [];

describe('fileSourceSchema bounds', () => {
  it('poll_interval: at least 10ms', () => {
    expect(parse({ poll_interval: 10 }).data?.poll_interval).toBe(10);
    expect(messages({ poll_interval: 9 })).toEqual([['poll_interval', 'must be at least 10ms']]);
  });

  it('read_buffer: between 1KiB and 64MiB, both included', () => {
    expect(parse({ read_buffer: 1024 }).data?.read_buffer).toBe(1024);
    expect(parse({ read_buffer: 64 * 1024 * 1024 }).data?.read_buffer).toBe(64 * 1024 * 1024);
    expect(messages({ read_buffer: 1023 })).toEqual([['read_buffer', 'must be between 1KiB and 64MiB']]);
    expect(messages({ read_buffer: 64 * 1024 * 1024 + 1 })).toEqual([['read_buffer', 'must be between 1KiB and 64MiB']]);
  });

  it('paths, exclude and allow_targets hold no empty string; from is start or end', () => {
    for (const over of [{ paths: [''] }, { exclude: [''] }, { allow_targets: [''] }]) expect(parse(over).success, JSON.stringify(over)).toBe(false);
    expect(parse({ exclude: ['a'], allow_targets: ['/b'], from: 'start', follow_symlinks: false }).data).toMatchObject({
      exclude: ['a'], allow_targets: ['/b'], from: 'start', follow_symlinks: false,
    });
    expect(parse({ rotate_wait: '2s', idle_flush: 0 }).data).toMatchObject({ rotate_wait: 2000, idle_flush: 0 });
  });
});

describe('multilineTableSchema', () => {
  it('max_lines from 1 to 100000, an integer; timeout and max_lines have defaults', () => {
    const ok = (v: unknown) => multilineTableSchema.safeParse({ start: 'x', max_lines: v }).success;
    expect([ok(1), ok(100_000), ok(0), ok(100_001), ok(1.5)]).toEqual([true, true, false, false, false]);
    expect(multilineTableSchema.parse({ preset: 'go' })).toEqual({ preset: 'go', timeout: 1000, max_lines: 500 });
  });

  it('start is a non-empty RE2 pattern; a bad one is named with the RE2 message', () => {
    expect(multilineTableSchema.safeParse({ start: '' }).success).toBe(false);
    const r = multilineTableSchema.safeParse({ start: '[z-a]' });
    expect(r.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['start', `invalid RE2 pattern: ${re2Error('[z-a]')}`]]);
    expect(re2Error('[z-a]')).toMatch(/invalid character class range/);
    expect(re2Error('^\\S')).toBeUndefined();
  });
});

describe('descriptions', () => {
  it('say what each key does (the docs and the JSON Schema are made from them)', () => {
    const s = fileSourceSchema.shape;
    expect(fileSourceSchema.description).toMatch(/^Tail log files: globs and directories, rotation/);
    expect(s.type.description).toBe('Tail files.');
    expect(s.paths.description).toMatch(/^Globs \(picomatch; "\*\*" recurses\) or directories/);
    expect(s.exclude.description).toBe('Globs of paths to skip; a pattern without "/" matches the file name.');
    expect(s.from.description).toMatch(/^Where to begin a file seen on the first start/);
    expect(s.poll_interval.description).toMatch(/^Safety-net rescan/);
    expect(s.idle_flush.description).toBe('Emit an unterminated last line after this much quiet.');
    expect(s.rotate_wait.description).toMatch(/^After a file is rotated away or deleted/);
    expect(s.read_buffer.description).toBe('Bytes read per chunk; one chunk becomes one batch.');
    expect(s.follow_symlinks.description).toMatch(/^Follow a matched path that is a symlink/);
    expect(s.allow_targets.description).toMatch(/^Globs \(picomatch, absolute; relative ones are resolved/);
    expect(s.multiline.description).toMatch(/^Join lines into records \(stack traces\)/);
    const m = multilineTableSchema.shape;
    expect(m.start.description).toMatch(/^RE2 pattern that matches the first line of a record/);
    expect(m.preset.description).toBe(
      'A preset that knows a runtime\'s stack traces: "java", "python", "go", "ruby", "dotnet", "stack" (see Multiline). Set `start` or `preset`, not both.',
    );
    expect(m.timeout.description).toBe('Emit a pending multiline record after this much quiet.');
    expect(m.max_lines.description).toBe('Emit a multiline record once it has this many lines.');
  });
});
