/**
 * The archive sink's edges: records of an encoded batch copied byte for
 * byte, rotation's corner cases (one file kept, a first write larger than
 * max_size), a file truncated from outside (copytruncate), a write error
 * (ENOSPC on /dev/full) in health and counters, status, onDrain, close, and
 * the Archives unit.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, truncateSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PipelineRuntime } from '../../core/pipeline-runtime.js';
import type { LogRecord } from '../../core/record.js';
import type { DurableStage } from '../../core/pipeline-runtime.js';
import { runJob } from '../../parse/worker.js';
import { recordsOf, type EncodedBatch } from '../../wire/encoded.js';
import { serializeRecord } from '../../wire/json.js';
import { waitFor } from '../../../test/helpers/fake-pipeline.js';
import { archiveSchema, ArchiveStage } from './archive.js';
import { Archives } from './index.js';

const open: { close(): void }[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

let seq = 0;
const recs = (n: number, stream = 'app'): LogRecord[] => Array.from({ length: n }, () => ({ seq: ++seq, time: 1_700_000_000_000, received: 1_700_000_000_000, source: 's', stream, origin: { kind: 'test' }, message: `line ${seq}`, fields: {} }));

function stage(extra: Record<string, unknown>, file = path.join(mkdtempSync(path.join(tmpdir(), 'sluice-archive-')), 'out', 'app.log')) {
  const drops: Record<string, number> = {};
  const st = new ArchiveStage(archiveSchema.parse({ stream: 'app', path: file, min_free: 0, ...extra }), { drop: (s, r, n) => (drops[`${s}/${r}`] = (drops[`${s}/${r}`] ?? 0) + n) });
  open.push(st);
  return { st, file, dir: path.dirname(file), drops };
}

function encodedRecords(lines: string[], first: number): LogRecord[] {
  const res = runJob({ id: 1, items: [Buffer.from(lines.join('\n') + '\n')], maxLineBytes: 1 << 20, format: 'auto', now: 1_700_000_000_000, source: 's', stream: 'app', origin: '{"kind":"t"}', seqDigits: 0 }, null);
  const b: EncodedBatch = { kind: 'encoded', buf: Buffer.from(res.buf.buffer, res.buf.byteOffset, res.buf.length), ends: res.ends, msg: res.msg, times: res.times, levels: res.levels, digits: 0, received: 1_700_000_000_000, source: 's', stream: 'app', origin: { kind: 't' } };
  return recordsOf(b, first);
}

describe('ArchiveStage edges', () => {
  it('ndjson: records of an encoded batch are their wire bytes, the same as serializing them', () => {
    const a = stage({});
    const rs = encodedRecords(['{"level":"error","msg":"zero ü","k":1}', 'plain ✓'], 41);
    a.st.push(rs);
    expect(readFileSync(a.file, 'utf8')).toBe(rs.map((r) => serializeRecord(r) + '\n').join(''));
    expect(readFileSync(a.file, 'utf8').split('\n')[0]).toMatch(/^\{"seq":41,/);
    expect(a.st.counters).toMatchObject({ records: 2, bytes: readFileSync(a.file).length });
  });

  it('max_files = 1: rotation deletes the file and starts a new one', () => {
    const a = stage({ format: 'raw', max_size: 20, max_files: 1 });
    a.st.push(recs(2)); // 2 lines of 7 to 8 bytes: the next two do not fit
    const next = recs(2);
    a.st.push(next);
    expect(readdirSync(a.dir)).toEqual(['app.log']);
    expect(readFileSync(a.file, 'utf8')).toBe(next.map((r) => r.message + '\n').join(''));
    expect(a.st.counters.rotations).toBe(1);
  });

  it('a first write larger than max_size goes into the empty file; the next write rotates', () => {
    const a = stage({ format: 'raw', max_size: 10, max_files: 3 });
    a.st.push(recs(3));
    expect(a.st.counters.rotations).toBe(0);
    expect(readdirSync(a.dir)).toEqual(['app.log']);
    a.st.push(recs(1));
    expect(a.st.counters.rotations).toBe(1);
    expect(readdirSync(a.dir).sort()).toEqual(['app.log', 'app.log.1']);
  });

  it('a write that just fits under max_size does not rotate', () => {
    const a = stage({ format: 'raw', max_size: 20 });
    a.st.push([{ ...recs(1)[0]!, message: 'x'.repeat(9) }]); // 10 bytes
    a.st.push([{ ...recs(1)[0]!, message: 'y'.repeat(9) }]); // 20: at the limit
    expect(a.st.counters.rotations).toBe(0);
    a.st.push([{ ...recs(1)[0]!, message: '' }]); // 21
    expect(a.st.counters.rotations).toBe(1);
  });

  it('a file truncated from outside (copytruncate): its size is read again, so the next writes do not rotate early', async () => {
    const a = stage({ format: 'raw', max_size: 100, check_interval: '20ms' });
    a.st.push([{ ...recs(1)[0]!, message: 'x'.repeat(69) }]);
    expect(a.st.status()).toMatchObject({ size: 70 });
    truncateSync(a.file, 0);
    await waitFor(() => a.st.status().size === 0, 'the truncation seen');
    a.st.push([{ ...recs(1)[0]!, message: 'y'.repeat(69) }]);
    expect(a.st.counters.rotations).toBe(0);
    expect(a.st.counters.reopened).toBe(0);
  });

  it('an empty push, or one with none of its stream, writes nothing and counts nothing', () => {
    const a = stage({});
    expect(a.st.push([])).toBe(true);
    expect(a.st.push(recs(2, 'other'))).toBe(true);
    expect(readFileSync(a.file, 'utf8')).toBe('');
    expect(a.st.counters).toMatchObject({ records: 0, bytes: 0 });
  });

  it('a write error (disk full) is counted, dropped with reason write_error, and puts the sink in error with the errno', () => {
    const a = stage({ format: 'raw' }, '/dev/full');
    expect(a.st.health.state).toBe('running');
    expect(a.st.push(recs(3))).toBe(true);
    expect(a.st.counters).toMatchObject({ write_errors: 1, records: 0, bytes: 0 });
    expect(a.drops['archive/write_error']).toBe(3);
    expect(a.st.health.state).toBe('error');
    expect(a.st.health.lastError).toMatchObject({ code: 'ENOSPC' });
    expect(a.st.health.lastError!.message).toMatch(/^cannot write \/dev\/full: /);
  });

  it('creates the directories of its path; its health names it as an archive sink', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'sluice-archive-')), 'a', 'b', 'c', 'app.log');
    const a = stage({}, file);
    expect(existsSync(file)).toBe(true);
    expect([a.st.health.kind, a.st.health.name, a.st.health.type]).toEqual(['sink', 'app', 'archive']);
  });

  it('a file removed from outside is reopened at the path and counted once', async () => {
    const a = stage({ format: 'raw', check_interval: '20ms' });
    unlinkSync(a.file);
    await waitFor(() => a.st.counters.reopened === 1, 'the reopen');
    a.st.push(recs(1));
    expect(existsSync(a.file)).toBe(true);
    expect(a.st.counters.reopened).toBe(1);
  });

  it('status shows its settings, size, floor and counters with its health; close stops it', () => {
    const a = stage({ format: 'raw' });
    a.st.push(recs(2));
    const size = readFileSync(a.file).length;
    expect(a.st.name).toBe('archive:app');
    expect(a.st.status()).toMatchObject({ stream: 'app', path: a.file, format: 'raw', size, below_floor: false, counters: { records: 2, bytes: size, rotations: 0, reopened: 0, dropped_disk_floor: 0, write_errors: 0 }, state: 'running', last_error: null });
    a.st.close();
    expect(a.st.health.state).toBe('stopped');
  });

  it('onDrain calls back on its own (never full), not inside the call', async () => {
    const a = stage({});
    let called = 0;
    a.st.onDrain(() => called++);
    expect(called).toBe(0);
    await Promise.resolve();
    expect(called).toBe(1);
  });

  it('below min_free it is degraded with the reason; records of its stream are counted as dropped, others not at all', () => {
    const a = stage({ min_free: '1000000000GiB' });
    expect(a.st.push(recs(2, 'other'))).toBe(true);
    expect(a.drops['archive/disk_floor']).toBeUndefined();
    expect(a.st.push(recs(3))).toBe(true);
    expect(a.drops['archive/disk_floor']).toBe(3);
    expect(a.st.counters.dropped_disk_floor).toBe(3);
    expect(a.st.health.state).toBe('degraded');
    expect(a.st.health.lastError).toMatchObject({ code: 'disk_floor' });
    expect(a.st.health.lastError!.message).toMatch(/is below min_free/);
  });
});

describe('Archives', () => {
  it('one stage per config, attached to the pipeline, observed; status and healths per stage; close closes them', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-archives-'));
    const added: DurableStage[] = [];
    const pipeline = { addStage: (s: DurableStage) => added.push(s) } as unknown as PipelineRuntime;
    const seen: string[] = [];
    const cfgs = ['a', 'b'].map((s) => archiveSchema.parse({ stream: s, path: path.join(dir, `${s}.log`), min_free: 0 }));
    const archives = new Archives(cfgs, pipeline, { drop: () => undefined, observe: (who, e) => seen.push(`${who.name} ${e.type}`) });
    open.push(archives);
    expect(added.map((s) => s.name)).toEqual(['archive:a', 'archive:b']);
    expect(archives.status().map((s) => s.stream)).toEqual(['a', 'b']);
    expect(archives.healths().map((h) => h.state)).toEqual(['running', 'running']);
    archives.close();
    expect(archives.healths().map((h) => h.state)).toEqual(['stopped', 'stopped']);
    expect(seen).toEqual(['a state', 'b state']);
    expect(existsSync(path.join(dir, 'a.log'))).toBe(true);
  });
});
