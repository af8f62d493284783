/**
 * The file source and symlinks, with real links on disk (links.ts has the
 * rule's unit tests). The tests run as root (the test machine does): files
 * and links owned by other uids are made with chown/lchown.
 */
import { appendFileSync, chownSync, existsSync, lchownSync, linkSync, mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type LogRecord } from '../../core/record.js';
import { serializeRecord } from '../../wire/json.js';
import { CollectingPipeline, polls, waitFor } from '../../../test/helpers/fake-pipeline.js';
import { describeParseModes, parseModes } from '../../../test/helpers/parse-modes.js';
import { CheckpointStore } from './checkpoint.js';
import { fileSourceSchema, type FileSourceInput } from './config.js';
import { FileSource } from './source.js';
import { FileTailer } from './tailer.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  vi.restoreAllMocks();
});

function tempDir(): string {
  const d = realpathSync(mkdtempSync(join(tmpdir(), 'sluice-file-links-')));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function source(dataDir: string, over: Partial<FileSourceInput> & { paths: string[] }): FileSource {
  const cfg = fileSourceSchema.parse({
    name: 'app', type: 'file', format: 'plain', from: 'start', poll_interval: '50ms', idle_flush: '150ms', rotate_wait: '200ms', ...over,
  });
  const s = new FileSource(cfg, { dataDir, parsePool: parseModes.pool, poolMinChars: 0 });
  cleanup.push(() => s.stop());
  return s;
}

/** A regular file with `text`, owned by `uid`. */
function file(path: string, text: string, uid = 0): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chownSync(path, uid, uid);
  return path;
}

/** A symlink at `path` to `target`, the link itself owned by `uid`. */
function link(path: string, target: string, uid = 0): string {
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(target, path);
  lchownSync(path, uid, uid);
  return path;
}

/** The origin as the record's wire bytes carry it (a parse thread's rendering, or the main thread's serializer). */
function wireOrigin(r: LogRecord): unknown {
  // a record of an encoded batch (wire/encoded.ts) decodes from the bytes the parse thread wrote
  const e = r as Partial<{ buf: Buffer; start: number; end: number }>;
  const json = e.buf !== undefined ? '{"seq":0' + e.buf.toString('utf8', e.start, e.end) : serializeRecord(r);
  return (JSON.parse(json) as { origin: unknown }).origin;
}

interface Refused {
  path: string;
  code: string;
  reason: string;
}
const refusedOf = (s: FileSource) => (s.status().refused as Refused[] | undefined) ?? [];
const counter = (s: FileSource, k: string) => s.status().counters[k]!;

const SYS_FILE = ['/sys/kernel/uevent_seqnum', '/sys/power/state', '/sys/kernel/profiling'].find((p) => existsSync(p))!;

// Every test runs twice: lines parsed on the main thread, and by the parse pool's worker threads.
describeParseModes(() => {
  describe('FileSource and symlinks', () => {
    it('follows a link: origin.path is the real path and origin.link the link, in the record, its wire bytes, the status, the checkpoint and the crash replay', async () => {
      const d = tempDir();
      const data = join(d, 'data');
      const real = file(join(d, 'pods/ns_pod_uid/app/0.log'), 'one\ntwo\n');
      const l = link(join(d, 'containers/pod_ns_app-123.log'), '../pods/ns_pod_uid/app/0.log');
      const origin = { kind: 'file', path: real, link: l };
      const p = new CollectingPipeline();
      const s = source(data, { paths: [join(d, 'containers/*.log')] });
      await s.start(p);
      await waitFor(() => p.records.length >= 2, 'two lines through the link');
      expect(p.messages).toEqual(['one', 'two']);
      // with the pool, the bytes were rendered by a parse thread from the job's origin JSON
      expect(p.encoded.every((e) => e === (parseModes.pool !== undefined))).toBe(true);
      for (const r of p.records) {
        expect(r.origin).toEqual(origin);
        expect(wireOrigin(r)).toEqual(origin);
      }
      expect(s.status().files).toMatchObject([{ path: real, link: l, offset: 8 }]);
      expect(s.status().refused).toBeUndefined();
      await s.stop();

      const doc = new CheckpointStore(data, 'app').load();
      if (doc.kind !== 'ok') throw new Error('no checkpoint');
      expect(doc.doc.files).toMatchObject([{ path: real, link: l, offset: 8 }]);
      expect(doc.doc.last).toMatchObject({ path: real, link: l, to: 8 });
      // a restart re-publishes the last batch rebuilt from the file: with the same origin
      const p2 = new CollectingPipeline();
      const s2 = source(data, { paths: [join(d, 'containers/*.log')] });
      await s2.restore(p2);
      expect(p2.replayed.flat().map((r) => r.message)).toEqual(p.batches.at(-1)!.map((r) => r.message));
      for (const r of p2.replayed.flat()) expect(r.origin).toEqual(origin);
    });

    it('follow_symlinks = false: a matched link is skipped and counted, the plain file beside it is read', async () => {
      const d = tempDir();
      file(join(d, 'logs/plain.log'), 'plain\n');
      file(join(d, 'elsewhere/t.log'), 'through the link\n');
      const l = link(join(d, 'logs/link.log'), join(d, 'elsewhere/t.log'));
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [join(d, 'logs/*.log')], follow_symlinks: false });
      await s.start(p);
      await waitFor(() => p.records.length >= 1, 'the plain file');
      await polls(s);
      expect(p.messages).toEqual(['plain']);
      expect(refusedOf(s)).toEqual([{ path: l, code: 'ELINKOFF', reason: `${l} is a symlink (follow_symlinks = false)` }]);
      expect(counter(s, 'refused_link_off')).toBeGreaterThanOrEqual(1);
    });

    it('refuses links to /proc/self/status, /dev/null and a /sys file with the reason, even when allow_targets matches them', async () => {
      const d = tempDir();
      file(join(d, 'logs/good.log'), 'good\n');
      const proc = link(join(d, 'logs/proc.log'), '/proc/self/status');
      const nul = link(join(d, 'logs/null.log'), '/dev/null');
      const sys = link(join(d, 'logs/sys.log'), SYS_FILE);
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [join(d, 'logs/*.log')], allow_targets: ['/**'] });
      await s.start(p);
      await waitFor(() => p.records.length >= 1, 'the good file');
      await polls(s);
      expect(p.messages).toEqual(['good']);
      const refused = refusedOf(s).sort((a, b) => a.path.localeCompare(b.path));
      expect(refused).toEqual([
        { path: nul, code: 'ESPECIALFS', reason: 'target /dev/null is under /dev' },
        { path: proc, code: 'ESPECIALFS', reason: expect.stringMatching(/^target \/proc\/\d+\/status is under \/proc$/) },
        { path: sys, code: 'ESPECIALFS', reason: `target ${realpathSync(SYS_FILE)} is under /sys` },
      ]);
      expect(counter(s, 'refused_special')).toBeGreaterThanOrEqual(3);
      expect(s.status().files).toHaveLength(1);
    });

    it('refuses a FIFO matched directly and a link to a FIFO as not regular files', async () => {
      const d = tempDir();
      file(join(d, 'logs/good.log'), 'good\n');
      const fifo = join(d, 'logs/pipe.log');
      execFileSync('mkfifo', [fifo]);
      const l = link(join(d, 'logs/to-pipe.log'), fifo);
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [join(d, 'logs/*.log')] });
      await s.start(p);
      await waitFor(() => p.records.length >= 1, 'the good file');
      await polls(s);
      expect(p.messages).toEqual(['good']);
      const reason = `${fifo} is a FIFO, not a regular file`;
      expect(refusedOf(s).sort((a, b) => a.path.localeCompare(b.path))).toEqual([
        { path: fifo, code: 'ENOTREG', reason },
        { path: l, code: 'ENOTREG', reason },
      ]);
      expect(counter(s, 'refused_not_regular')).toBeGreaterThanOrEqual(2);
    });

    it('allow_targets admits only links whose real target matches', async () => {
      const d = tempDir();
      file(join(d, 'pods/a/0.log'), 'allowed\n');
      const outside = file(join(d, 'etc/other.log'), 'outside\n');
      link(join(d, 'logs/ok.log'), join(d, 'pods/a/0.log'));
      const bad = link(join(d, 'logs/bad.log'), outside);
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [join(d, 'logs/*.log')], allow_targets: [join(d, 'pods/**')] });
      await s.start(p);
      await waitFor(() => p.records.length >= 1, 'the allowed target');
      await polls(s);
      expect(p.messages).toEqual(['allowed']);
      expect(refusedOf(s)).toEqual([{ path: bad, code: 'ENOTALLOWED', reason: `symlink target ${outside} is not in allow_targets` }]);
      expect(counter(s, 'refused_not_allowed')).toBeGreaterThanOrEqual(1);
    });

    it('ownership rule: another user\'s link to a root file is refused; given to the target\'s owner it is followed; a user\'s link to their own file is followed', async () => {
      const d = tempDir();
      const secret = file(join(d, 'root/secret.log'), 'SECRET\n');
      const mine = file(join(d, 'home/user.log'), 'users own\n', 1234);
      const planted = link(join(d, 'logs/planted.log'), secret, 1234);
      link(join(d, 'logs/own.log'), mine, 1234);
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [join(d, 'logs/*.log')] });
      await s.start(p);
      await waitFor(() => p.records.length >= 1, "the user's own file");
      await polls(s);
      expect(p.messages).toEqual(['users own']);
      expect(refusedOf(s)).toEqual([
        { path: planted, code: 'ELINKTARGET', reason: `symlink target ${secret} is owned by uid 0 but the link by uid 1234` },
      ]);
      expect(counter(s, 'refused_link_owner')).toBeGreaterThanOrEqual(1);
      // root (the target's owner) takes the link over: followed from the next poll
      lchownSync(planted, 0, 0);
      await waitFor(() => p.records.length >= 2, 'the root-owned link');
      expect(p.records.find((r) => r.message === 'SECRET')!.origin).toEqual({ kind: 'file', path: secret, link: planted });
      await waitFor(() => refusedOf(s).length === 0, 'the refusal forgotten');
    });

    it('a refusal is counted once while it lasts, not on every scan', async () => {
      const d = tempDir();
      const fifo = join(d, 'logs/pipe.log');
      mkdirSync(join(d, 'logs'));
      execFileSync('mkfifo', [fifo]);
      const p = new CollectingPipeline();
      // no poll during the test: only the start's scan and the scans new files cause
      const s = source(join(d, 'data'), { paths: [join(d, 'logs/*.log')], poll_interval: '1h' });
      await s.start(p);
      for (let i = 1; i <= 5; i++) {
        file(join(d, `logs/n${i}.log`), `n${i}\n`);
        await waitFor(() => p.records.length >= i, `file ${i}`);
      }
      expect(counter(s, 'files_opened')).toBe(5);
      expect(counter(s, 'refused_not_regular')).toBe(1);
    });

    it('a target swapped between scan and open (a hard link to a root file put in its place) is not opened: counted, and never read', async () => {
      const d = tempDir();
      const secret = file(join(d, 'root/shadow'), 'SECRET\n');
      const target = file(join(d, 'home/app.log'), 'user line\n', 1234);
      const l = link(join(d, 'logs/app.log'), target, 1234);
      // The swap happens right before the source opens the file the scan checked (an attacker winning the race).
      const open = FileTailer.open.bind(FileTailer);
      let swapped = false;
      vi.spyOn(FileTailer, 'open').mockImplementation(async (name, cfg, counters) => {
        if (name.real === target && !swapped) {
          swapped = true;
          linkSync(secret, target + '.tmp');
          renameSync(target + '.tmp', target);
        }
        return open(name, cfg, counters);
      });
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [join(d, 'logs/*.log')] });
      await s.start(p);
      await waitFor(() => counter(s, 'refused_swapped') >= 1, 'the swap refused');
      // from the next scan on the link leads to a root-owned inode: the ownership rule refuses it
      await waitFor(() => refusedOf(s)[0]?.code === 'ELINKTARGET', 'the ownership refusal');
      await polls(s);
      expect(p.records).toEqual([]);
      expect(counter(s, 'refused_swapped')).toBe(1);
      expect(counter(s, 'files_opened')).toBe(0);
      expect(refusedOf(s)).toEqual([{ path: l, code: 'ELINKTARGET', reason: `symlink target ${target} is owned by uid 0 but the link by uid 1234` }]);
      // The pool run's afterAll wants the pool to have done work: give it a line from a legit file.
      file(join(d, 'logs/plain.log'), 'plain\n');
      await waitFor(() => p.records.length >= 1, 'the plain file');
      expect(p.messages).toEqual(['plain']);
      appendFileSync(join(d, 'logs/plain.log'), 'more\n');
      await waitFor(() => p.records.length >= 2, 'more');
    });
  });
});
