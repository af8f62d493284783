/**
 * data_dir is private: it holds trigger secrets (in the store), the admin
 * token and the positions of every log read, so it is 0700 and every file in
 * it 0600. This module owns that policy: the modes every writer under
 * data_dir passes explicitly, the process umask that covers files made by
 * libraries (SQLite's -wal and -shm), and the start-up pass that tightens
 * what an older Sluice (or an operator) left group- or world-accessible.
 */
import { accessSync, chmodSync, closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { E, reasonOf, SluiceError } from './errors.js';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
/** What the start-up pass removes: every group and other permission bit. */
const NOT_OWNER = 0o077;

/**
 * Make files and directories created from now on by this process private
 * (0600 / 0700 at most), whoever creates them: explicit modes only reach the
 * files Sluice opens itself, not those a library opens (SQLite creates -wal
 * and -shm; a future dependency may write a cache). The umask is per process,
 * so it also covers the parse threads; worker threads cannot set it (Node
 * throws ERR_WORKER_UNSUPPORTED_OPERATION), hence the main-thread check.
 * Anything Sluice writes for other users to read must now set its mode
 * explicitly. Returns the previous umask, or undefined off the main thread.
 */
export function usePrivateUmask(): number | undefined {
  if (!isMainThread) return undefined;
  return process.umask(NOT_OWNER);
}

export interface TightenLimits {
  /** Levels below data_dir to look into (data_dir/checkpoints/x is level 2). */
  maxDepth: number;
  /** Entries examined at most, so a data_dir someone filled with files cannot stall the start. */
  maxEntries: number;
}

/** Sluice's own tree is two levels and a dozen files; the limits leave room for what operators add. */
export const DEFAULT_TIGHTEN_LIMITS: TightenLimits = { maxDepth: 8, maxEntries: 10_000 };

const octal = (m: number) => (m & 0o7777).toString(8).padStart(4, '0');

/**
 * Remove group and other permissions from `dir` and from the files and
 * directories under it, logging each one changed once as a warning
 * (`data/sluice.db was mode 0644; set to 0600`). Bounded (depth,
 * entries); symbolic links are never followed, so nothing outside `dir` is
 * changed; sockets, FIFOs and devices are left alone. `label` is how `dir`
 * is shown in warnings (the configured data_dir). A path that cannot be
 * changed (owned by another user) is reported, not fatal. Returns the paths
 * changed.
 */
export function tightenPrivateDir(dir: string, log: (m: string) => void, label = dir, limits: TightenLimits = DEFAULT_TIGHTEN_LIMITS): string[] {
  const changed: string[] = [];
  const tighten = (abs: string, shown: string, st: Stats, follow: boolean) => {
    if ((st.mode & NOT_OWNER) === 0) return;
    const want = st.mode & 0o7700;
    try {
      if (!chmodSame(abs, st, want, follow)) return; // replaced since it was listed: not ours to judge
      changed.push(abs);
      log(`${shown} was mode ${octal(st.mode)}; set to ${octal(want)}`);
    } catch (err) {
      log(`${shown} is mode ${octal(st.mode)} and could not be made private: ${(err as Error).message}`);
    }
  };
  // data_dir itself may be a symlink the operator chose (e.g. onto another disk): its target is the directory meant.
  tighten(dir, label, statSync(dir), true);

  let seen = 0;
  let truncated = false;
  let tooDeep = false;
  const queue: { abs: string; shown: string; depth: number }[] = [{ abs: dir, shown: label, depth: 0 }];
  for (let q = 0; q < queue.length && !truncated; q++) {
    const { abs, shown, depth } = queue[q]!;
    let names: string[];
    try {
      names = readdirSync(abs);
    } catch {
      continue; // vanished or unreadable: nothing to tighten that we could reach
    }
    for (const name of names) {
      if (++seen > limits.maxEntries) {
        truncated = true;
        break;
      }
      const childAbs = path.join(abs, name);
      const childShown = path.join(shown, name);
      let st;
      try {
        st = lstatSync(childAbs);
      } catch {
        continue;
      }
      if (st.isSymbolicLink() || !(st.isFile() || st.isDirectory())) continue;
      tighten(childAbs, childShown, st, false);
      if (!st.isDirectory()) continue;
      if (depth + 1 < limits.maxDepth) queue.push({ abs: childAbs, shown: childShown, depth: depth + 1 });
      else tooDeep = true;
    }
  }
  if (truncated) log(`${label} has more than ${limits.maxEntries} entries; only the first ${limits.maxEntries} were checked for private modes`);
  if (tooDeep) log(`${label} is nested deeper than ${limits.maxDepth} levels; deeper entries were not checked for private modes`);
  return changed;
}

/**
 * chmod `abs` only if it is still the file `st` describes. Through a
 * descriptor opened with O_NOFOLLOW: a name swapped for a symlink between
 * listing and chmod (by whoever could write into a loose data_dir) cannot
 * redirect the change outside. An entry without read permission for its
 * owner cannot be opened (non-root): it falls back to chmod by name after
 * a fresh lstat. Returns false when the entry changed in between.
 */
function chmodSame(abs: string, st: Stats, mode: number, follow: boolean): boolean {
  let fd: number;
  try {
    fd = openSync(abs, constants.O_RDONLY | constants.O_NONBLOCK | (follow ? 0 : constants.O_NOFOLLOW));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOENT') return false;
    if (code !== 'EACCES') throw err;
    const now = follow ? statSync(abs) : lstatSync(abs);
    if (now.ino !== st.ino || now.dev !== st.dev || now.isSymbolicLink()) return false;
    chmodSync(abs, mode);
    return true;
  }
  try {
    const now = fstatSync(fd);
    if (now.ino !== st.ino || now.dev !== st.dev) return false;
    fchmodSync(fd, mode);
    return true;
  } finally {
    closeSync(fd);
  }
}

/** Create `dir` (and missing parents) private. Throws the OS error; callers name the config key. */
export function mkdirPrivate(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * data_dir at start: created private (SLUICE_ERR_DATA_DIR_CREATE when it
 * cannot be), writable (SLUICE_ERR_DATA_DIR_NOT_WRITABLE), and whatever an
 * older Sluice left loose tightened. `label` is data_dir as configured.
 */
export function openDataDir(dir: string, label: string, log: (m: string) => void): void {
  try {
    mkdirPrivate(dir);
  } catch (err) {
    // mkdir says EEXIST when the path (or a symlink's target) is a file
    const why = (err as NodeJS.ErrnoException).code === 'EEXIST' ? 'it exists and is not a directory (EEXIST)' : reasonOf(err);
    throw new SluiceError(E.DATA_DIR_CREATE, `data_dir: cannot create ${dir}: ${why}`);
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new SluiceError(E.DATA_DIR_NOT_WRITABLE, `data_dir: ${dir} is not writable: ${reasonOf(err)}`);
  }
  tightenPrivateDir(dir, log, label);
}
