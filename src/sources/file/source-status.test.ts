/**
 * The file source's lifecycle and status as the daemon reads them: its
 * states, a second start refused, files closed and counted at stop, the
 * optional keys of the status present only when they have something to say,
 * a rotated file marked while it is read to its end, and the checkpoint's
 * problems (a corrupt document at start, a save that fails) counted and
 * shown; the last batch kept across a restart that pushed nothing.
 */
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from './checkpoint.js';
import { CollectingPipeline, polls, waitFor } from '../../../test/helpers/fake-pipeline.js';
import { fileSource, runCleanup, tempDir } from '../../../test/helpers/file-source.js';

afterEach(runCleanup);

const source = fileSource;

describe('FileSource lifecycle', () => {
  it('running once started, a second start refused, stopped after stop with every file closed and counted', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'a.log'), 'a\n');
    writeFileSync(join(d, 'b.log'), 'b\n');
    const p = new CollectingPipeline();
    const s = source(join(d, 'data'), { paths: [join(d, '*.log')] });
    expect(s.type).toBe('file');
    await s.start(p);
    expect(s.status().state).toBe('running');
    await expect(s.start(p)).rejects.toThrow('file source "app" already started or stopped');
    await waitFor(() => p.records.length === 2, 'both files');
    await s.stop();
    const st = s.status();
    expect(st.state).toBe('stopped');
    expect(st.counters.files_opened).toBe(2);
    expect(st.counters.files_closed).toBe(2);
    expect(st.files).toEqual([]);
    await expect(s.start(p)).rejects.toThrow('already started or stopped');
  });
});

describe('FileSource status', () => {
  it('has no errors, refused or checkpoint_error key while there is nothing to report; a rotated file is marked while read to its end', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    writeFileSync(f, 'a1\n');
    const p = new CollectingPipeline();
    const s = source(join(d, 'data'), { paths: [f], rotate_wait: '1h' });
    await s.start(p);
    await waitFor(() => p.records.length === 1, 'a1');
    const st = s.status();
    expect(Object.keys(st)).not.toContain('errors');
    expect(Object.keys(st)).not.toContain('refused');
    expect(Object.keys(st)).not.toContain('checkpoint_error');
    expect(st.files).toEqual([expect.not.objectContaining({ rotated: expect.anything() })]);
    renameSync(f, join(d, 'app.log.1'));
    writeFileSync(f, 'b1\n');
    await waitFor(() => p.records.length === 2, 'b1');
    // the rotated file keeps the path it was opened by, marked; the new one is not
    const files = s.status().files as Array<{ path: string; rotated?: boolean }>;
    expect(files.map((x) => [x.path, x.rotated ?? false]).sort()).toEqual([
      [f, false],
      [f, true],
    ]);
  });

  it('a checkpoint unreadable in both slots is counted and shown, and the source starts as on its first start', async () => {
    const d = tempDir();
    const data = join(d, 'data');
    const f = join(d, 'app.log');
    writeFileSync(f, 'a1\na2\n');
    const store = new CheckpointStore(data, 'app');
    mkdirSync(join(data, 'checkpoints'), { recursive: true });
    writeFileSync(store.path, '{"version":1,"files":[{"key":');
    const p = new CollectingPipeline();
    const s = source(data, { paths: [f], from: 'start' });
    await s.start(p);
    await waitFor(() => p.records.length === 2, 'both lines');
    const st = s.status();
    expect(st.counters.checkpoint_errors).toBe(1);
    expect(String(st.checkpoint_error)).not.toBe('');
    expect(p.messages).toEqual(['a1', 'a2']);
  });

  it('an entry whose key is not a file identity is ignored; the rest of the checkpoint is used', async () => {
    const d = tempDir();
    const data = join(d, 'data');
    const f = join(d, 'app.log');
    writeFileSync(f, 'a1\n');
    const p1 = new CollectingPipeline();
    const s1 = source(data, { paths: [f] });
    await s1.start(p1);
    await waitFor(() => p1.records.length === 1, 'a1');
    await s1.stop();
    const store = new CheckpointStore(data, 'app');
    const loaded = store.load();
    if (loaded.kind !== 'ok') throw new Error('no checkpoint');
    store.save({ ...loaded.doc, files: [{ key: 'not-a-key', path: join(d, 'other.log'), offset: 7 }, ...loaded.doc.files] });
    store.close();
    appendFileSync(f, 'a2\n');
    const p2 = new CollectingPipeline(p1.seq);
    const s2 = source(data, { paths: [f] });
    await s2.restore(p2);
    await s2.start(p2);
    await waitFor(() => p2.records.length === 1, 'a2');
    await polls(s2);
    expect(p2.messages).toEqual(['a2']);
    expect(s2.status().state).toBe('running');
  });

  it('a checkpoint that cannot be written is counted and shown; reading goes on', async () => {
    const d = tempDir();
    const data = join(d, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'checkpoints'), 'a file where the checkpoint directory should be');
    const f = join(d, 'app.log');
    writeFileSync(f, 'a1\n');
    const p = new CollectingPipeline();
    const s = source(data, { paths: [f] });
    await s.start(p);
    await waitFor(() => p.records.length === 1, 'a1');
    appendFileSync(f, 'a2\n');
    await waitFor(() => p.records.length === 2, 'a2');
    const st = s.status();
    expect(st.counters.checkpoint_errors).toBeGreaterThanOrEqual(2);
    expect(String(st.checkpoint_error)).toMatch(/checkpoints/);
  });
});

describe('FileSource checkpoint at its first start', () => {
  it('is written once the files are found, before any line: a crash then a restart reads what came in between', async () => {
    const d = tempDir();
    const data = join(d, 'data');
    const f = join(d, 'app.log');
    writeFileSync(f, 'old\n');
    const s1 = source(data, { paths: [f], from: 'end' });
    await s1.start(new CollectingPipeline());
    // no line read, no stop: what a SIGKILL right now would leave
    const doc = new CheckpointStore(data, 'app').load();
    expect(doc.kind === 'ok' && doc.doc.files.map((e) => [e.path, e.offset])).toEqual([[f, 4]]);
    // (s1 keeps running, but no await lies between this write and s2's load of the checkpoint in restore)
    appendFileSync(f, 'new\n');
    const p2 = new CollectingPipeline();
    const s2 = source(data, { paths: [f], from: 'end' });
    await s2.restore(p2);
    await s2.start(p2);
    await waitFor(() => p2.records.length === 1, 'the line written after the first start');
    expect(p2.messages).toEqual(['new']);
  });
});

describe('FileSource checkpoint across a restart that pushed nothing', () => {
  it('keeps the last batch of the run before, so a crash right after the restart still replays it', async () => {
    const d = tempDir();
    const data = join(d, 'data');
    const f = join(d, 'app.log');
    writeFileSync(f, 'a1\na2\n');
    const p1 = new CollectingPipeline();
    const s1 = source(data, { paths: [f] });
    await s1.start(p1);
    await waitFor(() => p1.records.length === 2, 'a1, a2');
    await s1.stop();
    const last = new CheckpointStore(data, 'app').load();
    expect(last.kind === 'ok' && last.doc.last).toMatchObject({ seqFirst: 1, seqLast: 2 });
    const p2 = new CollectingPipeline(p1.seq);
    const s2 = source(data, { paths: [f] });
    await s2.restore(p2);
    await s2.start(p2);
    await polls(s2);
    await s2.stop();
    const after = new CheckpointStore(data, 'app').load();
    expect(after.kind === 'ok' && after.doc.last).toEqual(last.kind === 'ok' && last.doc.last);
  });
});
