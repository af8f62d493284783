/**
 * The archive sink's descriptors and health over time (mutation testing):
 * a file removed from outside is reopened and its old descriptor closed,
 * close() closes the file, and the periodic check does not clear an error
 * that only a working write may clear.
 */
import { mkdtempSync, readdirSync, readlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LogRecord } from '../../core/record.js';
import { archiveSchema, ArchiveStage } from './archive.js';

const open: { close(): void }[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  vi.useRealTimers();
});

let seq = 0;
const recs = (n: number): LogRecord[] => Array.from({ length: n }, () => ({ seq: ++seq, time: 1_700_000_000_000, received: 1_700_000_000_000, source: 's', stream: 'app', origin: { kind: 'test' }, message: `line ${seq}`, fields: {} }));

function stage(extra: Record<string, unknown>, file = path.join(mkdtempSync(path.join(tmpdir(), 'sluice-archm-')), 'app.log')) {
  const drops: Record<string, number> = {};
  const st = new ArchiveStage(archiveSchema.parse({ stream: 'app', path: file, min_free: 0, check_interval: '1s', ...extra }), { drop: (s, r, n) => (drops[`${s}/${r}`] = (drops[`${s}/${r}`] ?? 0) + n) });
  open.push(st);
  return { st, file, drops };
}

/** This process's descriptors open on `file` (deleted or not). */
function fdsOn(file: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const t = readlinkSync(`/proc/self/fd/${fd}`);
      if (t === file || t === `${file} (deleted)`) n++;
    } catch {
      /* closed meanwhile */
    }
  }
  return n;
}

if (process.platform !== 'linux') console.warn('!!! SKIPPED archive.mutants.test.ts "ArchiveStage descriptors": it reads /proc/self/fd, which only Linux has');
describe.skipIf(process.platform !== 'linux')('ArchiveStage descriptors', () => {
  it('a file removed from outside: reopened at the path, the old descriptor closed; close() closes the file', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const a = stage({ format: 'raw' });
    a.st.push(recs(1));
    expect(fdsOn(a.file)).toBe(1);
    unlinkSync(a.file);
    vi.advanceTimersByTime(1000);
    expect(a.st.counters.reopened).toBe(1);
    expect(fdsOn(a.file)).toBe(1);
    a.st.close();
    expect(fdsOn(a.file)).toBe(0);
  });
});

describe('ArchiveStage health over time', () => {
  it('after a failed write the periodic check leaves it in error (only a write that works recovers it)', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const a = stage({ format: 'raw' }, '/dev/full');
    a.st.push(recs(1));
    expect(a.st.health.state).toBe('error');
    vi.advanceTimersByTime(3000);
    expect(a.st.health.state).toBe('error');
    expect(a.st.health.lastError).toMatchObject({ code: 'ENOSPC' });
  });
});
