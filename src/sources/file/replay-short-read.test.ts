/**
 * rebuildBatch when the file yields fewer bytes than its size said (cut
 * while it was being read): no batch rather than a partial one, and no
 * endless retry at the same offset; searchDir when an entry vanishes between
 * the listing and its stat. Both races are made deterministic by wrapping
 * node:fs/promises' open and stat (found by mutation testing, `npm run mutate`).
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

/** Reads at or past this offset return no bytes (end of file); Infinity = off. A stat of `gone` fails with ENOENT. */
const cut = vi.hoisted(() => ({ at: Infinity, gone: '' }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open = async (...args: Parameters<typeof real.open>): Promise<FileHandle> => {
    const fh = await real.open(...args);
    return new Proxy(fh, {
      get(target, prop) {
        if (prop === 'read') {
          return (buf: Buffer, off: number, len: number, pos: number) =>
            pos >= cut.at ? Promise.resolve({ bytesRead: 0, buffer: buf }) : target.read(buf, off, len, pos);
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  };
  const stat = ((p: string, ...rest: unknown[]) =>
    p === cut.gone
      ? Promise.reject(Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' }))
      : (real.stat as (...a: unknown[]) => unknown)(p, ...rest)) as typeof real.stat;
  return { ...real, open, stat, default: { ...real, open, stat } };
});

const { fileSourceSchema } = await import('./config.js');
const { rebuildBatch, searchDir } = await import('./replay.js');
const { FINGERPRINT_BYTES, fingerprintOf } = await import('./tailer.js');

const dirs: string[] = [];
afterEach(() => {
  cut.at = Infinity;
  cut.gone = '';
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('rebuildBatch, short read', () => {
  it('is null when a read inside the range finds the end of the file', async () => {
    const d = mkdtempSync(join(tmpdir(), 'sluice-replay-short-'));
    dirs.push(d);
    const f = join(d, 'app.log');
    const content = Buffer.from(Array.from({ length: 200 }, (_, i) => `line ${i} ${'y'.repeat(20)}`).join('\n') + '\n');
    writeFileSync(f, content);
    const st = statSync(f, { bigint: true });
    const last = {
      key: `${st.dev}:${st.ino}:${fingerprintOf(content.subarray(0, FINGERPRINT_BYTES))}`,
      path: f, from: 0, to: content.length, seqFirst: 1, seqLast: 200,
    };
    const cfg = fileSourceSchema.parse({ name: 'app', type: 'file', format: 'plain', paths: [f], read_buffer: 1024 });
    expect((await rebuildBatch(cfg, last))?.length).toBe(200); // the wrapper alone changes nothing
    cut.at = 2048; // the third read of 1 KiB finds nothing
    expect(await rebuildBatch(cfg, last)).toBeNull();
  });
});

describe('searchDir, an entry gone before its stat', () => {
  it('skips it and still finds the others', async () => {
    const d = mkdtempSync(join(tmpdir(), 'sluice-replay-gone-'));
    dirs.push(d);
    for (const n of ['a', 'b', 'c']) writeFileSync(join(d, n), n);
    const id = (n: string) => { const st = statSync(join(d, n), { bigint: true }); return `${st.dev}:${st.ino}`; };
    const ids = new Set([id('a'), id('b'), id('c')]);
    cut.gone = join(d, 'b');
    const found = await searchDir(d, ids);
    expect(Object.fromEntries(found)).toEqual({ [id('a')]: join(d, 'a'), [id('c')]: join(d, 'c') });
  });
});
