/**
 * Copytruncate noticed late: the file had grown past the offset below which
 * the first bytes are re-checked on every read (64 KiB, tailer.ts
 * RECHECK_BELOW), was truncated in place and regrew before the source looked.
 * Only its size, now below what was read, says it was truncated when
 *  - no poll comes to re-check the fingerprint (past 64 KiB it is checked
 *    only at polls), or
 *  - the first bytes are the same as before (lines that start with a long
 *    constant prefix, like the static fields a JSON logger writes first), so
 *    no fingerprint can tell.
 * The source's own back-pressure pause is what makes it look late here: it
 * reads nothing while the pipeline refuses, and a paused source sees the
 * file only after `drain`. (The small-file cases are in source.test.ts.)
 */
import { closeSync, copyFileSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileSourceSchema, type FileSourceInput } from './config.js';
import { CollectingPipeline, waitFor } from '../../../test/helpers/fake-pipeline.js';
import { FileSource } from './source.js';
import { FINGERPRINT_BYTES } from './tailer.js';
import { describeParseModes, parseModes } from '../../../test/helpers/parse-modes.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-file-copytruncate-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function source(dataDir: string, over: Partial<FileSourceInput> & { paths: string[] }): FileSource {
  const cfg = fileSourceSchema.parse({
    name: 'f', type: 'file', format: 'plain', from: 'start', poll_interval: '50ms', idle_flush: '150ms', rotate_wait: '200ms', ...over,
  });
  const s = new FileSource(cfg, { dataDir, parsePool: parseModes.pool, poolMinChars: 0 });
  cleanup.push(() => s.stop());
  return s;
}

/** Past this offset the first bytes are no longer re-checked on every read (tailer.ts RECHECK_BELOW). */
const RECHECK_BELOW = 64 * 1024;
/** A constant start longer than the fingerprint: the first bytes are the same before and after a truncation. */
const PREFIX = 'static '.repeat(40);

const lines = (prefix: string, tag: string, from: number, to: number): string[] => {
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`${prefix}${tag}${i}`);
  return out;
};
const text = (ls: string[]): string => ls.map((l) => l + '\n').join('');
/** The committed offset of the one file the source reads. */
const offsetOf = (s: FileSource): number => (s.status().files as { offset: number }[])[0]!.offset;

/**
 * Like logrotate's copytruncate, with the writer's own O_APPEND descriptor
 * (where it writes next is the new end): copy the file aside (not a tailed
 * name), truncate it to 0, then let the writer go on.
 */
function copytruncate(file: string, writerFd: number): void {
  copyFileSync(file, file + '.1');
  ftruncateSync(writerFd, 0);
}

describeParseModes(() => {
  describe('FileSource copytruncate past the 64 KiB re-check offset', () => {
    it('noticed late, same first bytes: a file truncated and regrown below the read offset is read again from 0', async () => {
      expect(PREFIX.length).toBeGreaterThan(FINGERPRINT_BYTES);
      const d = tempDir();
      const f = join(d, 'app.log');
      const fd = openSync(f, 'a');
      cleanup.push(() => closeSync(fd));
      const a = lines(PREFIX, 'A', 1, 400);
      writeSync(fd, text(a));
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [f] }); // polls every 50 ms: the fingerprint is checked, and matches
      await s.start(p);
      await waitFor(() => p.records.length >= 400, 'the A lines');
      expect(offsetOf(s)).toBeGreaterThan(RECHECK_BELOW);
      // The pipeline pushes back: the source pauses after its next batch and looks at nothing until drain.
      p.refuse = true;
      const a401 = lines(PREFIX, 'A', 401, 401);
      writeSync(fd, text(a401));
      await waitFor(() => s.status().paused === true, 'the source to pause');
      copytruncate(f, fd);
      const b = lines(PREFIX, 'B', 1, 30); // regrown, still far below the old offset
      writeSync(fd, text(b));
      p.drain();
      await waitFor(() => s.status().counters.truncations === 1, 'the truncation to be noticed');
      await waitFor(() => p.records.length >= 431, 'the B lines');
      expect(p.messages).toEqual([...a, ...a401, ...b]);
      expect(s.status().counters.truncations).toBe(1);
      expect(offsetOf(s)).toBe(Buffer.byteLength(text(b)));
    });

    it('noticed on the next read, no poll to help: the size below the read offset reveals it at once', async () => {
      const d = tempDir();
      const f = join(d, 'app.log');
      const fd = openSync(f, 'a');
      cleanup.push(() => closeSync(fd));
      const pad = '.'.repeat(200);
      const a = lines('', 'A', 1, 500).map((l) => `${l} ${pad}`); // distinct first bytes this time
      writeSync(fd, text(a));
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [f], poll_interval: '1h' }); // the fingerprint is never re-checked past 64 KiB
      await s.start(p);
      await waitFor(() => p.records.length >= 500, 'the A lines');
      expect(offsetOf(s)).toBeGreaterThan(RECHECK_BELOW);
      copytruncate(f, fd);
      const b = lines('', 'B', 1, 20).map((l) => `${l} ${pad}`);
      writeSync(fd, text(b));
      await waitFor(() => p.records.length >= 520, 'the B lines');
      expect(p.messages).toEqual([...a, ...b]);
      expect(s.status().counters.truncations).toBe(1);
    });
  });
});
