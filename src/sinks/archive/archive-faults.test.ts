/**
 * The archive sink under injected faults (node:fs wrapped): a write that
 * fails once puts it in error and the next good write brings it back; a
 * reopen that fails says so; free space crossing min_free in both
 * directions (statfs answering what the test sets), the floor itself
 * included.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LogRecord } from '../../core/record.js';

const fault = vi.hoisted(() => ({ writes: 0, opens: 0, free: undefined as number | undefined }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    writeSync: (...a: Parameters<typeof fs.writeSync>) => {
      if (fault.writes > 0) {
        fault.writes--;
        throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      }
      return (fs.writeSync as (...x: unknown[]) => number)(...a);
    },
    openSync: (...a: Parameters<typeof fs.openSync>) => {
      if (fault.opens > 0) {
        fault.opens--;
        throw Object.assign(new Error('EACCES: permission denied, open'), { code: 'EACCES' });
      }
      return fs.openSync(...a);
    },
    statfsSync: (...a: Parameters<typeof fs.statfsSync>) => {
      const st = fs.statfsSync(...a);
      return fault.free === undefined ? st : Object.assign(Object.create(Object.getPrototypeOf(st) as object) as object, st, { bavail: fault.free, bsize: 1 });
    },
  };
});

const { archiveSchema, ArchiveStage } = await import('./archive.js');

const open: { close(): void }[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  Object.assign(fault, { writes: 0, opens: 0, free: undefined });
  vi.useRealTimers();
});

let seq = 0;
const recs = (n: number): LogRecord[] => Array.from({ length: n }, () => ({ seq: ++seq, time: 1_700_000_000_000, received: 1_700_000_000_000, source: 's', stream: 'app', origin: { kind: 'test' }, message: `line ${seq}`, fields: {} }));

function stage(extra: Record<string, unknown> = {}) {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'sluice-archive-f-')), 'app.log');
  const drops: Record<string, number> = {};
  const st = new ArchiveStage(archiveSchema.parse({ stream: 'app', path: file, format: 'raw', min_free: 1000, check_interval: '1s', ...extra }), { drop: (s, r, n) => (drops[`${s}/${r}`] = (drops[`${s}/${r}`] ?? 0) + n) });
  open.push(st);
  return { st, file, drops };
}

describe('ArchiveStage faults', () => {
  it('a failed write: error with the errno, records counted as dropped; the next write that works recovers it', () => {
    const a = stage();
    fault.writes = 1;
    a.st.push(recs(2));
    expect(a.st.health.state).toBe('error');
    expect(a.st.health.lastError).toMatchObject({ code: 'EIO' });
    expect(a.drops['archive/write_error']).toBe(2);
    const rs = recs(1);
    a.st.push(rs);
    expect(a.st.health.state).toBe('running');
    expect(readFileSync(a.file, 'utf8')).toBe(rs[0]!.message + '\n');
    // a good write while running changes nothing
    a.st.push(recs(1));
    expect(a.st.health.state).toBe('running');
  });

  it('a failed reopen after a failed write says it cannot open the path', () => {
    const a = stage();
    fault.writes = 1;
    fault.opens = 1;
    a.st.push(recs(1));
    expect(a.st.health.state).toBe('error');
    expect(a.st.health.lastError).toMatchObject({ code: 'EACCES' });
    expect(a.st.health.lastError!.message).toBe(`cannot open ${a.file}: EACCES: permission denied, open`);
  });

  it('free space: below min_free degraded and paused, back at min_free running and writing again', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    fault.free = 999;
    const a = stage();
    expect(a.st.health.state).toBe('degraded');
    expect(a.st.status().below_floor).toBe(true);
    expect(a.st.health.lastError!.message).toBe('free space 999 bytes is below min_free (1000): writing pauses, records are counted as dropped');
    a.st.push(recs(1));
    expect(readFileSync(a.file, 'utf8')).toBe('');
    fault.free = 1000; // exactly the floor is enough
    vi.advanceTimersByTime(1000);
    expect(a.st.health.state).toBe('running');
    expect(a.st.status().below_floor).toBe(false);
    const rs = recs(1);
    a.st.push(rs);
    expect(readFileSync(a.file, 'utf8')).toBe(rs[0]!.message + '\n');
    // staying above it changes nothing; dropping below again degrades again
    vi.advanceTimersByTime(1000);
    expect(a.st.health.state).toBe('running');
    fault.free = 10;
    vi.advanceTimersByTime(1000);
    expect(a.st.health.state).toBe('degraded');
  });
});
