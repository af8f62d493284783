import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { PathWatcher } from './watcher.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

function tree(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-watch-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  mkdirSync(join(d, 'sub/deep'), { recursive: true });
  mkdirSync(join(d, 'dir.log'));
  for (const f of ['a.log', 'b.txt', 'c.log', '.hidden.log', 'sub/d.log', 'sub/deep/e.log', 'sub/f.txt']) writeFileSync(join(d, f), 'x\n');
  execFileSync('mkfifo', [join(d, 'pipe.log')]); // not a regular file: never opened (it would block)
  return d;
}

async function scan(paths: string[], exclude: string[] = [], cwd?: string) {
  const w = new PathWatcher({ paths, exclude, cwd, onEvent: () => undefined });
  cleanup.push(() => w.close());
  const r = await w.scan();
  return { w, r, files: r.files.map((f) => f.path).sort() };
}

describe('PathWatcher', () => {
  it('matches a glob in its base directory only (no recursion without **), regular files only', async () => {
    const d = tree();
    const { files, r } = await scan([join(d, '*.log')]);
    expect(files).toEqual([join(d, 'a.log'), join(d, 'c.log')]);
    expect(r.errors).toEqual([]);
    // the FIFO is refused, and said so (links.ts)
    expect(r.refused).toEqual([{ path: join(d, 'pipe.log'), code: 'ENOTREG', reason: `${join(d, 'pipe.log')} is a FIFO, not a regular file` }]);
  });

  it('recurses for ** and walks exactly the glob depth otherwise', async () => {
    const d = tree();
    expect((await scan([join(d, '**/*.log')])).files).toEqual(
      [join(d, 'a.log'), join(d, 'c.log'), join(d, 'sub/d.log'), join(d, 'sub/deep/e.log')].sort(),
    );
    expect((await scan([join(d, '*/*.log')])).files).toEqual([join(d, 'sub/d.log')]);
  });

  it('a directory means every regular file directly in it; literal files; relative paths; exclude', async () => {
    const d = tree();
    expect((await scan([join(d, 'sub')])).files).toEqual([join(d, 'sub/d.log'), join(d, 'sub/f.txt')]);
    expect((await scan(['a.log', 'missing.log'], [], d)).files).toEqual([join(d, 'a.log')]);
    expect((await scan([join(d, '**/*.log')], ['c.log', join(d, 'sub/deep/**')])).files).toEqual([join(d, 'a.log'), join(d, 'sub/d.log')]);
  });

  it('reports unreadable matches (a symlink loop) and keeps the rest', async () => {
    const d = tree();
    symlinkSync(join(d, 'loop.log'), join(d, 'loop.log'));
    const { files, r } = await scan([join(d, '*.log')]);
    expect(files).toEqual([join(d, 'a.log'), join(d, 'c.log')]);
    expect(r.errors).toEqual([{ path: join(d, 'loop.log'), code: 'ELOOP' }]);
  });

  it('tells whether a path would match, and watches the directories it listed', async () => {
    const d = tree();
    const { w } = await scan([join(d, '*.log'), join(d, 'sub')], ['c.log']);
    expect(w.matches(join(d, 'new.log'))).toBe(true);
    expect(w.matches(join(d, 'c.log'))).toBe(false);
    expect(w.matches(join(d, 'x.txt'))).toBe(false);
    expect(w.matches(join(d, 'sub/anything'))).toBe(true);
    expect(w.watchedDirs.sort()).toEqual([d, join(d, 'sub')].sort());
  });
});
