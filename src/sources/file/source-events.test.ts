/**
 * The file source with its poll an hour away: what must happen without a
 * poll happens. fs.watch events alone bring appended lines, new files and
 * rotations; the coarse timer alone flushes an unterminated line after
 * idle_flush, a multiline record after its timeout, and retires a rotated
 * file after rotate_wait; a drain alone resumes a paused source. With a
 * short poll (the other test files) each of these is also done by the poll,
 * so only these tests fail when the event or timer path breaks.
 */
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileSource } from './source.js';
import { CollectingPipeline, waitFor } from '../../../test/helpers/fake-pipeline.js';
import { fileSource, runCleanup, tempDir } from '../../../test/helpers/file-source.js';

afterEach(runCleanup);

/** A source whose poll never comes during a test: reads are driven by watch events and the timer only. */
const source = (dataDir: string, over: Parameters<typeof fileSource>[1]): FileSource => fileSource(dataDir, { name: 'f', poll_interval: '1h', ...over });

const counters = (s: FileSource) => s.status().counters;

describe('FileSource without a poll: fs.watch events', () => {
  it('an appended line, a new matching file and a rename + create are read on their events alone', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    writeFileSync(f, 'a1\n');
    const p = new CollectingPipeline();
    const s = source(join(d, 'data'), { paths: [join(d, '*.log')] });
    await s.start(p);
    await waitFor(() => p.records.length === 1, 'the first line (read at start)');
    appendFileSync(f, 'a2\n');
    await waitFor(() => p.messages.includes('a2'), 'the appended line, on its change event');
    writeFileSync(join(d, 'new.log'), 'n1\n');
    await waitFor(() => p.messages.includes('n1'), 'a file created after start, on its rename event');
    renameSync(f, join(d, 'app.log.1'));
    writeFileSync(f, 'b1\n');
    await waitFor(() => p.messages.includes('b1'), 'the file created at the rotated path');
    expect(counters(s).polls).toBe(0);
    expect([...p.messages].sort()).toEqual(['a1', 'a2', 'b1', 'n1']);
  });

  it('a file moved out of the watched directory and created again: the move\'s own event finds the new file', async () => {
    const d = tempDir();
    const away = tempDir();
    const f = join(d, 'app.log');
    writeFileSync(f, 'a1\n');
    const p = new CollectingPipeline();
    const s = source(join(d, 'data'), { paths: [f] });
    await s.start(p);
    await waitFor(() => p.records.length === 1, 'a1');
    renameSync(f, join(away, 'app.log'));
    writeFileSync(f, 'b1\n');
    await waitFor(() => p.messages.includes('b1'), 'the new file at the path');
    expect(p.messages).toEqual(['a1', 'b1']);
    expect(counters(s).polls).toBe(0);
  });

  it('a line written to a file after it was renamed away arrives through its descriptor', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    writeFileSync(f, 'a1\n');
    const p = new CollectingPipeline();
    // rotate_wait long enough that the rotated file is still open when the late line comes
    const s = source(join(d, 'data'), { paths: [f], rotate_wait: '1h' });
    await s.start(p);
    await waitFor(() => p.records.length === 1, 'a1');
    renameSync(f, join(d, 'app.log.1'));
    writeFileSync(f, 'b1\n');
    await waitFor(() => p.messages.includes('b1'), 'the new file');
    appendFileSync(join(d, 'app.log.1'), 'late\n'); // its name is no longer watched: the event wakes the rotated tailers
    await waitFor(() => p.messages.includes('late'), 'the late line of the rotated file');
    expect(counters(s).polls).toBe(0);
  });
});

describe('FileSource without a poll: the coarse timer', () => {
  it('emits an unterminated last line after idle_flush', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    writeFileSync(f, 'whole\nhalf');
    const p = new CollectingPipeline();
    const s = source(join(d, 'data'), { paths: [f] });
    await s.start(p);
    await waitFor(() => p.records.length === 2, 'the unterminated line, after idle_flush');
    expect(p.messages).toEqual(['whole', 'half']);
    expect(counters(s).polls).toBe(0);
  });

  it('emits a multiline record cut by its timeout', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    writeFileSync(f, '2024-05-01 10:00:00 ERROR boom\n\tat a\n\tat b\n');
    const p = new CollectingPipeline();
    const s = source(join(d, 'data'), { paths: [f], multiline: { start: '^\\d{4}-', timeout: '150ms' }, idle_flush: '1h' });
    await s.start(p);
    await waitFor(() => p.records.length === 1, 'the record, after the multiline timeout');
    expect(p.messages).toEqual(['2024-05-01 10:00:00 ERROR boom\n\tat a\n\tat b']);
    expect(counters(s).polls).toBe(0);
  });

  it('retires a rotated file after rotate_wait of quiet', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    writeFileSync(f, 'a1\n');
    const p = new CollectingPipeline();
    const s = source(join(d, 'data'), { paths: [f] });
    await s.start(p);
    await waitFor(() => p.records.length === 1, 'a1');
    renameSync(f, join(d, 'app.log.1'));
    writeFileSync(f, 'b1\n');
    await waitFor(() => counters(s).files_closed === 1, 'the rotated file closed after rotate_wait');
    expect((s.status().files as Array<{ path: string }>).map((x) => x.path)).toEqual([f]);
    expect(p.messages).toEqual(['a1', 'b1']);
    expect(counters(s).rotations).toBe(1);
    expect(counters(s).polls).toBe(0);
  });
});

describe('FileSource without a poll: back-pressure', () => {
  it('a paused source resumes on the drain alone and reads the rest', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    writeFileSync(f, 'p1\n');
    const p = new CollectingPipeline();
    p.refuse = true; // the first push pauses the source
    const s = source(join(d, 'data'), { paths: [join(d, '*.log')] });
    await s.start(p);
    await waitFor(() => s.status().paused === true, 'paused');
    appendFileSync(f, 'p2\np3\n'); // its change event comes while paused: nothing is read
    // a file created after it: once the scan its event asks for has registered it, the event before it was handled too
    writeFileSync(join(d, 'marker.log'), 'm1\n');
    await waitFor(() => counters(s).files_opened === 2, 'the marker file registered');
    expect(p.records).toHaveLength(1);
    p.drain();
    await waitFor(() => p.records.length === 4, 'the lines written while paused, after the drain');
    expect([...p.messages].sort()).toEqual(['m1', 'p1', 'p2', 'p3']);
    expect(s.status().paused).toBe(false);
    expect(counters(s).polls).toBe(0);
  });
});
