/** The archive sink: NDJSON and raw lines, rotation limits, a file removed by hand recreated, the free-space floor. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../core/record.js';
import { archiveSchema, ArchiveStage } from './archive.js';

const open: ArchiveStage[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

let seq = 0;
const recs = (n: number, stream = 'app'): LogRecord[] => Array.from({ length: n }, () => ({ seq: ++seq, time: 1_700_000_000_000, received: 1_700_000_000_000, source: 's', stream, origin: { kind: 'test' }, message: `line ${seq} ✓`, fields: {} }));

function stage(extra: Record<string, unknown>) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-archive-'));
  const file = path.join(dir, 'out', 'app.log');
  const drops: Record<string, number> = {};
  const st = new ArchiveStage(archiveSchema.parse({ stream: 'app', path: file, ...extra }), { drop: (s, r, n) => (drops[`${s}/${r}`] = (drops[`${s}/${r}`] ?? 0) + n) });
  open.push(st);
  return { st, file, dir: path.dirname(file), drops };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('ArchiveStage', () => {
  it('ndjson: the wire records of its stream only; raw: the messages as lines', () => {
    const a = stage({});
    const rs = recs(3);
    a.st.push([...rs, ...recs(2, 'other')]);
    expect(readFileSync(a.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; message: string })).toEqual(rs.map((r) => expect.objectContaining({ seq: r.seq, message: r.message })));
    const b = stage({ format: 'raw' });
    b.st.push(rs);
    expect(readFileSync(b.file, 'utf8')).toBe(rs.map((r) => r.message + '\n').join(''));
  });

  it('rotates by size and keeps max_files files: nothing but the oldest is lost', () => {
    const a = stage({ format: 'raw', max_size: 1000, max_files: 3 });
    const all: string[] = [];
    for (let i = 0; i < 40; i++) {
      const rs = recs(5);
      all.push(...rs.map((r) => r.message));
      a.st.push(rs);
    }
    const files = readdirSync(a.dir).sort();
    expect(files).toEqual(['app.log', 'app.log.1', 'app.log.2']);
    for (const f of files) expect(readFileSync(path.join(a.dir, f)).length).toBeLessThanOrEqual(1000);
    // the kept files are the newest lines, in order, with no hole
    const kept = ['app.log.2', 'app.log.1', 'app.log'].flatMap((f) => readFileSync(path.join(a.dir, f), 'utf8').trim().split('\n'));
    expect(kept).toEqual(all.slice(all.length - kept.length));
    expect(a.st.counters.rotations).toBeGreaterThanOrEqual(2);
  });

  it('a file removed or moved away by hand is recreated at the path', async () => {
    const a = stage({ format: 'raw', check_interval: '20ms' });
    a.st.push(recs(1));
    unlinkSync(a.file);
    await until(() => a.st.counters.reopened === 1);
    const rs = recs(2);
    a.st.push(rs);
    expect(readFileSync(a.file, 'utf8')).toBe(rs.map((r) => r.message + '\n').join(''));
    renameSync(a.file, a.file + '.moved');
    await until(() => a.st.counters.reopened === 2);
    a.st.push(recs(1));
    expect(existsSync(a.file)).toBe(true);
    expect(readFileSync(a.file + '.moved', 'utf8')).toBe(rs.map((r) => r.message + '\n').join(''));
  });

  it('below min_free writing pauses: the records are counted, not written', () => {
    const a = stage({ min_free: '1000000000GiB' }); // more than any disk has
    a.st.push(recs(4));
    expect(readFileSync(a.file, 'utf8')).toBe('');
    expect(a.drops['archive/disk_floor']).toBe(4);
    expect(a.st.status()).toMatchObject({ below_floor: true });
  });
});
