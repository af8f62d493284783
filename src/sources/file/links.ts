/**
 * What a matched path may lead to. Without this rule a symlink in a watched
 * directory is followed anywhere (`ln -s /etc/passwd x.log` would have Sluice
 * tail /etc/passwd and hand it to every viewer). `inspect` decides, per
 * candidate path of a scan, whether it is a file to tail, a refusal (with a
 * bounded code and a readable reason), an error, or nothing (it vanished):
 *
 * - never a target under /proc, /sys or /dev (on the real path), never
 *   anything but a regular file, whatever the config says;
 * - a symlink only when `follow_symlinks`, and then when its final target's
 *   real path matches `allow_targets`, or, without `allow_targets`, when the
 *   link (lstat) is owned by root, by Sluice's own uid, or by the target's
 *   owner: a user cannot plant a link to a file they cannot read themselves,
 *   while kubelet's root-owned links in /var/log/containers still work.
 *
 * The scan checks paths; the file is opened later. `verifyOpened` closes that
 * gap: the opened descriptor must be the inode (dev:ino) the scan checked, and
 * where the kernel tells the descriptor's path (/proc/self/fd), that path must
 * pass the same path rules.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import picomatch from 'picomatch';
import type { FileCounters } from './counters.js';

/** Why a path was refused (a bounded set), and the source counter each one counts in. */
export const REFUSAL_COUNTER = {
  /** A symlink, and `follow_symlinks = false`. */
  ELINKOFF: 'refused_link_off',
  /** The link is owned by neither root, Sluice's uid, nor the target's owner. */
  ELINKTARGET: 'refused_link_owner',
  /** The link's target is not in `allow_targets`. */
  ENOTALLOWED: 'refused_not_allowed',
  /** The real path is under /proc, /sys or /dev. */
  ESPECIALFS: 'refused_special',
  /** A FIFO, socket, device or directory. */
  ENOTREG: 'refused_not_regular',
  /** The file at the checked path changed between the check and the open. */
  ESWAPPED: 'refused_swapped',
} as const satisfies Record<string, keyof FileCounters>;

export type RefusalCode = keyof typeof REFUSAL_COUNTER;

export interface Refusal {
  code: RefusalCode;
  reason: string;
}

/** A regular file a scan admitted. */
export interface FoundFile {
  /** The path the glob matched (the link's own path when it is a link). */
  path: string;
  /** The real path of the file (no symlink in it): what is opened and shown as `origin.path`. */
  real: string;
  /** `path` is a symlink (then `origin.link` is `path`). */
  viaLink: boolean;
  dev: string;
  ino: string;
  size: number;
}

export type Verdict =
  | { kind: 'file'; file: FoundFile }
  | { kind: 'refused'; refusal: Refusal }
  | { kind: 'error'; code: string }
  /** Vanished between listing and looking (ENOENT), or a dangling link: nothing to say. */
  | { kind: 'none' };

export interface LinkPolicy {
  follow: boolean;
  /** `allow_targets` as a matcher of real paths; null when empty (the ownership rule applies). */
  allowed: ((real: string) => boolean) | null;
  /** Sluice's own uid; null where the platform has none. */
  uid: number | null;
}

/** Roots whose files are not logs: reading them leaks kernel and process state or blocks. */
const SPECIAL_ROOTS = ['/proc', '/sys', '/dev'];

export function linkPolicy(cfg: { follow_symlinks: boolean; allow_targets: string[] }, cwd = process.cwd()): LinkPolicy {
  const globs = cfg.allow_targets.map((g) => resolve(cwd, g));
  return {
    follow: cfg.follow_symlinks,
    allowed: globs.length > 0 ? picomatch(globs, { dot: true }) : null,
    uid: typeof process.getuid === 'function' ? process.getuid() : null,
  };
}

/** The policy when none is configured: follow links under the ownership rule. */
export const DEFAULT_LINK_POLICY: LinkPolicy = linkPolicy({ follow_symlinks: true, allow_targets: [] });

function specialRoot(real: string): string | undefined {
  return SPECIAL_ROOTS.find((r) => real === r || real.startsWith(r + '/'));
}

function kindOf(st: BigIntStats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symlink';
  return 'an unknown kind of file';
}

/** The rules on a real path alone (also applied to the path an opened descriptor reports). */
function pathRule(real: string, viaLink: boolean, policy: LinkPolicy): Refusal | null {
  const root = specialRoot(real);
  if (root !== undefined) return { code: 'ESPECIALFS', reason: `target ${real} is under ${root}` };
  if (viaLink && policy.allowed !== null && !policy.allowed(real)) {
    return { code: 'ENOTALLOWED', reason: `symlink target ${real} is not in allow_targets` };
  }
  return null;
}

function missing(e: unknown): Verdict {
  const code = (e as NodeJS.ErrnoException)?.code ?? 'EUNKNOWN';
  return code === 'ENOENT' ? { kind: 'none' } : { kind: 'error', code };
}

/**
 * Decide about one candidate path. `realDir` resolves a directory's real path
 * (the scan caches it: a file that is not a link is resolved through its
 * directory, one realpath per directory instead of one per file).
 */
export async function inspect(path: string, policy: LinkPolicy, realDir: (dir: string) => Promise<string>): Promise<Verdict> {
  let entry: BigIntStats;
  let target: BigIntStats;
  let real: string;
  try {
    entry = await lstat(path, { bigint: true });
    if (entry.isSymbolicLink()) {
      if (!policy.follow) return { kind: 'refused', refusal: { code: 'ELINKOFF', reason: `${path} is a symlink (follow_symlinks = false)` } };
      real = await realpath(path);
      // lstat, not stat: a real path that became a link since is not followed
      target = await lstat(real, { bigint: true });
    } else {
      real = join(await realDir(dirname(path)), basename(path));
      target = entry;
    }
  } catch (e) {
    return missing(e);
  }
  const viaLink = entry.isSymbolicLink();
  const byPath = pathRule(real, viaLink, policy);
  if (byPath !== null) return { kind: 'refused', refusal: byPath };
  if (!target.isFile()) return { kind: 'refused', refusal: { code: 'ENOTREG', reason: `${real} is ${kindOf(target)}, not a regular file` } };
  if (viaLink && policy.allowed === null) {
    const linkUid = Number(entry.uid);
    const targetUid = Number(target.uid);
    if (linkUid !== 0 && linkUid !== policy.uid && linkUid !== targetUid) {
      return {
        kind: 'refused',
        refusal: { code: 'ELINKTARGET', reason: `symlink target ${real} is owned by uid ${targetUid} but the link by uid ${linkUid}` },
      };
    }
  }
  return { kind: 'file', file: { path, real, viaLink, dev: String(target.dev), ino: String(target.ino), size: Number(target.size) } };
}

/**
 * After the open: the descriptor must be the file the scan checked (same
 * dev:ino), and the path it has now (`openedPath`, from /proc/self/fd; null
 * where unknown) must pass the path rules: a directory on the way swapped for
 * a link between check and open would otherwise lead past them.
 */
export function verifyOpened(f: FoundFile, opened: { dev: string; ino: string }, openedPath: string | null, policy: LinkPolicy): Refusal | null {
  if (opened.dev !== f.dev || opened.ino !== f.ino) {
    return { code: 'ESWAPPED', reason: `${f.real} changed between check and open (checked ${f.dev}:${f.ino}, opened ${opened.dev}:${opened.ino})` };
  }
  if (openedPath === null) return null;
  const r = pathRule(openedPath, f.viaLink, policy);
  return r === null ? null : { code: 'ESWAPPED', reason: `${f.real} was ${openedPath} when opened: ${r.reason}` };
}

/** The refusal for an open that found no regular file, or a link, at a checked real path (swapped since). */
export function swappedAtOpen(f: FoundFile, code: string): Refusal {
  return { code: 'ESWAPPED', reason: `${f.real} changed between check and open (${code})` };
}
