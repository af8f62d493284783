/**
 * The checkpoint store's edges that mutation testing found untested (`npm
 * run mutate`): an entry or last batch is trusted only when it is a plain
 * object (parseCheckpoint also takes an object, not only JSON text), and
 * close() lets go of both slot files.
 */
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointStore, parseCheckpoint } from './checkpoint.js';

const entry = { key: '1:2:10-0123456789abcdef', path: '/x.log', offset: 10 };
const last = { key: '1:2:10-0123456789abcdef', path: '/x.log', from: 0, to: 10, seqFirst: 1, seqLast: 2 };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Descriptors this process has open on `path` (Linux: /proc/self/fd). */
function openFds(path: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++;
    } catch {
      // closed while listing
    }
  }
  return n;
}

describe('parseCheckpoint, shapes', () => {
  it('an entry that is undefined or not a plain object is refused as bad "files", not a TypeError', () => {
    expect(() => parseCheckpoint({ version: 1, files: [undefined], last: null })).toThrow('bad "files"');
    expect(() => parseCheckpoint({ version: 1, files: [Object.assign(() => undefined, entry)], last: null })).toThrow('bad "files"');
    expect(parseCheckpoint({ version: 1, files: [{ ...entry }], last: null }).files).toEqual([entry]);
  });

  it('a last batch that is not a plain object is refused, even with every field', () => {
    expect(() => parseCheckpoint({ version: 1, files: [], last: Object.assign(() => undefined, last) })).toThrow('bad "last"');
    expect(parseCheckpoint({ version: 1, files: [], last: { ...last } }).last).toEqual(last);
  });
});

describe('CheckpointStore.close', () => {
  it('closes both slot files; a save after it opens them again', () => {
    const data = mkdtempSync(join(tmpdir(), 'sluice-cp-close-'));
    dirs.push(data);
    const s = new CheckpointStore(data, 'app');
    const doc = { version: 1 as const, files: [entry], last };
    s.save(doc);
    s.save(doc);
    expect(openFds(s.path) + openFds(s.path + '.b')).toBe(2);
    s.close();
    expect(openFds(s.path) + openFds(s.path + '.b')).toBe(0);
    s.save({ ...doc, files: [{ ...entry, offset: 99 }] });
    expect(openFds(s.path) + openFds(s.path + '.b')).toBe(1);
    s.close();
    const r = new CheckpointStore(data, 'app').load();
    expect(r.kind === 'ok' && r.doc.files[0]!.offset).toBe(99);
  });
});
