import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatIssues } from '../../config/load.js';
import { fileSourceSchema, multilineTableSchema } from './config.js';

describe('fileSourceSchema', () => {
  it('fills the defaults', () => {
    const c = fileSourceSchema.parse({ name: 'app', type: 'file', paths: ['/var/log/*.log'] });
    expect(c).toMatchObject({
      from: 'end',
      exclude: [],
      poll_interval: 1000,
      idle_flush: 1000,
      rotate_wait: 5000,
      read_buffer: 256 * 1024,
      format: 'auto',
      max_line_bytes: 1024 * 1024,
      follow_symlinks: true,
      allow_targets: [],
    });
    expect(c.multiline).toBeUndefined();
  });

  it('parses durations, sizes and multiline', () => {
    const c = fileSourceSchema.parse({
      name: 'app', type: 'file', paths: ['x'], poll_interval: '250ms', idle_flush: '2s', read_buffer: '64KiB',
      multiline: { start: '^\\d{4}-' },
    });
    expect(c.poll_interval).toBe(250);
    expect(c.idle_flush).toBe(2000);
    expect(c.read_buffer).toBe(65536);
    expect(c.multiline).toEqual({ start: '^\\d{4}-', timeout: 1000, max_lines: 500 });
  });

  it('reports a bad multiline RE2 pattern with its key path', () => {
    const root = z.object({ sources: z.array(fileSourceSchema) });
    const r = root.safeParse({ sources: [{ name: 'app', type: 'file', paths: ['x'], multiline: { start: '(a' } }] });
    expect(r.success).toBe(false);
    const issue = r.error!.issues.find((i) => i.path.join('.') === 'sources.0.multiline.start');
    expect(issue?.message).toMatch(/^invalid RE2 pattern: missing \)/);
  });

  it('takes a preset by name, alone or in the table with timeout and max_lines', () => {
    const parse = (multiline: unknown) => fileSourceSchema.parse({ name: 'app', type: 'file', paths: ['x'], multiline }).multiline;
    expect(parse('java')).toEqual({ preset: 'java', timeout: 1000, max_lines: 500 });
    expect(parse({ preset: 'python', timeout: '2s', max_lines: 50 })).toEqual({ preset: 'python', timeout: 2000, max_lines: 50 });
  });

  it('names a bad preset with its key path and lists the valid names (what sluice check prints)', () => {
    const root = z.object({ sources: z.array(fileSourceSchema) });
    const problems = (multiline: unknown) => formatIssues(root.safeParse({ sources: [{ name: 'app', type: 'file', paths: ['x'], multiline }] }).error!);
    const names = 'java, python, go, ruby, dotnet, stack';
    expect(problems('jav')).toEqual([`sources[0].multiline: unknown multiline preset "jav" (expected one of: ${names})`]);
    expect(problems({ preset: 'node', timeout: '2s' })).toEqual([`sources[0].multiline.preset: unknown multiline preset "node" (expected one of: ${names})`]);
  });

  it('wants exactly one of start and preset', () => {
    for (const multiline of [{ start: '^\\S', preset: 'java' }, { timeout: '1s' }]) {
      const r = fileSourceSchema.safeParse({ name: 'app', type: 'file', paths: ['x'], multiline });
      expect(r.error?.issues.map((i) => [i.path.join('.'), i.message]), JSON.stringify(multiline)).toEqual([
        ['multiline', 'set exactly one of `start` (an RE2 pattern) or `preset` (one of: java, python, go, ruby, dotnet, stack)'],
      ]);
    }
  });

  it('rejects what RE2 does not support (lookahead), unknown keys, empty paths', () => {
    const bad = [
      { name: 'a', type: 'file', paths: ['x'], multiline: { start: 'a(?=b)' } },
      { name: 'a', type: 'file', paths: ['x'], follow: true },
      { name: 'a', type: 'file', paths: [] },
      { name: 'a', type: 'file', paths: ['x'], poll_interval: '1ms' },
      { name: 'a', type: 'file', paths: ['x'], from: 'middle' },
    ];
    for (const b of bad) expect(fileSourceSchema.safeParse(b).success, JSON.stringify(b)).toBe(false);
  });

  it('describes every key', () => {
    // The shared sourceBase keys may carry theirs on the inner schema (under `.default()`).
    const own = new Set(['type', 'paths', 'exclude', 'from', 'poll_interval', 'idle_flush', 'rotate_wait', 'multiline', 'read_buffer']);
    for (const [k, s] of Object.entries(fileSourceSchema.shape)) {
      const inner = 'unwrap' in s && typeof s.unwrap === 'function' ? (s.unwrap() as { description?: string }).description : undefined;
      expect(own.has(k) ? s.description : (s.description ?? inner), k).toBeTruthy();
    }
    for (const [k, s] of Object.entries(multilineTableSchema.shape)) expect(s.description, k).toBeTruthy();
  });
});
