/**
 * The file source with a multiline preset, on a real file and real timers:
 * the quiet timeout emits the part of a trace written so far, and a crash
 * replay rebuilds a preset's records exactly. (Which lines a preset joins is
 * multiline-presets.test.ts; parsing is not involved, so one parse mode.)
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../core/record.js';
import { CollectingPipeline, polls, waitFor } from '../../../test/helpers/fake-pipeline.js';
import { fileSourceSchema, type FileSourceInput } from './config.js';
import { FileSource } from './source.js';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/multiline');
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-file-ml-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function source(dataDir: string, over: Partial<FileSourceInput> & { paths: string[] }): FileSource {
  const cfg = fileSourceSchema.parse({ name: 'app', type: 'file', format: 'plain', from: 'start', poll_interval: '50ms', ...over });
  const s = new FileSource(cfg, { dataDir });
  cleanup.push(() => s.stop());
  return s;
}

const trace = (file: string) => readFileSync(join(FIXTURES, file), 'utf8').replace(/\n$/, '').split('\n');
const seqMsg = (rs: LogRecord[]) => rs.map((r) => [r.seq, r.message] as const);

describe('FileSource with a multiline preset', () => {
  it('a trace cut by the quiet timeout: what came before it is one record, what follows another', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    const t = trace('java/caused-by.txt');
    const head = t.slice(0, 5); // up to the first "Caused by:" and one of its frames
    writeFileSync(f, '2024-05-01T10:00:00Z INFO start\n' + head.join('\n') + '\n');
    const p = new CollectingPipeline();
    const s = source(join(d, 'data'), { paths: [f], multiline: { preset: 'java', timeout: '150ms' } });
    await s.start(p);
    await waitFor(() => p.records.length >= 2, 'the head of the trace, after the timeout');
    expect(p.messages).toEqual(['2024-05-01T10:00:00Z INFO start', head.join('\n')]);
    appendFileSync(f, t.slice(5).join('\n') + '\n2024-05-01T10:00:05Z INFO done\n');
    await waitFor(() => p.records.length >= 4, 'the rest');
    expect(p.messages.slice(2)).toEqual([t.slice(5).join('\n'), '2024-05-01T10:00:05Z INFO done']);
  });

  it('a trace written whole stays one record however the reads split it', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    const t = trace('go/goroutines.txt');
    writeFileSync(f, 'before\n' + t.join('\n') + '\nafter\n');
    const p = new CollectingPipeline();
    const s = source(join(d, 'data'), { paths: [f], multiline: 'go', read_buffer: '1KiB' });
    await s.start(p);
    await waitFor(() => p.records.length >= 3, 'three records');
    await polls(s);
    expect(p.messages).toEqual(['before', t.join('\n'), 'after']);
  });

  it('a crash replay rebuilds a batch that began after a timeout cut exactly (each cut leaves the joiner in `start`)', async () => {
    const d = tempDir();
    const data = join(d, 'data');
    const f = join(d, 'app.log');
    const t = trace('python/both.txt');
    const cut = t.indexOf("KeyError: 'rate'"); // the exception line of the second traceback
    writeFileSync(f, t.slice(0, cut).join('\n') + '\n');
    const ml = { preset: 'python', timeout: '150ms' };
    const p1 = new CollectingPipeline();
    const s1 = source(data, { paths: [f], multiline: ml });
    await s1.start(p1);
    await waitFor(() => p1.records.length >= 1, 'the part before the timeout');
    appendFileSync(f, t.slice(cut).join('\n') + '\nINFO after\n');
    await waitFor(() => p1.messages.includes('INFO after'), 'the rest');
    await s1.stop();
    // After the cut the machine starts over: the exception line and the chain phrase are no traceback's any more.
    const rest = t.slice(cut);
    const third = rest.indexOf('Traceback (most recent call last):');
    expect(p1.messages).toEqual([t.slice(0, cut).join('\n'), ...rest.slice(0, third), rest.slice(third).join('\n'), 'INFO after']);
    const p2 = new CollectingPipeline(0);
    const s2 = source(data, { paths: [f], multiline: ml });
    await s2.restore(p2);
    expect(p2.replayed[0]!.length).toBeGreaterThan(1);
    expect(seqMsg(p2.replayed[0]!)).toEqual(seqMsg(p1.batches.at(-1)!));
  });
});
