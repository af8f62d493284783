/**
 * When the spool's bytes are made durable: fsync = "batch" syncs each
 * append before it returns, "interval" syncs the segments written since the
 * last tick (once each) on a timer, "off" leaves it to the OS; close syncs
 * what is still dirty. node:fs is wrapped to count the syncs; the interval
 * runs on a fake clock.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const calls = vi.hoisted(() => ({ sync: 0, async: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    fsyncSync: (fd: number) => {
      calls.sync++;
      fs.fsyncSync(fd);
    },
    fsync: (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
      calls.async++;
      fs.fsync(fd, cb);
    },
  };
});

const { Spool } = await import('./spool.js');

const dir = () => mkdtempSync(path.join(tmpdir(), 'sluice-spool-fsync-'));
const payload = Buffer.from('{"seq":1}\n');

beforeEach(() => {
  calls.sync = 0;
  calls.async = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

describe('spool fsync', () => {
  it('"batch": every append is synced before it returns; close has nothing left to sync', () => {
    const s = new Spool(dir(), { fsync: 'batch', fsyncIntervalMs: 1000 });
    s.open();
    s.append(payload, 1, false);
    expect(calls.sync).toBe(1);
    s.append(payload, 1, false);
    expect(calls.sync).toBe(2);
    s.close();
    expect(calls.sync).toBe(2);
    expect(calls.async).toBe(0);
  });

  it('"off": no sync per append; close syncs the segment written', () => {
    const s = new Spool(dir(), { fsync: 'off', fsyncIntervalMs: 1000 });
    s.open();
    s.append(payload, 1, false);
    s.append(payload, 1, false);
    expect(calls.sync).toBe(0);
    s.close();
    expect(calls.sync).toBe(1);
  });

  it('"interval": each tick syncs the segments written since the last one, once; close stops the timer and syncs what is left', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const s = new Spool(dir(), { fsync: 'interval', fsyncIntervalMs: 500, segmentBytes: 1 });
    s.open();
    expect(vi.getTimerCount()).toBe(1);
    s.append(payload, 1, false);
    s.append(payload, 1, false); // a second segment (segmentBytes 1)
    expect(calls.sync + calls.async).toBe(0);
    vi.advanceTimersByTime(499);
    expect(calls.async).toBe(0);
    vi.advanceTimersByTime(1);
    expect(calls.async).toBe(2);
    vi.advanceTimersByTime(500); // nothing written since
    expect(calls.async).toBe(2);
    s.append(payload, 1, false);
    vi.advanceTimersByTime(500);
    expect(calls.async).toBe(3);
    s.append(payload, 1, false);
    s.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(calls.sync).toBe(1); // the one written after the last tick
  });

  it('only "interval" runs a timer: "off" and "batch" never sync from one', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    for (const fsync of ['off', 'batch'] as const) {
      const s = new Spool(dir(), { fsync, fsyncIntervalMs: 500 });
      s.open();
      expect(vi.getTimerCount()).toBe(0);
      s.append(payload, 1, false);
      vi.advanceTimersByTime(5000);
      expect(calls.async).toBe(0);
      s.close();
    }
  });

  it('a reopened spool\'s segments are not dirty: closing syncs nothing', () => {
    const d = dir();
    const s = new Spool(d, { fsync: 'batch', fsyncIntervalMs: 1000 });
    s.open();
    s.append(payload, 1, false);
    s.close();
    calls.sync = 0;
    const again = new Spool(d, { fsync: 'off', fsyncIntervalMs: 1000 });
    expect(again.open().batches).toBe(1);
    again.close();
    expect(calls.sync).toBe(0);
  });
});
