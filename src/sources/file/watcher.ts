/**
 * Discovery for the file source: expands the configured globs and directories
 * into the regular files they match (a scan), and keeps `fs.watch` on the
 * directories involved so changes are noticed promptly. fs.watch is only a
 * hint (events are missed, merged, or name the wrong file); the source's poll
 * rescans on a timer as the safety net, and every decision is made on a fresh
 * stat, never on the event itself.
 *
 * A glob is matched against the listing of its static base directory
 * (picomatch), walking only as many levels as the glob has segments, or
 * recursively (bounded) when it has `**`. A configured path that is a
 * directory means every regular file directly in it. What a matched path may
 * lead to (symlinks, /proc, FIFOs, ...) is decided by links.ts; refusals are
 * reported, not silently dropped.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { DEFAULT_LINK_POLICY, inspect, type FoundFile, type LinkPolicy, type RefusalCode } from './links.js';

export type { FoundFile } from './links.js';

export interface ScanResult {
  files: FoundFile[];
  /** Paths that matched but could not be stat'ed or listed (EACCES, ELOOP, ...). */
  errors: Array<{ path: string; code: string }>;
  /** Paths that matched but the link policy refused (links.ts). */
  refused: Array<{ path: string; code: RefusalCode; reason: string }>;
  /** The entry budget ran out; some files may be missing from `files`. */
  truncated: boolean;
}

export interface WatcherOptions {
  paths: string[];
  exclude: string[];
  /** Base for relative paths; default process.cwd(). */
  cwd?: string;
  /** Directories never matched (the source's own checkpoint directory: tailing it would feed itself). */
  ignoreDirs?: string[];
  /** What a matched path may lead to; default: follow links under the ownership rule (links.ts). */
  links?: LinkPolicy;
  /** fs.watch event in `dir` (filename may be null). */
  onEvent(dir: string, eventType: string, filename: string | null): void;
}

/** Bounds: entries looked at per scan, recursion depth for "**", directories watched. */
const MAX_ENTRIES = 200_000;
const MAX_DEPTH = 32;
const MAX_WATCHES = 1024;
const STAT_CONCURRENCY = 32;

interface GlobSpec {
  kind: 'glob';
  pattern: string;
  base: string;
  match: (rel: string) => boolean;
  recursive: boolean;
  depth: number;
}
interface PlainSpec {
  kind: 'plain';
  /** A literal path: a file, or a directory (all regular files in it), decided at each scan. */
  path: string;
}
type Spec = GlobSpec | PlainSpec;

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? 'EUNKNOWN';
}

export class PathWatcher {
  readonly #specs: Spec[];
  readonly #excluded: (path: string) => boolean;
  readonly #onEvent: WatcherOptions['onEvent'];
  readonly #links: LinkPolicy;
  readonly #watches = new Map<string, FSWatcher>();
  #closed = false;

  constructor(opts: WatcherOptions) {
    const cwd = opts.cwd ?? process.cwd();
    this.#onEvent = opts.onEvent;
    this.#links = opts.links ?? DEFAULT_LINK_POLICY;
    this.#specs = opts.paths.map((p): Spec => {
      const abs = resolve(cwd, p);
      const s = picomatch.scan(abs);
      if (!s.isGlob) return { kind: 'plain', path: abs };
      const glob = s.glob;
      const recursive = glob.includes('**') || (s.isBrace && glob.includes('/'));
      return {
        kind: 'glob',
        pattern: abs,
        base: s.base === '' ? sep : s.base,
        match: picomatch(glob, { dot: false }),
        recursive,
        depth: recursive ? MAX_DEPTH : glob.split('/').length,
      };
    });
    // Patterns with a "/" match the absolute path, the others the file name.
    const full = opts.exclude.filter((p) => p.includes('/')).map((p) => resolve(cwd, p));
    const names = opts.exclude.filter((p) => !p.includes('/'));
    const mFull = full.length > 0 ? picomatch(full, { dot: true }) : null;
    const mName = names.length > 0 ? picomatch(names, { dot: true }) : null;
    const ignore = (opts.ignoreDirs ?? []).map((d) => resolve(cwd, d) + sep);
    this.#excluded = (p: string) =>
      (mFull !== null && mFull(p)) || (mName !== null && mName(basename(p))) || ignore.some((d) => p.startsWith(d));
  }

  /** Would a file at `path` be picked up by some spec (ignoring whether it exists)? */
  matches(path: string): boolean {
    if (this.#excluded(path)) return false;
    for (const s of this.#specs) {
      if (s.kind === 'plain') {
        if (path === s.path || dirname(path) === s.path) return true;
      } else {
        const rel = relative(s.base, path);
        if (!rel.startsWith('..') && !isAbsolute(rel) && s.match(rel)) return true;
      }
    }
    return false;
  }

  /** Expand every spec to the regular files it matches now, and (re)arm the directory watches. */
  async scan(): Promise<ScanResult> {
    const res: ScanResult = { files: [], errors: [], refused: [], truncated: false };
    const budget = { left: MAX_ENTRIES };
    const candidates: string[] = [];
    const dirs = new Set<string>();
    for (const s of this.#specs) {
      if (s.kind === 'plain') await this.#expandPlain(s, candidates, dirs, res, budget);
      else await this.#walk(s, s.base, 0, candidates, dirs, res, budget);
    }
    if (budget.left <= 0) res.truncated = true;
    // Look at each path (links.ts) with bounded concurrency; dedupe paths. A directory's real
    // path is resolved once per scan, not once per file in it.
    const realDirs = new Map<string, Promise<string>>();
    const realDir = (d: string): Promise<string> => {
      let p = realDirs.get(d);
      if (p === undefined) realDirs.set(d, (p = realpath(d)));
      return p;
    };
    const unique = [...new Set(candidates)];
    for (let i = 0; i < unique.length; i += STAT_CONCURRENCY) {
      const slice = unique.slice(i, i + STAT_CONCURRENCY);
      const verdicts = await Promise.all(slice.map((p) => inspect(p, this.#links, realDir)));
      verdicts.forEach((v, j) => {
        const path = slice[j]!;
        if (v.kind === 'file') res.files.push(v.file);
        else if (v.kind === 'refused') res.refused.push({ path, ...v.refusal });
        else if (v.kind === 'error') res.errors.push({ path, code: v.code });
      });
    }
    if (!this.#closed) this.#rearm(dirs);
    return res;
  }

  async #expandPlain(s: PlainSpec, out: string[], dirs: Set<string>, res: ScanResult, budget: { left: number }): Promise<void> {
    let isDir = false;
    try {
      isDir = (await stat(s.path)).isDirectory();
    } catch (e) {
      const code = errCode(e);
      if (code !== 'ENOENT') res.errors.push({ path: s.path, code });
    }
    if (!isDir) {
      dirs.add(dirname(s.path));
      if (!this.#excluded(s.path)) out.push(s.path);
      return;
    }
    dirs.add(s.path);
    let entries;
    try {
      entries = await readdir(s.path, { withFileTypes: true });
    } catch (e) {
      const code = errCode(e);
      if (code !== 'ENOENT') res.errors.push({ path: s.path, code });
      return;
    }
    for (const d of entries) {
      if (--budget.left < 0) return;
      if (d.isDirectory()) continue;
      const p = join(s.path, d.name);
      if (!this.#excluded(p)) out.push(p);
    }
  }

  async #walk(s: GlobSpec, dir: string, level: number, out: string[], dirs: Set<string>, res: ScanResult, budget: { left: number }): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      const code = errCode(e);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') res.errors.push({ path: dir, code });
      return;
    }
    dirs.add(dir);
    const last = level + 1 >= s.depth;
    for (const d of entries) {
      if (--budget.left < 0) return;
      const p = join(dir, d.name);
      // Real directories are descended (symlinked ones are not: no loops); anything else may be a file.
      if (d.isDirectory()) {
        if (!last) await this.#walk(s, p, level + 1, out, dirs, res, budget);
        continue;
      }
      if ((s.recursive || last) && s.match(relative(s.base, p)) && !this.#excluded(p)) out.push(p);
    }
  }

  /** Watch exactly the directories the last scan looked at (bounded). */
  #rearm(dirs: Set<string>): void {
    for (const [d, w] of this.#watches) {
      if (!dirs.has(d)) {
        w.close();
        this.#watches.delete(d);
      }
    }
    for (const d of dirs) {
      if (this.#watches.has(d) || this.#watches.size >= MAX_WATCHES) continue;
      try {
        const w = watch(d, { persistent: false }, (type, name) => {
          if (!this.#closed) this.#onEvent(d, type, typeof name === 'string' ? name : null);
        });
        w.on('error', () => {
          // The directory went away (or the watch broke): drop it; the next scan re-arms it.
          w.close();
          if (this.#watches.get(d) === w) this.#watches.delete(d);
        });
        this.#watches.set(d, w);
      } catch {
        // ENOENT/EACCES: not watchable now; the poll covers it and the next scan retries.
      }
    }
  }

  /** Directories currently watched (for tests and status). */
  get watchedDirs(): string[] {
    return [...this.#watches.keys()];
  }

  close(): void {
    this.#closed = true;
    for (const w of this.#watches.values()) w.close();
    this.#watches.clear();
  }
}
