/**
 * The private data_dir at its edges (mutation testing), with node:fs wrapped
 * so a test can act between listing and chmod (swap a name for another file or
 * a symlink, delete it, answer EACCES as a non-root run would) and
 * worker_threads so both sides of the main-thread check run in one process:
 * the open-by-descriptor check and its by-name fallback, entries skipped
 * (FIFOs, vanished, unreadable), depth and entry bounds at their edges, the
 * special bits kept, openDataDir's errors.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

type Fs = typeof import('node:fs');
const hook = vi.hoisted(() => ({
  /** Runs before the real call; may throw in its place. */
  open: undefined as ((p: string, flags: number) => void) | undefined,
  readdir: undefined as ((p: string) => void) | undefined,
  lstat: undefined as ((p: string) => void) | undefined,
  /** May change what lstat answers. */
  lstatResult: undefined as ((p: string, st: import('node:fs').Stats) => void) | undefined,
  fchmod: undefined as (() => void) | undefined,
  access: undefined as ((p: string) => void) | undefined,
  /** Added to the device number fstat reports. */
  fstatDev: 0,
  main: true,
}));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<Fs>();
  const wrapped = {
    ...fs,
    openSync: (p: string, flags: number, mode?: number) => {
      hook.open?.(p, flags);
      return fs.openSync(p, flags, mode);
    },
    readdirSync: ((p: string) => {
      hook.readdir?.(p);
      return fs.readdirSync(p);
    }) as Fs['readdirSync'],
    lstatSync: ((p: string) => {
      hook.lstat?.(p);
      const st = fs.lstatSync(p);
      hook.lstatResult?.(p, st);
      return st;
    }) as Fs['lstatSync'],
    fstatSync: ((fd: number) => {
      const st = fs.fstatSync(fd);
      if (hook.fstatDev) st.dev += hook.fstatDev;
      return st;
    }) as Fs['fstatSync'],
    fchmodSync: (fd: number, mode: number) => {
      hook.fchmod?.();
      fs.fchmodSync(fd, mode);
    },
    accessSync: (p: string, mode?: number) => {
      hook.access?.(p);
      fs.accessSync(p, mode);
    },
  };
  return { ...wrapped, default: wrapped };
});
vi.mock('node:worker_threads', async (importOriginal) => {
  const wt = await importOriginal<typeof import('node:worker_threads')>();
  return {
    ...wt,
    get isMainThread() {
      return hook.main;
    },
  };
});

const fs = (await import('node:fs')).default;
const { DEFAULT_TIGHTEN_LIMITS, openDataDir, tightenPrivateDir, usePrivateUmask } = await import('./private-dir.js');
const { SluiceError } = await import('./errors.js');

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-private-m-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
afterEach(() => {
  Object.assign(hook, { open: undefined, readdir: undefined, lstat: undefined, lstatResult: undefined, fchmod: undefined, access: undefined, fstatDev: 0, main: true });
  vi.restoreAllMocks();
});
let n = 0;
const mode = (p: string) => fs.lstatSync(p).mode & 0o7777;
const errno = (code: string) => Object.assign(new Error(`${code}: injected`), { code });

/** A data_dir (0700) with the given files and directories under it, each at its mode. */
function tree(entries: Record<string, number>, dataMode = 0o700): string {
  const data = path.join(root, `t${n++}`, 'data');
  fs.mkdirSync(data, { recursive: true });
  for (const [rel, m] of Object.entries(entries)) {
    const abs = path.join(data, rel);
    if (rel.endsWith('/')) fs.mkdirSync(abs, { recursive: true });
    else {
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, 'x');
    }
    fs.chmodSync(abs, m);
  }
  fs.chmodSync(data, dataMode);
  return data;
}
function run(data: string, limits = DEFAULT_TIGHTEN_LIMITS) {
  const logs: string[] = [];
  const changed = tightenPrivateDir(data, (m) => logs.push(m), 'data', limits);
  return { logs, changed };
}
/** Once, when `name` is opened: run `act` first (the swap between listing and chmod). */
function onOpen(name: string, act: (abs: string) => void) {
  hook.open = (p) => {
    if (path.basename(p) !== name) return;
    hook.open = undefined;
    act(p);
  };
}
/** Replace `abs` by a symlink to a hard link of itself: the same inode, reached through a link. */
function linkToSelf(abs: string): string {
  const other = abs + '.same';
  fs.linkSync(abs, other);
  fs.unlinkSync(abs);
  fs.symlinkSync(other, abs);
  return other;
}
function replaceWithOther(abs: string): void {
  fs.writeFileSync(abs + '.new', 'y');
  fs.chmodSync(abs + '.new', 0o644);
  fs.renameSync(abs + '.new', abs);
}

describe('tightenPrivateDir: the entry changed between listing and chmod', () => {
  it('a file replaced by another is left alone and not reported', () => {
    const data = tree({ 'a.db': 0o644, 'b.db': 0o644 });
    onOpen('a.db', replaceWithOther);
    const { logs, changed } = run(data);
    expect(mode(path.join(data, 'a.db'))).toBe(0o644);
    expect(changed).toEqual([path.join(data, 'b.db')]);
    expect(logs).toEqual(['data/b.db was mode 0644; set to 0600']);
  });

  it('a file replaced by a symlink, even to the same inode, is not followed', () => {
    const data = tree({ 'a.db': 0o644 });
    let same = '';
    onOpen('a.db', (abs) => (same = linkToSelf(abs)));
    expect(run(data)).toEqual({ changed: [], logs: [] }); // not ours to judge: not even a warning
    expect(mode(same)).toBe(0o644);
  });

  it('closes every descriptor it opened', () => {
    const data = tree({ 'a.db': 0o644, 'b.db': 0o600, 'd/': 0o755 });
    run(data);
    const into = fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(data);
      } catch {
        return false;
      }
    });
    expect(into).toEqual([]);
  });

  it('a file deleted before its chmod is skipped', () => {
    const data = tree({ 'a.db': 0o644, 'b.db': 0o644 });
    onOpen('a.db', (abs) => fs.unlinkSync(abs));
    expect(run(data).logs).toEqual(['data/b.db was mode 0644; set to 0600']);
  });

  it('the same inode number on another device is another file', () => {
    const data = tree({ 'a.db': 0o644 });
    hook.fstatDev = 1;
    expect(run(data).changed).toEqual([]);
    expect(mode(path.join(data, 'a.db'))).toBe(0o644);
  });
});

describe('tightenPrivateDir: an entry its owner cannot read (EACCES on open, as when not root)', () => {
  const denyOpen = (name: string, act?: (abs: string) => void) =>
    onOpen(name, (abs) => {
      act?.(abs);
      throw errno('EACCES');
    });

  it('is changed by name after a fresh lstat', () => {
    const data = tree({ 'a.db': 0o244 });
    denyOpen('a.db');
    expect(run(data).logs).toEqual(['data/a.db was mode 0244; set to 0200']);
    expect(mode(path.join(data, 'a.db'))).toBe(0o200);
  });

  it('is left alone when it became another file or a symlink meanwhile', () => {
    const data = tree({ 'a.db': 0o244, 'b.db': 0o244 });
    denyOpen('a.db', replaceWithOther);
    let same = '';
    const first = run(data);
    expect(first.changed).toEqual([path.join(data, 'b.db')]);
    expect(mode(path.join(data, 'a.db'))).toBe(0o644);
    const again = tree({ 'a.db': 0o244 });
    denyOpen('a.db', (abs) => (same = linkToSelf(abs)));
    expect(run(again).changed).toEqual([]);
    expect(mode(same)).toBe(0o244);
  });

  it('is left alone when its fresh lstat shows the same inode number on another device', () => {
    const data = tree({ 'a.db': 0o244 });
    denyOpen('a.db');
    let seen = 0;
    hook.lstatResult = (p, st) => {
      if (path.basename(p) === 'a.db' && ++seen === 2) st.dev += 1; // the listing's lstat, then the fallback's
    };
    expect(run(data).changed).toEqual([]);
    expect(seen).toBe(2);
    hook.lstatResult = undefined;
    expect(mode(path.join(data, 'a.db'))).toBe(0o244);
  });

  it('data_dir itself, a symlink the operator chose: its target is checked and changed', () => {
    const real = tree({}, 0o755);
    const link = path.join(root, `t${n++}-link`);
    fs.symlinkSync(real, link);
    denyOpen(path.basename(link));
    const logs: string[] = [];
    expect(tightenPrivateDir(link, (m) => logs.push(m))).toEqual([link]);
    expect(logs).toEqual([`${link} was mode 0755; set to 0700`]); // label defaults to the path
    expect(mode(real)).toBe(0o700);
  });

  it('another error on open is reported as a path that could not be made private, and the walk goes on', () => {
    const data = tree({ 'a.db': 0o644, 'b.db': 0o640 });
    onOpen('a.db', () => {
      throw errno('EIO');
    });
    const { logs, changed } = run(data);
    expect(changed).toEqual([path.join(data, 'b.db')]);
    expect(logs.sort()).toEqual(['data/a.db is mode 0644 and could not be made private: EIO: injected', 'data/b.db was mode 0640; set to 0600']);
  });

  it('a chmod refused (a file of another user) is reported the same way', () => {
    const data = tree({ 'a.db': 0o604 });
    hook.fchmod = () => {
      throw errno('EPERM');
    };
    expect(run(data)).toEqual({ changed: [], logs: ['data/a.db is mode 0604 and could not be made private: EPERM: injected'] });
  });
});

describe('tightenPrivateDir: what it walks', () => {
  it('data_dir reached through a symlink is changed through it (opened following the link)', () => {
    const real = tree({ 'x.db': 0o644 }, 0o750);
    const link = path.join(root, `t${n++}-link`);
    fs.symlinkSync(real, link);
    const logs: string[] = [];
    expect(tightenPrivateDir(link, (m) => logs.push(m), 'data')).toEqual([link, path.join(link, 'x.db')]);
    expect(logs).toEqual(['data was mode 0750; set to 0700', 'data/x.db was mode 0644; set to 0600']);
    expect(mode(real)).toBe(0o700);
  });

  it('keeps the setuid, setgid and sticky bits, removing only group and other permissions', () => {
    const data = tree({ 'd/': 0o3777, 'run': 0o4755 });
    run(data);
    expect(mode(path.join(data, 'd'))).toBe(0o3700);
    expect(mode(path.join(data, 'run'))).toBe(0o4700);
  });

  it('leaves FIFOs alone, and skips entries gone before their lstat or directories it cannot list', () => {
    const data = tree({ 'gone.db': 0o644, 'sub/': 0o755, 'sub/inner.db': 0o644, 'ok.db': 0o644 });
    execFileSync('mkfifo', ['-m', '0644', path.join(data, 'pipe')]);
    hook.lstat = (p) => {
      if (path.basename(p) === 'gone.db') throw errno('ENOENT');
    };
    hook.readdir = (p) => {
      if (path.basename(p) === 'sub') throw errno('EACCES');
    };
    const { logs } = run(data);
    hook.lstat = undefined;
    expect(logs.sort()).toEqual(['data/ok.db was mode 0644; set to 0600', 'data/sub was mode 0755; set to 0700']);
    expect(mode(path.join(data, 'pipe'))).toBe(0o644);
    expect(mode(path.join(data, 'gone.db'))).toBe(0o644);
    expect(mode(path.join(data, 'sub', 'inner.db'))).toBe(0o644);
  });

  it('maxDepth levels are checked, the next is not', () => {
    const data = tree({ 'a/': 0o755, 'a/b/': 0o755, 'a/b/c/': 0o755, 'a/b/f': 0o644 });
    const { logs } = run(data, { maxDepth: 2, maxEntries: 100 });
    expect(mode(path.join(data, 'a', 'b'))).toBe(0o700);
    expect(mode(path.join(data, 'a', 'b', 'f'))).toBe(0o644);
    expect(mode(path.join(data, 'a', 'b', 'c'))).toBe(0o755);
    expect(logs.at(-1)).toBe('data is nested deeper than 2 levels; deeper entries were not checked for private modes');
  });

  it('files at the last level are no reason to say it is nested deeper', () => {
    const data = tree({ 'a/': 0o700, 'a/f': 0o644 });
    expect(run(data, { maxDepth: 2, maxEntries: 100 }).logs).toEqual(['data/a/f was mode 0644; set to 0600']);
  });

  it('exactly maxEntries entries are all checked, without the truncation warning', () => {
    const data = tree({ a: 0o644, b: 0o644, c: 0o644 });
    const { logs, changed } = run(data, { maxDepth: 8, maxEntries: 3 });
    expect(changed).toHaveLength(3);
    expect(logs.some((l) => l.includes('more than'))).toBe(false);
  });
});

describe('usePrivateUmask', () => {
  it('sets umask 077 on the main thread and returns the old one', () => {
    const umask = vi.spyOn(process, 'umask').mockImplementation((() => 0o022) as typeof process.umask);
    expect(usePrivateUmask()).toBe(0o022);
    expect(umask).toHaveBeenCalledWith(0o077);
  });

  it('leaves it alone off the main thread (a worker cannot set it)', () => {
    hook.main = false;
    const umask = vi.spyOn(process, 'umask');
    expect(usePrivateUmask()).toBeUndefined();
    expect(umask).not.toHaveBeenCalled();
  });
});

describe('openDataDir', () => {
  const fails = (dir: string) => {
    try {
      openDataDir(dir, 'data', () => undefined);
    } catch (e) {
      return e as InstanceType<typeof SluiceError>;
    }
    throw new Error('did not throw');
  };

  it('creates data_dir private and tightens what is under it, warnings under the configured name', () => {
    const dir = path.join(root, `t${n++}`, 'nested', 'data');
    openDataDir(dir, 'whatever', () => undefined);
    expect(mode(dir)).toBe(0o700);
    const loose = tree({ 'x.db': 0o644 }, 0o755);
    const logs: string[] = [];
    openDataDir(loose, 'the-data', (m) => logs.push(m));
    expect(logs).toEqual(['the-data was mode 0755; set to 0700', 'the-data/x.db was mode 0644; set to 0600']);
  });

  it('a file in its place: SLUICE_ERR_DATA_DIR_CREATE saying so', () => {
    const file = path.join(root, `t${n++}-file`);
    fs.writeFileSync(file, '');
    const e = fails(file);
    expect(e).toBeInstanceOf(SluiceError);
    expect(e.code).toBe('SLUICE_ERR_DATA_DIR_CREATE');
    expect(e.message).toBe(`data_dir: cannot create ${file}: it exists and is not a directory (EEXIST)`);
    const under = fails(path.join(file, 'sub'));
    expect(under.code).toBe('SLUICE_ERR_DATA_DIR_CREATE');
    expect(under.message).toBe(`data_dir: cannot create ${path.join(file, 'sub')}: a component of the path is not a directory (ENOTDIR)`);
  });

  it('not writable: SLUICE_ERR_DATA_DIR_NOT_WRITABLE with the reason, and nothing tightened', () => {
    const data = tree({ 'x.db': 0o644 });
    hook.access = () => {
      throw errno('EACCES');
    };
    const e = fails(data);
    expect(e.code).toBe('SLUICE_ERR_DATA_DIR_NOT_WRITABLE');
    expect(e.message).toBe(`data_dir: ${data} is not writable: permission denied (EACCES)`);
    expect(mode(path.join(data, 'x.db'))).toBe(0o644);
  });
});
