import { appendFileSync, closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { isEncoded, recordsOf } from '../../wire/encoded.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileSourceSchema, type FileSourceInput } from './config.js';
import { CollectingPipeline, polls, waitFor } from '../../../test/helpers/fake-pipeline.js';
import { FileSource } from './source.js';
import { describeParseModes, parseModes } from '../../../test/helpers/parse-modes.js';
import { ParsePool, type ParseJob, type ParseResult } from '../../parse/pool.js';
import { sharedBufferStats } from '../../parse/shared-buffers.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-file-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

type Over = Partial<Omit<FileSourceInput, 'name' | 'type'>> & { paths: string[] };

/** A source with test-sized intervals, stopped after the test. */
function source(dataDir: string, over: Over, name = 'f'): FileSource {
  const cfg = fileSourceSchema.parse({
    name, type: 'file', format: 'plain', from: 'start', poll_interval: '50ms', idle_flush: '150ms', rotate_wait: '200ms', ...over,
  });
  const s = new FileSource(cfg, { dataDir, parsePool: parseModes.pool, poolMinChars: 0 });
  cleanup.push(() => s.stop());
  return s;
}

function lines(prefix: string, from: number, to: number): string {
  let s = '';
  for (let i = from; i <= to; i++) s += `${prefix}${i}\n`;
  return s;
}

function names(prefix: string, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`${prefix}${i}`);
  return out;
}

const sorted = (a: string[]) => [...a].sort();

// Every test runs twice: lines parsed on the main thread, and by the parse pool's worker threads.
describeParseModes(() => {
  describe('FileSource discovery', () => {
    it('reads the files a glob and a directory match, and a file created after start from 0', async () => {
      const d = tempDir();
      mkdirSync(join(d, 'logs'));
      mkdirSync(join(d, 'dir'));
      writeFileSync(join(d, 'logs/a.log'), 'a1\na2\n');
      writeFileSync(join(d, 'logs/skip.txt'), 'no\n');
      writeFileSync(join(d, 'dir/any-name'), 'd1\n');
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [join(d, 'logs/*.log'), join(d, 'dir')], from: 'end' });
      await s.start(p);
      // from = end: nothing of what was there at the first start.
      appendFileSync(join(d, 'logs/a.log'), 'a3\n');
      writeFileSync(join(d, 'logs/new.log'), 'n1\nn2\n'); // appears after start: from 0
      writeFileSync(join(d, 'dir/other'), 'o1\n');
      writeFileSync(join(d, 'logs/late.txt'), 'no\n');
      await waitFor(() => p.records.length >= 4, '4 records');
      await polls(s);
      expect(sorted(p.messages)).toEqual(['a3', 'n1', 'n2', 'o1']);
      const r = p.records.find((x) => x.message === 'n1')!;
      expect(r).toMatchObject({ source: 'f', stream: 'f', origin: { kind: 'file', path: join(d, 'logs/new.log') } });
      expect(r.received).toBeGreaterThan(0);
      expect(s.status().counters.files_opened).toBe(4);
    });

    it('from = end applies only on the first start: a file that appeared while stopped is read from 0', async () => {
      const d = tempDir();
      writeFileSync(join(d, 'a.log'), 'old1\n');
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [join(d, '*.log')], from: 'end' });
      await s.start(p);
      appendFileSync(join(d, 'a.log'), 'a2\n');
      await waitFor(() => p.records.length >= 1, 'a2');
      await s.stop();
      appendFileSync(join(d, 'a.log'), 'a3\n');
      writeFileSync(join(d, 'b.log'), 'b1\nb2\n');
      const p2 = new CollectingPipeline(p.seq);
      const s2 = source(join(d, 'data'), { paths: [join(d, '*.log')], from: 'end' });
      await s2.restore(p2);
      await s2.start(p2);
      await waitFor(() => p2.records.length >= 3, 'a3, b1, b2');
      await polls(s2);
      expect(p.messages).toEqual(['a2']);
      expect(sorted(p2.messages)).toEqual(['a3', 'b1', 'b2']);
    });

    it('from = start reads existing content; CRLF lines lose their CR', async () => {
      const d = tempDir();
      writeFileSync(join(d, 'a.log'), 'one\r\ntwo\r\nthree\n');
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [join(d, '*.log')], from: 'start' });
      await s.start(p);
      await waitFor(() => p.records.length >= 3, '3 records');
      expect(p.messages).toEqual(['one', 'two', 'three']);
      const st = s.status();
      expect(st.state).toBe('running');
      expect(st.counters.lines).toBe(3);
      expect(st.counters.bytes).toBe(16);
      expect(st.files).toEqual([{ path: join(d, 'a.log'), offset: 16, size: 16, dev: statSync(join(d, 'a.log')).dev, ino: statSync(join(d, 'a.log')).ino }]);
    });

    it('keeps other files going when one path cannot be read, and counts the error', async () => {
      const d = tempDir();
      writeFileSync(join(d, 'good.log'), 'g1\n');
      symlinkSync(join(d, 'loop.log'), join(d, 'loop.log')); // ELOOP, even for root
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [join(d, '*.log')] });
      await s.start(p);
      await waitFor(() => p.records.length >= 1, 'good file');
      appendFileSync(join(d, 'good.log'), 'g2\n');
      await waitFor(() => p.records.length >= 2, 'second line');
      expect(p.messages).toEqual(['g1', 'g2']);
      expect(s.status().counters.read_errors).toBeGreaterThanOrEqual(1);
      expect(s.status().errors).toEqual([{ path: join(d, 'loop.log'), code: 'ELOOP' }]);
    });
  });

  describe('FileSource partial lines', () => {
    it('emits an unterminated last line after idle_flush; a newline right after it is not an empty line', async () => {
      const d = tempDir();
      const f = join(d, 'a.log');
      writeFileSync(f, 'first\nhalf');
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [f] });
      await s.start(p);
      await waitFor(() => p.records.length >= 2, 'idle flush');
      expect(p.messages).toEqual(['first', 'half']);
      appendFileSync(f, '\nnext\n');
      await waitFor(() => p.records.length >= 3, 'next');
      await polls(s);
      expect(p.messages).toEqual(['first', 'half', 'next']);
      await s.stop();
      // A restart resumes after "next" with nothing repeated.
      appendFileSync(f, 'after\n');
      const p2 = new CollectingPipeline(p.seq);
      const s2 = source(join(d, 'data'), { paths: [f] });
      await s2.restore(p2);
      await s2.start(p2);
      await waitFor(() => p2.records.length >= 1, 'after');
      await polls(s2);
      expect(p2.messages).toEqual(['after']);
    });

    it('does not emit a partial line at stop: it is read, whole, after the restart', async () => {
      const d = tempDir();
      const f = join(d, 'a.log');
      writeFileSync(f, 'one\ntw');
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [f], idle_flush: '1h' });
      await s.start(p);
      await waitFor(() => p.records.length >= 1, 'one');
      await s.stop();
      expect(p.messages).toEqual(['one']);
      appendFileSync(f, 'o\nthree\n');
      const p2 = new CollectingPipeline(p.seq);
      const s2 = source(join(d, 'data'), { paths: [f], idle_flush: '1h' });
      await s2.restore(p2);
      await s2.start(p2);
      await waitFor(() => p2.records.length >= 2, 'two, three');
      expect(p2.messages).toEqual(['two', 'three']);
    });
    it('after a restart right behind an idle-flushed partial, the newline that ends it is not an empty record', async () => {
      const d = tempDir();
      const f = join(d, 'a.log');
      writeFileSync(f, 'x\npart');
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [f] });
      await s.start(p);
      await waitFor(() => p.records.length >= 2, 'flushed partial');
      await s.stop();
      const p2 = new CollectingPipeline(p.seq);
      const s2 = source(join(d, 'data'), { paths: [f] });
      await s2.restore(p2);
      await s2.start(p2); // resumes right after "part", before its newline is written
      appendFileSync(f, '\ny\n');
      await waitFor(() => p2.records.length >= 1, 'y');
      await polls(s2);
      expect(p.messages).toEqual(['x', 'part']);
      expect(p2.messages).toEqual(['y']);
    });

    it('never tails its own checkpoint directory, even under a ** glob', async () => {
      const d = tempDir();
      writeFileSync(join(d, 'a.log'), 'a1\n');
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [join(d, '**')] });
      await s.start(p);
      await waitFor(() => p.records.length >= 1, 'a1');
      appendFileSync(join(d, 'a.log'), 'a2\n');
      await waitFor(() => p.records.length >= 2, 'a2');
      await polls(s);
      expect(p.messages).toEqual(['a1', 'a2']);
      expect((s.status().files as Array<{ path: string }>).map((f) => f.path)).toEqual([join(d, 'a.log')]);
    });
  });

  describe('FileSource rotation', () => {
    it('rename + create: the old file is read to its end through its descriptor, the new one from 0, each line once', async () => {
      const d = tempDir();
      const f = join(d, 'app.log');
      let fd = openSync(f, 'a');
      writeSync(fd, lines('L', 1, 100));
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [join(d, '*.log')] });
      await s.start(p);
      await waitFor(() => p.records.length >= 100, 'first 100');
      renameSync(f, f + '.1');
      writeSync(fd, lines('L', 101, 150)); // the writer has not reopened yet
      const fd2 = openSync(f, 'a');
      writeSync(fd2, lines('L', 151, 200));
      writeSync(fd, lines('L', 201, 210)); // a late write to the rotated file
      closeSync(fd);
      fd = fd2;
      writeSync(fd, lines('L', 211, 250));
      closeSync(fd);
      await waitFor(() => p.records.length >= 250, '250 lines');
      await waitFor(() => s.status().counters.files_closed >= 1, 'rotated file retired');
      await polls(s);
      expect(sorted(p.messages)).toEqual(sorted(names('L', 1, 250)));
      const c = s.status().counters;
      expect(c.rotations).toBe(1);
      expect(c.files_opened).toBe(2);
      expect(s.status().files).toHaveLength(1);
    });

    it('copytruncate: a file that shrinks below what was read is read again from 0', async () => {
      const d = tempDir();
      const f = join(d, 'app.log');
      const fd = openSync(f, 'a');
      writeSync(fd, lines('A', 1, 50));
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [f] });
      await s.start(p);
      await waitFor(() => p.records.length >= 50, '50 lines');
      ftruncateSync(fd, 0);
      writeSync(fd, lines('B', 1, 5)); // O_APPEND: lands at 0
      await waitFor(() => p.records.length >= 55, 'after truncation');
      closeSync(fd);
      expect(p.messages).toEqual([...names('A', 1, 50), ...names('B', 1, 5)]);
      expect(s.status().counters.truncations).toBe(1);
    });

    it('copytruncate race on a small file: truncated and regrown past the old offset before the next read', async () => {
      const d = tempDir();
      const f = join(d, 'app.log');
      const fd = openSync(f, 'a');
      const pad = '.'.repeat(100); // more than the 256 fingerprinted bytes before the truncation
      writeSync(fd, lines(`A${pad}`, 1, 5));
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [f], poll_interval: '1h' }); // no poll to help
      await s.start(p);
      await waitFor(() => p.records.length >= 5, '5 lines');
      ftruncateSync(fd, 0);
      writeSync(fd, lines(`B${pad}`, 1, 30)); // same tick: the tailer has not looked yet
      closeSync(fd);
      await waitFor(() => p.records.length >= 35, 'B lines');
      expect(p.messages).toEqual([...names(`A${pad}`, 1, 5), ...names(`B${pad}`, 1, 30)]);
      expect(s.status().counters.truncations).toBe(1);
    });

    it('copytruncate noticed late (the file regrew past the old offset): the changed first bytes reveal it', async () => {
      const d = tempDir();
      const f = join(d, 'app.log');
      writeFileSync(f, lines('A', 1, 20));
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [f] });
      await s.start(p);
      await waitFor(() => p.records.length >= 20, '20 lines');
      p.refuse = true; // the next push pauses the source
      appendFileSync(f, 'A21\n');
      await waitFor(() => s.status().paused === true, 'paused');
      // Replaced while paused with more bytes than were read.
      writeFileSync(f, lines('B', 1, 40));
      await polls(s); // a whole poll pass marks the fingerprint for checking
      p.drain();
      await waitFor(() => p.records.length >= 61, 'B lines');
      expect(p.messages).toEqual([...names('A', 1, 21), ...names('B', 1, 40)]);
      expect(s.status().counters.truncations).toBe(1);
    });

    it('deletion: the file is read to its end through the open descriptor, then closed', async () => {
      const d = tempDir();
      const f = join(d, 'app.log');
      const fd = openSync(f, 'a');
      writeSync(fd, lines('D', 1, 10));
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [join(d, '*.log')] });
      await s.start(p);
      await waitFor(() => p.records.length >= 10, '10 lines');
      unlinkSync(f);
      writeSync(fd, lines('D', 11, 30));
      closeSync(fd);
      await waitFor(() => s.status().counters.files_closed >= 1, 'closed');
      expect(p.messages).toEqual(names('D', 1, 30));
      const c = s.status().counters;
      expect(c.deletions).toBe(1);
      expect(s.status().files).toEqual([]);
    });

    it('a renamed-away file rotated while Sluice was down is found beside its old path and read to its end', async () => {
      const d = tempDir();
      const f = join(d, 'app.log');
      writeFileSync(f, lines('R', 1, 10));
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [join(d, '*.log')] });
      await s.start(p);
      await waitFor(() => p.records.length >= 10, '10 lines');
      await s.stop();
      appendFileSync(f, lines('R', 11, 15));
      renameSync(f, f + '.1');
      writeFileSync(f, lines('R', 16, 20));
      const p2 = new CollectingPipeline(p.seq);
      const s2 = source(join(d, 'data'), { paths: [join(d, '*.log')] });
      await s2.restore(p2);
      await s2.start(p2);
      await waitFor(() => p2.records.length >= 10, '10 more');
      await waitFor(() => s2.status().counters.files_closed >= 1, 'rotated file retired');
      expect(sorted(p2.messages)).toEqual(sorted(names('R', 11, 20)));
    });
  });

  describe('FileSource identity', () => {
    it('a saved inode whose first bytes differ is a new file: read from 0', async () => {
      const d = tempDir();
      const f = join(d, 'app.log');
      writeFileSync(f, lines('old', 1, 5));
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [f] });
      await s.start(p);
      await waitFor(() => p.records.length >= 5, '5 lines');
      await s.stop();
      const savedIno = statSync(f).ino;
      // Delete and recreate with other content; ext4/tmpfs usually hand the same inode back.
      unlinkSync(f);
      writeFileSync(f, lines('new', 1, 8));
      const p2 = new CollectingPipeline(p.seq);
      const s2 = source(join(d, 'data'), { paths: [f] });
      await s2.restore(p2);
      await s2.start(p2);
      await waitFor(() => p2.records.length >= 8, '8 lines');
      expect(p2.messages).toEqual(names('new', 1, 8));
      // Whether or not the inode was reused, the outcome is the same; the next test forces reuse.
      expect(typeof savedIno).toBe('number');
    });

    it('forced inode reuse: a checkpoint naming this dev:ino with another fingerprint does not skip anything', async () => {
      const d = tempDir();
      const data = join(d, 'data');
      const f = join(d, 'app.log');
      writeFileSync(f, lines('x', 1, 6));
      const st = statSync(f);
      mkdirSync(join(data, 'checkpoints'), { recursive: true });
      writeFileSync(
        join(data, 'checkpoints/file-f.json'),
        JSON.stringify({ version: 1, files: [{ key: `${st.dev}:${st.ino}:12-0123456789abcdef`, path: f, offset: 12 }], last: null }),
      );
      const p = new CollectingPipeline();
      const s = source(data, { paths: [f], from: 'end' });
      await s.restore(p);
      await s.start(p);
      await waitFor(() => p.records.length >= 6, '6 lines');
      expect(p.messages).toEqual(names('x', 1, 6));
    });
  });

  describe('FileSource multiline', () => {
    const start = '^\\d{4}-\\d{2}-\\d{2} ';
    const trace = [
      '2024-05-01 10:00:00 ERROR request failed',
      'java.lang.IllegalStateException: boom',
      '\tat com.example.Foo.bar(Foo.java:42)',
      '\tat com.example.Main.main(Main.java:7)',
      'Caused by: java.io.IOException: disk full',
      '\t... 2 more',
    ];

    it('joins a Java stack trace into one record; the last record goes out after the timeout', async () => {
      const d = tempDir();
      const f = join(d, 'app.log');
      writeFileSync(f, trace.join('\n') + '\n2024-05-01 10:00:01 INFO ok\n');
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [f], multiline: { start, timeout: '100ms' } });
      await s.start(p);
      await waitFor(() => p.records.length >= 2, 'two records');
      expect(p.messages).toEqual([trace.join('\n'), '2024-05-01 10:00:01 INFO ok']);
      expect(p.batches.length).toBe(2); // the second came from the timeout, alone
      expect(s.status().counters.lines).toBe(7);
    });

    it('moves the checkpoint past a record only once it is pushed; stop emits the pending one', async () => {
      const d = tempDir();
      const f = join(d, 'app.log');
      const first = trace.join('\n') + '\n';
      writeFileSync(f, first + '2024-05-01 10:00:01 WARN pending\n\tdetail\n');
      const p = new CollectingPipeline();
      const s = source(join(d, 'data'), { paths: [f], multiline: { start, timeout: '1h' } });
      await s.start(p);
      await waitFor(() => p.records.length >= 1, 'first record');
      await polls(s);
      expect(p.records).toHaveLength(1);
      expect((s.status().files as Array<{ offset: number }>)[0]!.offset).toBe(Buffer.byteLength(first));
      await s.stop();
      expect(p.messages[1]).toBe('2024-05-01 10:00:01 WARN pending\n\tdetail');
      expect((s.status().counters.records)).toBe(2);
    });
  });

  describe('FileSource back-pressure', () => {
    it('stops reading when push returns false and resumes on drain, with nothing lost', async () => {
      const d = tempDir();
      const f = join(d, 'app.log');
      writeFileSync(f, lines('P', 1, 10));
      const p = new CollectingPipeline();
      p.refuse = true;
      const s = source(join(d, 'data'), { paths: [f] });
      await s.start(p);
      await waitFor(() => p.batches.length === 1, 'first batch');
      await waitFor(() => s.status().paused === true, 'waiting');
      appendFileSync(f, lines('P', 11, 20));
      await polls(s, 3); // poll passes and watch events: still nothing read
      expect(p.batches).toHaveLength(1);
      expect(p.drainWaiters).toBeGreaterThanOrEqual(1); // the source (and the parse stage) wait for the drain
      expect((s.status().files as Array<{ offset: number }>)[0]!.offset).toBe(Buffer.byteLength(lines('P', 1, 10)));
      p.drain();
      await waitFor(() => p.records.length >= 20, '20 lines');
      expect(p.messages).toEqual(names('P', 1, 20));
      expect(s.status().paused).toBe(false);
    });
  });

  describe('FileSource when the pipeline throws', () => {
    it('counts the refused batch (push_errors, a drop) and keeps reading what follows', async () => {
      const d = tempDir();
      const f = join(d, 'a.log');
      writeFileSync(f, '');
      const p = new CollectingPipeline();
      const realPush = p.push.bind(p);
      let fail = true;
      p.push = (batch) => {
        if (fail && (isEncoded(batch) ? recordsOf(batch, 1) : batch).some((r) => r.message === 'poison')) {
          fail = false;
          throw new Error('downstream bug');
        }
        return realPush(batch);
      };
      const s = source(join(d, 'data'), { paths: [f] });
      await s.start(p);
      appendFileSync(f, 'poison\n');
      await waitFor(() => s.status().counters.push_errors === 1, 'the refused batch counted');
      appendFileSync(f, 'after\n');
      await waitFor(() => p.records.some((r) => r.message === 'after'), 'the next line');
      expect(p.drops).toContainEqual({ stage: 'file', reason: 'push_error', n: 1 });
      expect(s.status().counters.read_errors).toBe(0);
    });
  });
});

/** A real parse pool whose jobs go through `parse` (which may call the real one); closed after the test. */
function wrappedPool(parse: (real: ParsePool, job: Omit<ParseJob, 'id'>) => Promise<ParseResult>): ParsePool {
  const real = new ParsePool(2);
  cleanup.push(() => real.close());
  return {
    get threads() {
      return real.threads;
    },
    parse: (job: Omit<ParseJob, 'id'>) => parse(real, job),
    status: () => real.status(),
  } as unknown as ParsePool;
}

/** A file source over `count` numbered lines in 16 KiB reads, fed to `pool`. */
function bigFileSource(count: number, pool: ParsePool): FileSource {
  const d = tempDir();
  const f = join(d, 'big.log');
  writeFileSync(f, lines('line ', 1, count));
  const cfg = fileSourceSchema.parse({ name: 'f', type: 'file', format: 'plain', from: 'start', poll_interval: '50ms', idle_flush: '150ms', paths: [f], read_buffer: '16KiB' });
  const s = new FileSource(cfg, { dataDir: join(d, 'data'), parsePool: pool, poolMinChars: 0 });
  cleanup.push(() => s.stop());
  return s;
}

describe('FileSource with failing parse workers', () => {
  it('a chunk whose worker fails is parsed here from the same shared bytes: every line once, in order, counted', async () => {
    // a real pool, except that every second job fails as a dying worker's job does
    let n = 0;
    const flaky = wrappedPool((real, job) => (++n % 2 === 0 ? Promise.reject(new Error('parse worker exited')) : real.parse(job)));
    const s = bigFileSource(20_000, flaky);
    const p = new CollectingPipeline();
    await s.start(p);
    await waitFor(() => p.records.length >= 20_000, '20,000 records');
    await polls(s);
    expect(p.messages).toEqual(names('line ', 1, 20_000));
    expect(p.records.map((r) => r.seq)).toEqual(names('', 1, 20_000).map(Number));
    const c = s.status().counters;
    expect(c.parsed_inline).toBeGreaterThan(0);
    expect(c.lines).toBe(20_000);
    expect(flaky.status().jobs).toBeGreaterThan(0);
  });
});

describe('FileSource read buffers', () => {
  it('come from the shared pool and go back only once their batch is committed: reused, never overwritten under a thread', async () => {
    // every job waits 20 ms before a thread reads its bytes: reads behind it take buffers meanwhile,
    // and one given back too early would be read into again before the thread looks at it
    const slow = wrappedPool((real, job) => new Promise((r) => setTimeout(r, 20)).then(() => real.parse(job)));
    const before = { ...sharedBufferStats };
    const s = bigFileSource(50_000, slow);
    const p = new CollectingPipeline();
    await s.start(p);
    await waitFor(() => p.records.length >= 50_000, '50,000 records');
    await polls(s);
    expect(p.messages).toEqual(names('line ', 1, 50_000));
    expect(sharedBufferStats.given - before.given).toBeGreaterThan(10);
    expect(sharedBufferStats.reused - before.reused).toBeGreaterThan(10);
  });
});

describe('FileSource poll passes', () => {
  it('counts a pass only once what it read is committed: a held parse result holds the count', async () => {
    // a real pool whose results are held for half a second (10 poll intervals): reads end, commits wait
    let open = false;
    const gate = new Promise<void>((r) => setTimeout(() => r(), 500)).then(() => void (open = true));
    const held = wrappedPool((real, job) => real.parse(job).then(async (res) => (await gate, res)));
    const s = bigFileSource(2_000, held); // two 16 KiB reads: below the lane's back-pressure limit
    const p = new CollectingPipeline();
    await s.start(p);
    await polls(s);
    expect(open).toBe(true);
    expect(p.messages).toEqual(names('line ', 1, 2_000));
  });

  it('counts passes while paused, when parsed batches wait for the drain', async () => {
    const s = bigFileSource(20_000, wrappedPool((real, job) => real.parse(job)));
    const p = new CollectingPipeline();
    p.refuse = true;
    await s.start(p);
    await waitFor(() => s.status().paused === true, 'paused');
    await polls(s);
    expect(p.records.length).toBeLessThan(20_000);
    p.drain();
    await waitFor(() => p.records.length >= 20_000, '20,000 records');
    expect(p.messages).toEqual(names('line ', 1, 20_000));
  });
});

describe('FileSource commits worker batches one per event-loop turn', () => {
  it('results that arrive together are published in separate turns, so sockets drain in between', async () => {
    // a real pool whose results are held and then all handed over at once, as when they queued up
    // while the main thread was busy
    const held: (() => void)[] = [];
    let timer: NodeJS.Timeout | undefined;
    const releaseAll = (): void => {
      clearTimeout(timer);
      timer = undefined;
      for (const r of held.splice(0)) r();
    };
    const bunching = wrappedPool((real, job) =>
      real.parse(job).then(
        (res) =>
          new Promise<ParseResult>((resolve) => {
            held.push(() => resolve(res));
            if (held.length >= 4) releaseAll();
            else timer ??= setTimeout(releaseAll, 100);
          }),
      ),
    );
    const s = bigFileSource(40_000, bunching);
    // the turn counter: one step per pass of the loop's check phase
    let turn = 0;
    let ticking = true;
    const tick = (): void => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    cleanup.push(() => void (ticking = false));
    const p = new CollectingPipeline();
    const turns: number[] = [];
    const push = p.push.bind(p);
    p.push = (batch) => {
      turns.push(turn);
      return push(batch);
    };
    await s.start(p);
    await waitFor(() => p.records.length >= 40_000, '40,000 records');
    expect(p.messages).toEqual(names('line ', 1, 40_000));
    expect(turns.length).toBeGreaterThan(8); // several bunches of 4 were handed over at once
    expect(new Set(turns).size).toBe(turns.length); // and still no two batches were published in one turn
  });
});
