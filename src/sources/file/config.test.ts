import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fileSourceSchema } from './config.js';

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
    const ml = fileSourceSchema.shape.multiline.unwrap();
    for (const [k, s] of Object.entries(ml.shape)) expect(s.description, k).toBeTruthy();
  });
});
