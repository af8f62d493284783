/**
 * The files of one file source: which are open (one FileTailer per
 * device:inode, also by path), what the scans found wrong (errors, link
 * policy refusals, counted once while they last), and discovery itself:
 * scanning the globs (watcher.ts), opening what is new at its saved offset,
 * marking what is gone (rotated, deleted, out of the globs), and finding
 * files rotated while Sluice was down beside their old path. When to read
 * belongs to source.ts, through the hooks.
 */
import { dirname } from 'node:path';
import type { FileSourceConfig } from './config.js';
import type { CheckpointEntry } from './checkpoint.js';
import type { FileCounters } from './counters.js';
import type { Health } from '../../core/health.js';
import { REFUSAL_COUNTER, swappedAtOpen, verifyOpened, type LinkPolicy, type Refusal, type RefusalCode } from './links.js';
import { searchDir } from './replay.js';
import { FileTailer, parseKey } from './tailer.js';
import type { FoundFile, PathWatcher } from './watcher.js';

/** What discovery needs of its source. */
export interface FileSetHooks {
  readonly cfg: FileSourceConfig;
  readonly watcher: PathWatcher;
  readonly links: LinkPolicy;
  readonly counters: FileCounters;
  /** No checkpoint existed at this start (`from = "end"` applies). */
  firstStart(): boolean;
  stopping(): boolean;
  /** A tailer opened: give it its lane. */
  register(t: FileTailer): void;
  /** Read `t` soon. */
  pump(t: FileTailer): void;
  /** The source's state: degraded while a matched path cannot be opened; files opened and rotated are noted. */
  readonly health: Health;
}

export function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? 'EUNKNOWN';
}

/** Is `dir` equal to or an ancestor of `path`? */
function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : dir + '/');
}

export class FileSet {
  readonly #h: FileSetHooks;
  readonly tailers = new Set<FileTailer>();
  readonly byId = new Map<string, FileTailer>();
  readonly byPath = new Map<string, FileTailer>();
  /** Paths whose open/stat failed: code and the poll generation it was counted in. */
  readonly errors = new Map<string, { code: string; gen: number }>();
  /** Matched paths the link policy refused: why, and the poll generation it was counted in. */
  readonly refused = new Map<string, { code: RefusalCode; reason: string; gen: number }>();
  /** Saved offsets not yet matched to an open file, by dev:ino (only at start). */
  readonly saved = new Map<string, CheckpointEntry>();
  /** Bumped by each poll: errors are retried and forgotten by generation. */
  pollGen = 0;
  #scanning: Promise<void> | null = null;
  #rescan = false;

  constructor(hooks: FileSetHooks) {
    this.#h = hooks;
  }

  /** A scan in progress, if any. */
  get scanning(): Promise<void> | null {
    return this.#scanning;
  }

  /** Forget a retired tailer. */
  remove(t: FileTailer): void {
    this.tailers.delete(t);
    if (this.byId.get(t.id) === t) this.byId.delete(t.id);
    if (this.byPath.get(t.path) === t) this.byPath.delete(t.path);
  }

  clear(): void {
    this.tailers.clear();
    this.byId.clear();
    this.byPath.clear();
  }

  /** Scan the globs (coalesced: a scan asked during one runs once more after it). */
  scan(initial = false): Promise<void> {
    if (this.#scanning) {
      this.#rescan = true;
      return this.#scanning;
    }
    const run = async (): Promise<void> => {
      // Events that arrive during a scan ask for another; bounded, the poll catches the rest.
      for (let i = 0; i < 4; i++) {
        this.#rescan = false;
        await this.#scanOnce(initial && i === 0);
        if (!this.#rescan || this.#h.stopping()) break;
      }
    };
    const p = run()
      .catch(() => {
        this.#h.counters.read_errors++;
      })
      .finally(() => {
        this.#scanning = null;
      });
    this.#scanning = p;
    return p;
  }

  async #scanOnce(initial: boolean): Promise<void> {
    const res = await this.#h.watcher.scan();
    if (this.#h.stopping()) return;
    for (const e of res.errors) this.noteError(e.path, e.code);
    for (const r of res.refused) this.noteRefused(r.path, r);
    const seen = new Set<string>();
    for (const f of res.files) {
      const id = f.dev + ':' + f.ino;
      if (seen.has(id)) continue; // a second name (hard link, symlink) for a file already seen
      seen.add(id);
      const t = this.byId.get(id);
      if (t) {
        if (t.path !== f.path) {
          // Renamed within the globs (e.g. dateext rotation to another *.log name): same file, keep reading.
          if (this.byPath.get(t.path) === t) this.byPath.delete(t.path);
          const was = t.path;
          t.rename(f);
          this.#h.counters.rotations++;
          this.#h.health.note('file_renamed', `${was} renamed to ${f.path}: reading on`, { path: f.path, was });
        } else if (t.realPath !== f.real) t.rename(f); // the same link, its target renamed
        if (t.gone) {
          t.gone = false; // back under a watched name
          t.goneCounted = false;
        }
        this.byPath.set(f.path, t);
        continue;
      }
      const prev = this.byPath.get(f.path);
      if (prev) this.markGone(prev); // the path now names another file: rotated
      const opened = await this.#openNew(f, initial);
      if (opened) seen.add(opened.id);
      if (this.#h.stopping()) return;
    }
    // Forget errors of paths that have not failed for a whole poll (gone or fixed).
    for (const [path, e] of this.errors) if (e.gen < this.pollGen - 1) this.errors.delete(path);
    for (const [path, r] of this.refused) if (r.gen < this.pollGen - 1) this.refused.delete(path);
    this.#judge();
    if (res.truncated) return; // an incomplete listing says nothing about what is gone
    for (const t of this.tailers) {
      if (t.gone || seen.has(t.id)) continue;
      // A path we could not look at (EACCES on its directory, ...) is not proof the file is gone.
      if (res.errors.some((e) => isWithin(t.path, e.path))) continue;
      this.markGone(t);
    }
  }

  /** Degraded while some matched path cannot be opened (the first one named), running once none fails. */
  #judge(): void {
    const h = this.#h.health;
    if (h.state !== 'running' && h.state !== 'degraded') return;
    const first = this.errors.entries().next();
    if (first.done) return h.recover();
    const [path, e] = first.value;
    const more = this.errors.size > 1 ? ` (and ${this.errors.size - 1} more paths)` : '';
    h.set('degraded', { code: e.code, message: `cannot open ${path}: ${e.code}${more}` });
  }

  noteError(path: string, code: string): void {
    const prev = this.errors.get(path);
    // Counted once per poll generation, however many event-driven scans see it.
    if (prev && prev.gen === this.pollGen && prev.code === code) return;
    this.errors.set(path, { code, gen: this.pollGen });
    this.#h.counters.read_errors++;
  }

  noteRefused(path: string, r: Refusal): void {
    const prev = this.refused.get(path);
    // Counted once while it stays refused for the same reason (a FIFO in a watched directory is
    // one refusal, not one a poll); forgotten after a whole poll without it, then counted anew.
    if (prev && prev.code === r.code) {
      prev.gen = this.pollGen;
      prev.reason = r.reason;
      return;
    }
    this.refused.set(path, { code: r.code, reason: r.reason, gen: this.pollGen });
    this.#h.counters[REFUSAL_COUNTER[r.code]]++;
    this.#h.health.note('file_refused', `not reading ${path}: ${r.reason}`, { path, code: r.code }, 'warn');
  }

  async #openNew(f: FoundFile, initial: boolean): Promise<FileTailer | null> {
    const err = this.errors.get(f.path);
    if (err && err.gen === this.pollGen) return null; // retried on the next poll
    let t: FileTailer;
    try {
      t = await FileTailer.open(f, this.#h.cfg, this.#h.counters);
    } catch (e) {
      const code = errCode(e);
      // a link or a non-file where the scan saw a regular file: swapped since
      if (code === 'ELOOP' || code === 'ENOTREG') this.noteRefused(f.path, swappedAtOpen(f, code));
      else if (code !== 'ENOENT') this.noteError(f.path, code);
      return null;
    }
    // Not the file the scan checked (swapped between check and open): not found this round.
    const swapped = verifyOpened(f, t, await t.openedPath(), this.#h.links);
    if (swapped !== null) {
      await t.close();
      this.noteRefused(f.path, swapped);
      return null;
    }
    if (this.#h.stopping() || this.byId.has(t.id)) {
      await t.close();
      return this.byId.get(t.id) ?? null;
    }
    try {
      let start = 0;
      const saved = this.saved.get(t.id);
      if (saved) {
        this.saved.delete(t.id);
        const k = parseKey(saved.key)!;
        // Same dev:ino but other first bytes: the inode was reused, a new file from 0.
        if (await t.matchesFingerprint(k.fp)) {
          if (saved.offset <= t.size) start = saved.offset;
          else this.#h.counters.truncations++;
        }
      } else if (initial && this.#h.firstStart() && this.#h.cfg.from === 'end') {
        start = t.size;
      }
      await t.seek(start);
    } catch (e) {
      await t.close();
      this.noteError(f.path, errCode(e));
      return null;
    }
    if (this.#h.stopping()) {
      await t.close();
      return null;
    }
    this.errors.delete(f.path);
    this.refused.delete(f.path);
    this.#h.register(t);
    this.byPath.set(t.path, t);
    this.#h.health.note('file_opened', `reading ${t.path} from offset ${t.committed} of ${t.size}`, { path: t.path, offset: t.committed, size: t.size });
    this.#h.pump(t);
    return t;
  }


  /** Saved files no glob found: rotated while Sluice was down? Look beside the old path and read them to their end. */
  async recoverRotated(): Promise<void> {
    const byDir = new Map<string, Map<string, CheckpointEntry>>();
    for (const [id, e] of this.saved) {
      const dir = dirname(e.path);
      let m = byDir.get(dir);
      if (!m) byDir.set(dir, (m = new Map()));
      m.set(id, e);
    }
    for (const [dir, entries] of byDir) {
      if (this.#h.stopping()) return;
      const found = await searchDir(dir, new Set(entries.keys()));
      for (const [id, path] of found) {
        const e = entries.get(id)!;
        if (this.byId.has(id)) continue;
        let t: FileTailer;
        try {
          // admitted when it was first opened (same dev:ino and fingerprint, checked below)
          t = await FileTailer.open({ path: e.link ?? path, real: path, viaLink: e.link !== undefined }, this.#h.cfg, this.#h.counters);
        } catch {
          continue;
        }
        const k = parseKey(e.key)!;
        const ok = t.id === id && t.size > e.offset && (await t.matchesFingerprint(k.fp).catch(() => false));
        if (!ok || this.#h.stopping()) {
          await t.close();
          continue;
        }
        this.saved.delete(id);
        await t.seek(e.offset);
        t.gone = true;
        t.goneAt = Date.now();
        t.goneCounted = true;
        this.#h.counters.rotations++;
        this.#h.register(t);
        this.#h.pump(t);
      }
    }
  }

  markGone(t: FileTailer): void {
    if (t.gone) return;
    t.gone = true;
    t.goneAt = Date.now();
    if (this.byPath.get(t.path) === t) this.byPath.delete(t.path);
    this.#h.health.note('file_rotated', `${t.path} was rotated or deleted: reading the old file to its end`, { path: t.path });
    this.#h.pump(t);
  }
}
