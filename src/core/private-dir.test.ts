import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMainThread } from 'node:worker_threads';
import { mkdirPrivate, tightenPrivateDir, usePrivateUmask } from './private-dir.js';
import { SeqState } from './seq-state.js';
import { SlotFile } from './slot-file.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-private-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => fs.mkdtempSync(path.join(root, `t${n++}-`));
const mode = (p: string) => fs.lstatSync(p).mode & 0o7777;

/** Files made with explicit modes must be private even when the process umask is not (tests run with 022). */
let umask: number;
// A worker thread (StrykerJS runs tests in one) may read the umask but not set it: there the
// tests run under the process's own (022 from a shell), and the one that sets it is skipped.
beforeEach(() => {
  umask = isMainThread ? process.umask(0o022) : process.umask();
});
afterEach(() => {
  if (isMainThread) process.umask(umask);
});

describe('tightenPrivateDir', () => {
  it('removes group/other bits from data_dir and everything under it, warning once per path', () => {
    const base = fresh();
    const data = path.join(base, 'data');
    fs.mkdirSync(path.join(data, 'checkpoints', 'deeper'), { recursive: true });
    fs.chmodSync(data, 0o755);
    fs.chmodSync(path.join(data, 'checkpoints'), 0o775);
    fs.chmodSync(path.join(data, 'checkpoints', 'deeper'), 0o700);
    fs.writeFileSync(path.join(data, 'sluice.db'), 'x');
    fs.chmodSync(path.join(data, 'sluice.db'), 0o644);
    fs.writeFileSync(path.join(data, 'checkpoints', 'file-a.json'), '{}');
    fs.chmodSync(path.join(data, 'checkpoints', 'file-a.json'), 0o640);
    fs.writeFileSync(path.join(data, 'checkpoints', 'deeper', 'ok'), '');
    fs.chmodSync(path.join(data, 'checkpoints', 'deeper', 'ok'), 0o600);
    fs.writeFileSync(path.join(data, 'run.sh'), '');
    fs.chmodSync(path.join(data, 'run.sh'), 0o755);

    const logs: string[] = [];
    const changed = tightenPrivateDir(data, (m) => logs.push(m), 'data');

    expect(mode(data)).toBe(0o700);
    expect(mode(path.join(data, 'checkpoints'))).toBe(0o700);
    expect(mode(path.join(data, 'sluice.db'))).toBe(0o600);
    expect(mode(path.join(data, 'checkpoints', 'file-a.json'))).toBe(0o600);
    expect(mode(path.join(data, 'run.sh'))).toBe(0o700); // owner bits are kept, only group/other go
    expect(logs.sort()).toEqual(
      [
        'data was mode 0755; set to 0700',
        'data/checkpoints was mode 0775; set to 0700',
        'data/checkpoints/file-a.json was mode 0640; set to 0600',
        'data/run.sh was mode 0755; set to 0700',
        'data/sluice.db was mode 0644; set to 0600',
      ].sort(),
    );
    expect(changed).toHaveLength(5);
    // a second start finds nothing to do and says nothing
    const again: string[] = [];
    expect(tightenPrivateDir(data, (m) => again.push(m), 'data')).toEqual([]);
    expect(again).toEqual([]);
  });

  it('never follows a symbolic link out of data_dir', () => {
    const base = fresh();
    const data = path.join(base, 'data');
    const outside = path.join(base, 'outside');
    fs.mkdirSync(data, { mode: 0o700 });
    fs.mkdirSync(outside);
    fs.chmodSync(outside, 0o755);
    fs.writeFileSync(path.join(outside, 'shared.log'), '');
    fs.chmodSync(path.join(outside, 'shared.log'), 0o644);
    fs.symlinkSync(outside, path.join(data, 'dirlink'));
    fs.symlinkSync(path.join(outside, 'shared.log'), path.join(data, 'filelink'));

    const logs: string[] = [];
    expect(tightenPrivateDir(data, (m) => logs.push(m), 'data')).toEqual([]);
    expect(logs).toEqual([]);
    expect(mode(outside)).toBe(0o755);
    expect(mode(path.join(outside, 'shared.log'))).toBe(0o644);
  });

  it('stops after maxEntries and below maxDepth, and says so', () => {
    const base = fresh();
    const data = path.join(base, 'data');
    fs.mkdirSync(path.join(data, 'a', 'b', 'c'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(data, 'a', 'b', 'c', 'deep'), '', { mode: 0o644 });
    fs.chmodSync(path.join(data, 'a', 'b', 'c', 'deep'), 0o644);
    const deep: string[] = [];
    tightenPrivateDir(data, (m) => deep.push(m), 'data', { maxDepth: 2, maxEntries: 100 });
    expect(mode(path.join(data, 'a', 'b', 'c', 'deep'))).toBe(0o644);
    expect(deep).toEqual(['data is nested deeper than 2 levels; deeper entries were not checked for private modes']);

    const wide = path.join(base, 'wide');
    fs.mkdirSync(wide, { mode: 0o700 });
    for (let i = 0; i < 10; i++) {
      fs.writeFileSync(path.join(wide, `f${i}`), '');
      fs.chmodSync(path.join(wide, `f${i}`), 0o644);
    }
    const logs: string[] = [];
    const changed = tightenPrivateDir(wide, (m) => logs.push(m), 'wide', { maxDepth: 8, maxEntries: 4 });
    expect(changed).toHaveLength(4);
    expect(logs.at(-1)).toBe('wide has more than 4 entries; only the first 4 were checked for private modes');
  });
});

describe('private modes at creation', () => {
  if (!isMainThread) console.log('skipped: process.umask() cannot be set from a worker thread; this run is in one');
  it.skipIf(!isMainThread)('usePrivateUmask makes what the process creates afterwards 0600/0700', () => {
    const base = fresh();
    expect(usePrivateUmask()).toBe(0o022);
    fs.writeFileSync(path.join(base, 'lib-file'), '');
    fs.mkdirSync(path.join(base, 'lib-dir'));
    expect(mode(path.join(base, 'lib-file'))).toBe(0o600);
    expect(mode(path.join(base, 'lib-dir'))).toBe(0o700);
  });

  it('mkdirPrivate, SeqState and SlotFile create 0700 directories and 0600 files under umask 022', () => {
    const base = fresh();
    const data = path.join(base, 'data');
    mkdirPrivate(data);
    expect(mode(data)).toBe(0o700);

    const other = path.join(base, 'other');
    const seq = new SeqState(other);
    seq.ensure(seq.load());
    seq.close(7);
    expect(mode(other)).toBe(0o700);
    expect(mode(path.join(other, 'hub-seq.json'))).toBe(0o600);

    const slots = new SlotFile(path.join(data, 'checkpoints', 'file-a.json'));
    slots.save({ a: 1 });
    slots.save({ a: 2 });
    slots.close();
    expect(mode(path.join(data, 'checkpoints'))).toBe(0o700);
    expect(mode(path.join(data, 'checkpoints', 'file-a.json'))).toBe(0o600);
    expect(mode(path.join(data, 'checkpoints', 'file-a.json.b'))).toBe(0o600);
  });
});
