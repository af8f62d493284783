import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../core/record.js';
import { CheckpointStore, type CheckpointDoc } from './checkpoint.js';

/** The newest checkpoint on disk, as the next start would read it. */
function loadDoc(data: string): CheckpointDoc {
  const r = new CheckpointStore(data, 'app').load();
  if (r.kind !== 'ok') throw new Error(`no checkpoint: ${r.kind}`);
  return r.doc;
}
import { fileSourceSchema, type FileSourceInput } from './config.js';
import { CollectingPipeline, polls, waitFor } from '../../../test/helpers/fake-pipeline.js';
import { FileSource } from './source.js';
import { describeParseModes, parseModes } from '../../../test/helpers/parse-modes.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-file-restore-'));
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

function lines(from: number, to: number): string {
  let s = '';
  for (let i = from; i <= to; i++) s += `line ${i}\n`;
  return s;
}

const seqMsg = (rs: LogRecord[]) => rs.map((r) => [r.seq, r.message] as const);

// Every test runs twice: lines parsed on the main thread, and by the parse pool's worker threads.
describeParseModes(() => {
  describe('FileSource checkpoints', () => {
    it('resumes after a clean stop with no loss and no duplicate; the checkpoint names each file and the last batch', async () => {
      const d = tempDir();
      const data = join(d, 'data');
      const f = join(d, 'app.log');
      writeFileSync(f, lines(1, 100));
      const p1 = new CollectingPipeline(1000);
      const s1 = source(data, { paths: [f] });
      await s1.restore(p1);
      expect(p1.replayed).toEqual([]); // first start: nothing to replay
      await s1.start(p1);
      await waitFor(() => p1.records.length >= 100, '100 lines');
      appendFileSync(f, lines(101, 120));
      await waitFor(() => p1.records.length >= 120, '120 lines');
      await s1.stop();

      const doc = loadDoc(data);
      const size = Buffer.byteLength(lines(1, 120));
      expect(doc.files).toHaveLength(1);
      expect(doc.files[0]).toMatchObject({ path: f, offset: size });
      const lastBatch = p1.batches.at(-1)!;
      expect(doc.last).toEqual({
        key: doc.files[0]!.key, path: f, from: size - Buffer.byteLength(lastBatch.map((r) => r.message + '\n').join('')), to: size,
        seqFirst: lastBatch[0]!.seq, seqLast: lastBatch.at(-1)!.seq,
      });

      appendFileSync(f, lines(121, 150));
      const p2 = new CollectingPipeline(0); // the hub restarted empty
      const s2 = source(data, { paths: [f], from: 'end' });
      await s2.restore(p2);
      // The last batch is re-published with the seqs it had, and the hub's counter is raised past them.
      expect(p2.replayed).toHaveLength(1);
      expect(seqMsg(p2.replayed[0]!)).toEqual(seqMsg(lastBatch));
      expect(p2.lastSeq()).toBe(lastBatch.at(-1)!.seq);
      await s2.start(p2);
      await waitFor(() => p2.records.length >= 30, '30 new lines');
      await polls(s2);
      expect(p2.messages).toEqual(lines(121, 150).trimEnd().split('\n'));
      expect(p2.records[0]!.seq).toBe(p1.seq + 1);
      expect(s2.status().counters.replayed).toBe(lastBatch.length);
    });

    it('after a crash between push and checkpoint, the restart hands out the same seqs for the same lines (no duplicate by Last-Event-ID)', async () => {
      const d = tempDir();
      const data = join(d, 'data');
      const f = join(d, 'app.log');
      writeFileSync(f, lines(1, 10));
      const p1 = new CollectingPipeline();
      const s1 = source(data, { paths: [f] });
      await s1.restore(p1);
      await s1.start(p1);
      await waitFor(() => p1.records.length >= 10, 'first batch');
      // the checkpoint is two alternating slot files (core/slot-file.ts): snapshot both
      const checkpointAfterFirst = join(d, 'cp-after-first.json');
      copyFileSync(s1.checkpointPath, checkpointAfterFirst);
      const slotB = existsSync(s1.checkpointPath + '.b');
      if (slotB) copyFileSync(s1.checkpointPath + '.b', checkpointAfterFirst + '.b');
      const before = p1.batches.length;
      appendFileSync(f, lines(11, 25));
      await waitFor(() => p1.records.length >= 25, 'second batch');
      await s1.stop();
      // SIGKILL right after the last push, before its checkpoint: the disk still has the previous one.
      copyFileSync(checkpointAfterFirst, s1.checkpointPath);
      if (slotB) copyFileSync(checkpointAfterFirst + '.b', s1.checkpointPath + '.b');
      else rmSync(s1.checkpointPath + '.b', { force: true });
      const lastCheckpointed = p1.batches[before - 1]!;
      const seen = new Map(p1.records.map((r) => [r.seq, r.message]));

      const p2 = new CollectingPipeline(0);
      const s2 = source(data, { paths: [f] });
      await s2.restore(p2);
      expect(p2.replayed).toHaveLength(1);
      expect(seqMsg(p2.replayed[0]!)).toEqual(seqMsg(lastCheckpointed));
      await s2.start(p2);
      await waitFor(() => p2.records.length >= 15, 'lines 11..25 again');
      // Same seq, same line: a client that saw up to seq N before the crash resumes after N and misses nothing.
      for (const r of p2.records) expect(seen.get(r.seq)).toBe(r.message);
      expect(p2.messages).toEqual(lines(11, 25).trimEnd().split('\n'));
    });

    it('when the replayed range no longer yields the same number of records, it skips the replay but still raises the seq floor', async () => {
      const d = tempDir();
      const data = join(d, 'data');
      const f = join(d, 'app.log');
      const head = 'x'.repeat(300) + '\n'; // beyond the 256 fingerprinted bytes
      writeFileSync(f, head);
      const p1 = new CollectingPipeline(40);
      const s1 = source(data, { paths: [f] });
      await s1.start(p1);
      await waitFor(() => p1.records.length >= 1, 'head');
      appendFileSync(f, 'aaaa\nbbbb\n');
      await waitFor(() => p1.records.length >= 3, 'two more');
      await s1.stop();
      const last = loadDoc(data).last!;
      expect(last.to - last.from).toBe(10);
      // Same identity and fingerprint, other line structure in the range.
      const buf = readFileSync(f);
      buf.write('aaaaXbbbb\n', last.from);
      writeFileSync(f, buf);

      const p2 = new CollectingPipeline(0);
      const s2 = source(data, { paths: [f] });
      await s2.restore(p2);
      expect(p2.replayed).toEqual([[]]);
      expect(p2.lastSeq()).toBe(last.seqLast);
      expect(s2.status().counters.replay_mismatch).toBe(1);
    });

    it('when the file of the last batch is gone, it replays nothing and raises the seq floor', async () => {
      const d = tempDir();
      const data = join(d, 'data');
      const f = join(d, 'app.log');
      writeFileSync(f, lines(1, 3));
      const p1 = new CollectingPipeline(7);
      const s1 = source(data, { paths: [f] });
      await s1.start(p1);
      await waitFor(() => p1.records.length >= 3, '3 lines');
      await s1.stop();
      unlinkSync(f);
      const p2 = new CollectingPipeline(0);
      const s2 = source(data, { paths: [f] });
      await s2.restore(p2);
      expect(p2.replayed).toEqual([[]]);
      expect(p2.lastSeq()).toBe(10);
      expect(s2.status().counters.replay_skipped).toBe(1);
    });

    it('replays a multiline batch exactly as it was built', async () => {
      const d = tempDir();
      const data = join(d, 'data');
      const f = join(d, 'app.log');
      const ml = { start: '^\\S', timeout: '100ms' };
      writeFileSync(f, 'E1 boom\n\tat a\n\tat b\nE2 bang\n\tat c\n');
      const p1 = new CollectingPipeline();
      const s1 = source(data, { paths: [f], multiline: ml });
      await s1.start(p1);
      await waitFor(() => p1.records.length >= 2, 'two records');
      await s1.stop();
      const lastBatch = p1.batches.at(-1)!;
      const p2 = new CollectingPipeline(0);
      const s2 = source(data, { paths: [f], multiline: ml });
      await s2.restore(p2);
      expect(seqMsg(p2.replayed[0]!)).toEqual(seqMsg(lastBatch));
      expect(p2.replayed[0]!.at(-1)!.message).toBe('E2 bang\n\tat c');
    });

    it('an idle-flushed partial line followed later by its newline replays and resumes without an empty record', async () => {
      const d = tempDir();
      const data = join(d, 'data');
      const f = join(d, 'app.log');
      writeFileSync(f, 'a\npart');
      const p1 = new CollectingPipeline();
      const s1 = source(data, { paths: [f] });
      await s1.start(p1);
      await waitFor(() => p1.records.length >= 2, 'flushed partial');
      appendFileSync(f, '\nb\n');
      await waitFor(() => p1.records.length >= 3, 'b');
      await s1.stop();
      expect(p1.messages).toEqual(['a', 'part', 'b']);
      const p2 = new CollectingPipeline(0);
      const s2 = source(data, { paths: [f] });
      await s2.restore(p2);
      expect(seqMsg(p2.replayed[0]!)).toEqual(seqMsg(p1.batches.at(-1)!));
      await s2.start(p2);
      appendFileSync(f, 'c\n');
      await waitFor(() => p2.records.length >= 1, 'c');
      await polls(s2);
      expect(p2.messages).toEqual(['c']);
    });

    it('a stop in the middle of a backlog waits for the reads in flight: the restart goes on from exactly where it stopped', async () => {
      const d = tempDir();
      const data = join(d, 'data');
      const f = join(d, 'app.log');
      writeFileSync(f, lines(1, 100_000));
      const p1 = new CollectingPipeline();
      const s1 = source(data, { paths: [f], read_buffer: '16KiB' });
      await s1.start(p1);
      await waitFor(() => p1.records.length >= 1_000, 'the backlog under way');
      await s1.stop();
      const read = p1.records.length;
      expect(read).toBeLessThan(100_000);
      const p2 = new CollectingPipeline(p1.seq);
      const s2 = source(data, { paths: [f], read_buffer: '16KiB' });
      await s2.restore(p2);
      await s2.start(p2);
      await waitFor(() => read + p2.records.length >= 100_000, 'the rest of the backlog');
      await polls(s2);
      expect([...p1.messages, ...p2.messages]).toEqual(lines(1, 100_000).trimEnd().split('\n'));
    });
  });
});
