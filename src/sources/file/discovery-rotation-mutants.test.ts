/**
 * FileSet (discovery.ts) on its own, with a scripted watcher and real files
 * (test/helpers/file-set.ts; found by mutation testing, `npm run mutate`):
 * renames within the globs, an incomplete or partly failed listing proving
 * nothing gone, coalesced scans, and the files rotated while Sluice was down.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fingerprintOf, type FileTailer } from './tailer.js';
import { fileSet, found, idOf, notes, runCleanup, tempDir, type Listing } from '../../../test/helpers/file-set.js';

afterEach(runCleanup);

describe('FileSet rotation', () => {
  /** A FileSet that opened `name` in its first scan; `next` sets what the following scans list. */
  async function opened(d: string, name = 'a.log') {
    const p = join(d, name);
    writeFileSync(p, 'x\n');
    const listings: Listing[] = [{ files: [found(p)] }];
    const h = fileSet(listings);
    await h.set.scan();
    const t = h.registered[0]!;
    h.pumped.length = 0;
    h.events.length = 0;
    return { p, t, next: (l: Listing) => listings.push(l), ...h };
  }

  it('a file renamed within the globs keeps its tailer under the new path: a rotation, noted; a gone one is back', async () => {
    const d = tempDir();
    const h = await opened(d);
    const q = join(d, 'b.log');
    renameSync(h.p, q);
    h.t.gone = true;
    h.t.goneCounted = true;
    h.next({ files: [found(q)] });
    await h.set.scan();
    expect(h.t.path).toBe(q);
    expect(h.set.byPath.get(q)).toBe(h.t);
    expect(h.set.byPath.has(h.p)).toBe(false);
    expect(h.counters.rotations).toBe(1);
    expect(notes(h.events, 'file_renamed')).toEqual([
      { type: 'note', event: 'file_renamed', msg: `${h.p} renamed to ${q}: reading on`, fields: { path: q, was: h.p } },
    ]);
    expect({ gone: h.t.gone, goneCounted: h.t.goneCounted }).toEqual({ gone: false, goneCounted: false });
    expect(h.registered).toHaveLength(1);
  });

  it('renamed while a new file took its old path: the new file keeps the old path', async () => {
    const d = tempDir();
    const h = await opened(d);
    const q = join(d, 'b.log');
    renameSync(h.p, q);
    writeFileSync(h.p, 'new\n');
    h.next({ files: [found(h.p), found(q)] }); // the new a.log first: the old tailer is marked gone, then found renamed
    await h.set.scan();
    const fresh = h.registered[1]!;
    expect(fresh.realPath).toBe(h.p);
    expect(h.set.byPath.get(h.p)).toBe(fresh);
    expect(h.set.byPath.get(q)).toBe(h.t);
    expect(h.t.gone).toBe(false);
  });

  it('the same link with its target renamed: the real path follows, no rotation', async () => {
    const d = tempDir();
    const h = await opened(d);
    const q = join(d, 'real.log');
    renameSync(h.p, q);
    h.next({ files: [{ ...found(q), path: h.p, viaLink: true }] });
    await h.set.scan();
    expect({ path: h.t.path, real: h.t.realPath, link: h.t.link }).toEqual({ path: h.p, real: q, link: h.p });
    expect(h.counters.rotations).toBe(0);
    expect(h.set.byPath.get(h.p)).toBe(h.t);
  });

  it('a path that names another file now: the old one is gone (noted, pumped, off byPath), the new one opened', async () => {
    const d = tempDir();
    const h = await opened(d);
    renameSync(h.p, join(d, 'a.log.1'));
    writeFileSync(h.p, 'new\n');
    h.next({ files: [found(h.p)] });
    await h.set.scan();
    expect(h.t.gone).toBe(true);
    expect(h.registered).toHaveLength(2);
    expect(h.set.byPath.get(h.p)).toBe(h.registered[1]);
    expect(h.pumped).toEqual([h.t, h.registered[1]]);
    expect(notes(h.events, 'file_rotated')).toEqual([
      { type: 'note', event: 'file_rotated', msg: `${h.p} was rotated or deleted: reading the old file to its end`, fields: { path: h.p } },
    ]);
    h.set.markGone(h.t); // once only
    expect(notes(h.events, 'file_rotated')).toHaveLength(1);
    expect(h.pumped).toHaveLength(2);
  });

  it('a file no longer listed is gone, unless the listing was cut short or failed on a directory above it', async () => {
    const d = tempDir();
    const h = await opened(d);
    h.next({ truncated: true });
    await h.set.scan();
    expect(h.t.gone).toBe(false);
    h.next({ errors: [{ path: d, code: 'EACCES' }] });
    await h.set.scan();
    expect(h.t.gone).toBe(false);
    h.next({ errors: [{ path: d + '/', code: 'EACCES' }] });
    await h.set.scan();
    expect(h.t.gone).toBe(false);
    h.next({ errors: [{ path: h.p, code: 'EACCES' }] });
    await h.set.scan();
    expect(h.t.gone).toBe(false);
    h.next({ errors: [{ path: d + 'x', code: 'EACCES' }, { path: join(d, 'a'), code: 'EIO' }] }); // not above it
    await h.set.scan();
    expect(h.t.gone).toBe(true);
    expect(h.set.byPath.has(h.p)).toBe(false);
  });

  it('clear forgets every tailer', async () => {
    const h = await opened(tempDir());
    h.set.clear();
    expect({ tailers: h.set.tailers.size, id: h.set.byId.size, path: h.set.byPath.size }).toEqual({ tailers: 0, id: 0, path: 0 });
  });

  it('remove forgets a tailer only under the names it still holds', async () => {
    const d = tempDir();
    const h = await opened(d);
    const other = { id: h.t.id, path: h.p } as FileTailer;
    h.set.byPath.set(h.p, other);
    h.set.byId.set(h.t.id, other);
    h.set.remove(h.t);
    expect(h.set.tailers.has(h.t)).toBe(false);
    expect(h.set.byId.get(h.t.id)).toBe(other);
    expect(h.set.byPath.get(h.p)).toBe(other);
    h.set.byId.set(h.t.id, h.t);
    h.set.byPath.set(h.p, h.t);
    h.set.remove(h.t);
    expect({ id: h.set.byId.size, path: h.set.byPath.size }).toEqual({ id: 0, path: 0 });
  });
});

describe('FileSet scans', () => {
  it('a scan asked during one shares it and runs once more after it; a failing scan counts a read error', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { set, scans, counters } = fileSet([async () => (await gate, {}), {}]);
    const a = set.scan();
    expect(set.scanning).toBe(a);
    const b = set.scan();
    expect(b).toBe(a);
    release();
    await a;
    expect(scans()).toBe(2);
    expect(set.scanning).toBe(null);
    const bad = fileSet([async () => { throw new Error('boom'); }]);
    await bad.set.scan();
    expect(bad.counters.read_errors).toBe(1);
    expect(counters.read_errors).toBe(0);
  });

  it('a scan asked during one is not run once stopping', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const h = fileSet([async () => (await gate, {}), {}]);
    const a = h.set.scan();
    void h.set.scan();
    h.stop();
    release();
    await a;
    expect(h.scans()).toBe(1);
  });

  it('from = "end" applies to the first pass of the first scan only, not to its rescan', async () => {
    const d = tempDir();
    const [a, b] = [join(d, 'a.log'), join(d, 'b.log')];
    writeFileSync(a, 'old\n');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const h = fileSet([async () => (await gate, { files: [found(a)] }), async () => (writeFileSync(b, 'new\n'), { files: [found(a), found(b)] })], { from: 'end' }, { firstStart: true });
    h.registered.length = 0;
    const first = h.set.scan(true);
    void h.set.scan(true);
    release();
    await first;
    expect(h.scans()).toBe(2);
    expect(h.registered.map((t) => [t.realPath, t.readPos])).toEqual([[a, 4], [b, 0]]);
  });

  it('nothing is noted once stopping', async () => {
    const h = fileSet([{ errors: [{ path: '/x/a.log', code: 'EIO' }] }]);
    h.stop();
    await h.set.scan();
    expect(h.counters.read_errors).toBe(0);
  });
});

describe('FileSet.recoverRotated', () => {
  it('finds a saved file beside its old path and reads it from its offset to its end, as gone', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'one\ntwo\n');
    const key = `${idOf(p)}:${fingerprintOf(Buffer.from('one\ntwo\n'))}`;
    renameSync(p, join(d, 'a.log.1'));
    const h = fileSet([]);
    h.set.saved.set(idOf(join(d, 'a.log.1')), { key, path: p, offset: 4 });
    await h.set.recoverRotated();
    expect(h.registered).toHaveLength(1);
    const t = h.registered[0]!;
    expect({ real: t.realPath, readPos: t.readPos, gone: t.gone, goneCounted: t.goneCounted }).toEqual({ real: join(d, 'a.log.1'), readPos: 4, gone: true, goneCounted: true });
    expect(t.goneAt).toBeGreaterThan(0);
    expect(h.pumped).toEqual([t]);
    expect(h.counters.rotations).toBe(1);
    expect(h.set.saved.size).toBe(0);
  });

  it('finds several saved files of one directory', async () => {
    const d = tempDir();
    const [p, q] = [join(d, 'a.log.1'), join(d, 'b.log.1')];
    writeFileSync(p, 'one\ntwo\n');
    writeFileSync(q, 'one\ntwo\n');
    const h = fileSet([]);
    for (const [x, was] of [[p, 'a.log'], [q, 'b.log']] as const) {
      h.set.saved.set(idOf(x), { key: `${idOf(x)}:${fingerprintOf(Buffer.from('one\ntwo\n'))}`, path: join(d, was), offset: 4 });
    }
    await h.set.recoverRotated();
    expect(h.registered.map((t) => t.realPath).sort()).toEqual([p, q]);
  });

  it('one first reached through a link keeps the link as its name', async () => {
    const d = tempDir();
    const p = join(d, 'a.log.1');
    writeFileSync(p, 'one\ntwo\n');
    const h = fileSet([]);
    const link = join(d, 'current.log');
    h.set.saved.set(idOf(p), { key: `${idOf(p)}:${fingerprintOf(Buffer.from('one\ntwo\n'))}`, path: join(d, 'a.log'), link, offset: 4 });
    await h.set.recoverRotated();
    const t = h.registered[0]!;
    expect({ path: t.path, real: t.realPath, link: t.link }).toEqual({ path: link, real: p, link });
    const plain = fileSet([]);
    plain.set.saved.set(idOf(p), { key: `${idOf(p)}:${fingerprintOf(Buffer.from('one\ntwo\n'))}`, path: join(d, 'a.log'), offset: 4 });
    await plain.set.recoverRotated();
    expect({ path: plain.registered[0]!.path, link: plain.registered[0]!.link }).toEqual({ path: p, link: undefined });
  });

  it('stopping while one is being opened: closed, not read', async () => {
    const d = tempDir();
    const p = join(d, 'a.log.1');
    writeFileSync(p, 'one\ntwo\n');
    const h = fileSet([], {}, { stopAfter: 1 });
    h.set.saved.set(idOf(p), { key: `${idOf(p)}:${fingerprintOf(Buffer.from('one\ntwo\n'))}`, path: join(d, 'a.log'), offset: 0 });
    await h.set.recoverRotated();
    expect(h.registered).toHaveLength(0);
    expect(h.set.saved.size).toBe(1);
  });

  it('leaves it when fully read, when its first bytes differ, or when it is open already', async () => {
    const d = tempDir();
    const p = join(d, 'a.log.1');
    writeFileSync(p, 'one\ntwo\n');
    const fp = fingerprintOf(Buffer.from('one\ntwo\n'));
    const tryWith = async (key: string, offset: number, open = false) => {
      const h = fileSet([]);
      h.set.saved.set(idOf(p), { key, path: join(d, 'a.log'), offset });
      if (open) h.set.byId.set(idOf(p), {} as FileTailer);
      await h.set.recoverRotated();
      return h.registered.length;
    };
    expect(await tryWith(`${idOf(p)}:${fp}`, 8)).toBe(0);
    expect(await tryWith(`${idOf(p)}:${fp}`, 7)).toBe(1);
    expect(await tryWith(`${idOf(p)}:${fingerprintOf(Buffer.from('other\n'))}`, 0)).toBe(0);
    expect(await tryWith(`${idOf(p)}:${fp}`, 0, true)).toBe(0);
  });
});
