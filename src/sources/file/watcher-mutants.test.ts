/**
 * PathWatcher beyond watcher.test.ts (found by mutation testing, `npm run
 * mutate`): what `matches` says for every kind of spec and exclude, brace
 * globs with a "/" recursing, hidden files, the ignored directories, the
 * errors a scan reports and the ones it keeps quiet about, and the directory
 * watches: re-armed to exactly what the last scan looked at, events passed on
 * with their file name, nothing after close.
 */
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PathWatcher, type WatcherOptions } from './watcher.js';

// fs.watch as is, but counted: which directories a PathWatcher asked to watch
const watchCalls = vi.hoisted(() => [] as string[]);
const watchers = vi.hoisted(() => new Map<string, import('node:fs').FSWatcher>());
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const watch = ((dir: string, ...rest: unknown[]) => {
    watchCalls.push(dir);
    const w = (fs.watch as (...a: unknown[]) => import('node:fs').FSWatcher)(dir, ...rest);
    watchers.set(dir, w);
    return w;
  }) as typeof fs.watch;
  return { ...fs, watch, default: { ...fs, watch } };
});

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0).reverse()) c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-watch-m-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function files(d: string, names: string[]): void {
  for (const n of names) {
    mkdirSync(join(d, n, '..'), { recursive: true });
    writeFileSync(join(d, n), 'x\n');
  }
}

function watcher(paths: string[], opts: Partial<WatcherOptions> = {}) {
  const events: Array<[string, string, string | null]> = [];
  const w = new PathWatcher({ paths, exclude: [], onEvent: (d, t, n) => events.push([d, t, n]), ...opts });
  cleanup.push(() => w.close());
  return { w, events };
}

const scanned = async (w: PathWatcher) => (await w.scan()).files.map((f) => f.path).sort();

/** Resolves once `pred` holds over the events seen (fs.watch delivers them on the loop). */
function until(events: unknown[], pred: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (pred() ? resolve() : setImmediate(check));
    check();
  });
}

describe('PathWatcher.matches', () => {
  it('a glob matches below its base only, by its depth; hidden names are not matched', () => {
    const d = '/srv/logs';
    const { w } = watcher([join(d, '*.log'), join(d, 'app/**/*.txt')]);
    expect(w.matches(join(d, 'a.log'))).toBe(true);
    expect(w.matches(join(d, 'x/a.log'))).toBe(false);
    expect(w.matches(join(d, '.a.log'))).toBe(false);
    expect(w.matches('/srv/a.log')).toBe(false);
    expect(w.matches('/srv/logs2/a.log')).toBe(false);
    expect(w.matches(join(d, 'app/x/y/z.txt'))).toBe(true);
    expect(w.matches(join(d, 'app/z.txt'))).toBe(true);
    expect(w.matches(join(d, 'other/z.txt'))).toBe(false);
  });

  it('a plain path matches itself and the files directly in it', () => {
    const { w } = watcher(['/srv/one.log', '/srv/dir']);
    expect(w.matches('/srv/one.log')).toBe(true);
    expect(w.matches('/srv/dir/x')).toBe(true);
    expect(w.matches('/srv/dir/sub/x')).toBe(false);
    expect(w.matches('/srv/two.log')).toBe(false);
  });

  it('relative paths and exclude patterns with a "/" resolve from cwd; those without one match the name, dot files too', () => {
    const { w } = watcher(['logs/*.log'], { cwd: '/srv', exclude: ['logs/skip*.log', '.*', 'no.log'] });
    expect(w.matches('/srv/logs/a.log')).toBe(true);
    expect(w.matches('/srv/logs/skip1.log')).toBe(false);
    expect(w.matches('/srv/logs/no.log')).toBe(false);
    const dirs = watcher(['/srv/dir'], { exclude: ['.*'] }).w;
    expect(dirs.matches('/srv/dir/.hidden')).toBe(false);
    expect(dirs.matches('/srv/dir/shown')).toBe(true);
  });

  it('never matches under an ignored directory (but beside it)', () => {
    const { w } = watcher(['/srv/**/*'], { ignoreDirs: ['/srv/state'] });
    expect(w.matches('/srv/state/x.json')).toBe(false);
    expect(w.matches('/srv/state2/x.json')).toBe(true);
  });

  it('a glob never reaches above its base, even one that could match ".."', () => {
    const { w } = watcher(['/srv/logs/.?/*.log']);
    expect(w.matches('/srv/logs/.x/a.log')).toBe(true);
    expect(w.matches('/srv/a.log')).toBe(false);
  });

  it('an exclude without "/" matches dot files with a wildcard too', () => {
    const { w } = watcher(['/srv/dir', '/srv/*.log'], { exclude: ['*.log'] });
    expect(w.matches('/srv/dir/.hidden.log')).toBe(false);
    expect(w.matches('/srv/dir/.hidden.txt')).toBe(true);
  });

  it('a glob at the root has "/" as its base', () => {
    const { w } = watcher(['/*.log']);
    expect(w.matches('/a.log')).toBe(true);
    expect(w.matches('/x/a.log')).toBe(false);
  });
});

describe('PathWatcher.scan', () => {
  it('a brace glob with a "/" in it recurses; a plain brace glob stays at its depth', async () => {
    const d = tempDir();
    files(d, ['a.log', 'sub/b.log', 'sub/deep/c.log']);
    expect(await scanned(watcher([join(d, '{sub/deep,x}/*.log')]).w)).toEqual([join(d, 'sub/deep/c.log')]);
    expect(await scanned(watcher([join(d, '{a,b}.log')]).w)).toEqual([join(d, 'a.log')]);
    expect(await scanned(watcher([join(d, '*/{b,c}.log')]).w)).toEqual([join(d, 'sub/b.log')]);
    // alternatives of different depths: each matched at its own (a.log is not at the glob's last level)
    expect(await scanned(watcher([join(d, '{a,sub/b}.log')]).w)).toEqual([join(d, 'a.log'), join(d, 'sub/b.log')]);
  });

  it('exclude applies to glob matches and directory entries; ignored directories are never listed as files', async () => {
    const d = tempDir();
    files(d, ['a.log', 'b.log', 'state/x.log', 'dir/k.log', 'dir/skip.log']);
    const { w } = watcher([join(d, '**/*.log'), join(d, 'dir')], { exclude: ['b.log', 'skip.log'], ignoreDirs: [join(d, 'state')] });
    expect(await scanned(w)).toEqual([join(d, 'a.log'), join(d, 'dir/k.log')]);
    const plain = watcher([join(d, 'b.log')], { exclude: ['b.log'] }).w;
    expect(await scanned(plain)).toEqual([]);
  });

  it('an unreadable directory or path is reported with its code; a missing one, or a file where a directory was expected, is not', async () => {
    if (process.getuid?.() === 0) {
      // root reads any directory: use a path whose stat fails otherwise (a name too long)
      const long = join(tempDir(), 'x'.repeat(300));
      const r = await watcher([long, join(long, '*.log')]).w.scan();
      // the plain path's stat, then its look as a file (links.ts), and the glob's listing
      expect(r.errors).toEqual([{ path: long, code: 'ENAMETOOLONG' }, { path: long, code: 'ENAMETOOLONG' }, { path: long, code: 'ENAMETOOLONG' }]);
    } else {
      const d = tempDir();
      mkdirSync(join(d, 'locked'));
      chmodSync(join(d, 'locked'), 0);
      cleanup.push(() => chmodSync(join(d, 'locked'), 0o755));
      const r = await watcher([join(d, 'locked'), join(d, 'locked/*.log')]).w.scan();
      expect(r.errors).toEqual([{ path: join(d, 'locked'), code: 'EACCES' }, { path: join(d, 'locked'), code: 'EACCES' }]);
    }
    const d = tempDir();
    files(d, ['f']);
    const r = await watcher([join(d, 'missing'), join(d, 'missing/*.log'), join(d, 'f/*.log')]).w.scan();
    expect(r).toEqual({ files: [], errors: [], refused: [], truncated: false });
  });

  it('watches the directories the last scan looked at, and no others after the next scan', async () => {
    const d = tempDir();
    files(d, ['a/x.log', 'b/y.log', 'a/deeper/z.log']);
    const { w } = watcher([join(d, '*/*.log'), join(d, 'a/x.log')]);
    watchCalls.length = 0;
    await w.scan();
    // not a/deeper: the glob has two levels
    expect(w.watchedDirs.sort()).toEqual([d, join(d, 'a'), join(d, 'b')].sort());
    rmSync(join(d, 'b'), { recursive: true });
    await w.scan();
    expect(w.watchedDirs.sort()).toEqual([d, join(d, 'a')].sort());
    // a directory already watched is not watched again
    expect(watchCalls.sort()).toEqual([d, join(d, 'a'), join(d, 'b')].sort());
  });

  it('a watch that fails is dropped, and armed again by the next scan', async () => {
    const d = tempDir();
    files(d, ['a/x.log', 'b/y.log']);
    const { w } = watcher([join(d, '*/*.log')]);
    await w.scan();
    watchCalls.length = 0;
    watchers.get(join(d, 'a'))!.emit('error', Object.assign(new Error('gone'), { code: 'ENOENT' }));
    expect(w.watchedDirs.sort()).toEqual([d, join(d, 'b')].sort());
    await w.scan();
    expect(watchCalls).toEqual([join(d, 'a')]);
    expect(w.watchedDirs.sort()).toEqual([d, join(d, 'a'), join(d, 'b')].sort());
  });

  it('a late error from a watch already replaced does not drop its successor', async () => {
    const d = tempDir();
    files(d, ['a/x.log']);
    const { w } = watcher([join(d, '*/*.log')]);
    await w.scan();
    const first = watchers.get(join(d, 'a'))!;
    rmSync(join(d, 'a'), { recursive: true });
    await w.scan(); // a is no longer looked at: its watch closed
    files(d, ['a/x.log']);
    await w.scan(); // watched again, by a new watch
    expect(watchers.get(join(d, 'a'))).not.toBe(first);
    first.emit('error', new Error('late'));
    expect(w.watchedDirs.sort()).toEqual([d, join(d, 'a')].sort());
  });

  it('watches at most 1024 directories', async () => {
    const d = tempDir();
    for (let i = 0; i < 1030; i++) mkdirSync(join(d, `d${i}`));
    const { w } = watcher([join(d, '*/*.log')]);
    await w.scan();
    expect(w.watchedDirs).toHaveLength(1024);
  });

  it('a directory spec takes no subdirectory as a file (not even a refused one)', async () => {
    const d = tempDir();
    files(d, ['sub/x.log', 'sub/deep/y.log']);
    const r = await watcher([join(d, 'sub')]).w.scan();
    expect(r).toEqual({ files: [expect.objectContaining({ path: join(d, 'sub/x.log') })], errors: [], refused: [], truncated: false });
  });

  it('passes fs.watch events on with the directory and file name, none after close; close drops the watches', async () => {
    const d = tempDir();
    const { w, events } = watcher([join(d, '*.log')]);
    await w.scan();
    writeFileSync(join(d, 'new.log'), 'x\n');
    await until(events, () => events.some(([dir, , name]) => dir === d && name === 'new.log'));
    expect(events.every(([dir, type]) => dir === d && (type === 'rename' || type === 'change'))).toBe(true);
    w.close();
    expect(w.watchedDirs).toEqual([]);
    expect((await w.scan()).files.map((f) => f.path)).toEqual([join(d, 'new.log')]); // a scan still works, arms nothing
    expect(w.watchedDirs).toEqual([]);
    const n = events.length;
    appendFileSync(join(d, 'new.log'), 'y\n');
    // a second, live watcher on the same directory sees the write: by then the closed one would have too
    const probe = watcher([join(d, '*.log')]);
    await probe.w.scan();
    appendFileSync(join(d, 'new.log'), 'z\n');
    await until(probe.events, () => probe.events.length > 0);
    expect(events.length).toBe(n);
  });
});
