/**
 * FileSet (discovery.ts) on its own, with a scripted watcher and real files
 * (test/helpers/file-set.ts; found by mutation testing, `npm run mutate`):
 * errors and refusals counted once while they last and forgotten a poll
 * later, the degraded state naming the first failing path, and where a file
 * is opened (saved offset, a fingerprint that differs, from = "end"), or why
 * not. Renames, rotation and scans: discovery-rotation-mutants.test.ts.
 */
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fingerprintOf } from './tailer.js';
import { fileSet, found, idOf, notes, runCleanup, tempDir } from '../../../test/helpers/file-set.js';

afterEach(runCleanup);

describe('FileSet errors and refusals', () => {
  it('an error is counted once per poll for the same code, again for another code or a later poll, and forgotten after a whole poll without it', async () => {
    const { set, counters, health } = fileSet([{ errors: [{ path: '/x/a.log', code: 'EIO' }] }, {}]);
    set.noteError('/x/a.log', 'EACCES');
    set.noteError('/x/a.log', 'EACCES');
    expect(counters.read_errors).toBe(1);
    set.noteError('/x/a.log', 'EIO');
    expect(counters.read_errors).toBe(2);
    set.pollGen++;
    set.noteError('/x/a.log', 'EIO');
    expect(counters.read_errors).toBe(3);
    await set.scan(); // the scan sees it again (same gen, same code): not counted
    expect(counters.read_errors).toBe(4 - 1);
    expect(health.state).toBe('degraded');
    set.pollGen++;
    await set.scan(); // not seen, but only one poll old: kept
    expect(set.errors.has('/x/a.log')).toBe(true);
    set.pollGen++;
    await set.scan(); // a whole poll without it: forgotten, and running again
    expect(set.errors.size).toBe(0);
    expect(health.state).toBe('running');
  });

  it('degraded names the first failing path, its code, and how many more', async () => {
    const { set, health } = fileSet([{ errors: [{ path: '/x/a.log', code: 'EACCES' }] }, { errors: [{ path: '/x/a.log', code: 'EACCES' }, { path: '/x/b.log', code: 'EIO' }, { path: '/x/c.log', code: 'EIO' }] }]);
    await set.scan();
    expect(health.lastError).toMatchObject({ code: 'EACCES', message: 'cannot open /x/a.log: EACCES' });
    await set.scan();
    expect(health.state).toBe('degraded');
    expect(health.lastError).toMatchObject({ code: 'EACCES', message: 'cannot open /x/a.log: EACCES (and 2 more paths)' });
  });

  it('leaves a state other than running or degraded alone', async () => {
    const { set, health } = fileSet([{ errors: [{ path: '/x/a.log', code: 'EACCES' }] }]);
    health.set('error', { code: 'X', message: 'x' });
    await set.scan();
    expect(health.state).toBe('error');
    expect(health.lastError).toMatchObject({ code: 'X' });
  });

  it('a refusal is counted and noted once while it lasts for the same reason (its reason kept fresh), anew for another code', async () => {
    const { set, counters, events } = fileSet([]);
    set.noteRefused('/x/p.log', { code: 'ENOTREG', reason: 'a FIFO' });
    set.pollGen += 5;
    set.noteRefused('/x/p.log', { code: 'ENOTREG', reason: 'a socket' });
    expect(counters.refused_not_regular).toBe(1);
    expect(set.refused.get('/x/p.log')).toEqual({ code: 'ENOTREG', reason: 'a socket', gen: 5 });
    expect(notes(events, 'file_refused')).toEqual([
      { type: 'note', event: 'file_refused', msg: 'not reading /x/p.log: a FIFO', fields: { path: '/x/p.log', code: 'ENOTREG' }, level: 'warn' },
    ]);
    set.noteRefused('/x/p.log', { code: 'ELINKOFF', reason: 'a link' });
    expect(counters.refused_link_off).toBe(1);
    expect(notes(events, 'file_refused')).toHaveLength(2);
  });

  it('refusals from the listing are forgotten after a whole poll without them, then counted anew', async () => {
    const refusal = { path: '/x/p.log', code: 'ENOTREG' as const, reason: 'a FIFO' };
    const { set, counters } = fileSet([{ refused: [refusal] }, {}, {}, { refused: [refusal] }]);
    await set.scan();
    set.pollGen++;
    await set.scan();
    expect(set.refused.has('/x/p.log')).toBe(true);
    set.pollGen++;
    await set.scan();
    expect(set.refused.size).toBe(0);
    await set.scan();
    expect(counters.refused_not_regular).toBe(2);
  });
});

describe('FileSet opening', () => {
  it('opens a new file from 0 and registers, notes and pumps it; a second name for it in the same listing is skipped', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'one\ntwo\n');
    const { set, registered, pumped, events } = fileSet([{ files: [found(p), found(p, join(d, 'link.log'))] }]);
    await set.scan(true);
    expect(registered).toHaveLength(1);
    const t = registered[0]!;
    expect(pumped).toEqual([t]);
    expect({ readPos: t.readPos, path: t.path }).toEqual({ readPos: 0, path: p });
    expect(set.byPath.get(p)).toBe(t);
    expect(notes(events, 'file_opened')).toEqual([
      { type: 'note', event: 'file_opened', msg: `reading ${p} from offset 0 of 8`, fields: { path: p, offset: 0, size: 8 } },
    ]);
  });

  it('from = "end" starts at the end only in the first scan of a first start', async () => {
    const d = tempDir();
    const [a, b, c] = ['a.log', 'b.log', 'c.log'].map((n) => join(d, n));
    for (const p of [a!, b!, c!]) writeFileSync(p, 'old\n');
    const first = fileSet([{ files: [found(a!)] }, { files: [found(a!), found(b!)] }], { from: 'end' }, { firstStart: true });
    await first.set.scan(true);
    expect(first.registered.map((t) => t.readPos)).toEqual([4]);
    await first.set.scan(false); // later: from 0
    expect(first.registered.map((t) => t.readPos)).toEqual([4, 0]);
    const later = fileSet([{ files: [found(c!)] }], { from: 'end' }, { firstStart: false });
    await later.set.scan(true); // not the first start: from 0
    expect(later.registered.map((t) => t.readPos)).toEqual([0]);
    const fromStart = fileSet([{ files: [found(c!)] }], { from: 'start' }, { firstStart: true });
    await fromStart.set.scan(true);
    expect(fromStart.registered.map((t) => t.readPos)).toEqual([0]);
  });

  it('a saved offset is used when the first bytes match; past the end it counts a truncation; other first bytes mean 0', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'one\ntwo\n');
    const fp = fingerprintOf(Buffer.from('one\ntwo\n'));
    const run = async (key: string, offset: number) => {
      const h = fileSet([{ files: [found(p)] }], { from: 'end' }, { firstStart: true });
      h.set.saved.set(idOf(p), { key, path: p, offset });
      await h.set.scan(true);
      expect(h.set.saved.size).toBe(0);
      return { pos: h.registered[0]!.readPos, truncations: h.counters.truncations };
    };
    expect(await run(`${idOf(p)}:${fp}`, 4)).toEqual({ pos: 4, truncations: 0 });
    expect(await run(`${idOf(p)}:${fp}`, 8)).toEqual({ pos: 8, truncations: 0 });
    expect(await run(`${idOf(p)}:${fp}`, 9)).toEqual({ pos: 0, truncations: 1 });
    expect(await run(`${idOf(p)}:${fingerprintOf(Buffer.from('other\n'))}`, 4)).toEqual({ pos: 0, truncations: 0 });
  });

  it('a path that failed in this poll is not opened again until the next one; an open error is noted; ENOENT says nothing', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'x\n');
    const f = found(p);
    const { set, registered, counters } = fileSet([{ files: [f] }]);
    set.noteError(p, 'EIO');
    await set.scan();
    expect(registered).toHaveLength(0);
    set.pollGen++;
    await set.scan();
    expect(registered).toHaveLength(1);
    expect(set.errors.has(p)).toBe(false); // opened: forgotten
    const gone = fileSet([{ files: [{ ...f, path: join(d, 'nope.log'), real: join(d, 'nope.log') }] }]);
    await gone.set.scan();
    expect({ errors: gone.set.errors.size, read_errors: gone.counters.read_errors, refused: gone.set.refused.size }).toEqual({ errors: 0, read_errors: 0, refused: 0 });
    expect(counters.read_errors).toBe(1);
  });

  it('a symlink where the scan saw a real path is refused as swapped (ELOOP), not an error', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'x\n');
    const l = join(d, 'l.log');
    symlinkSync(p, l);
    const h = fileSet([{ files: [{ ...found(p), path: l, real: l }] }]);
    await h.set.scan();
    expect(h.registered).toHaveLength(0);
    expect(h.set.refused.get(l)).toMatchObject({ code: 'ESWAPPED', reason: `${l} changed between check and open (ELOOP)` });
    expect({ errors: h.set.errors.size, read_errors: h.counters.read_errors }).toEqual({ errors: 0, read_errors: 0 });
  });

  it('an open that succeeds forgets the path\'s refusal', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'x\n');
    const h = fileSet([{ files: [found(p)] }]);
    h.set.noteRefused(p, { code: 'ESWAPPED', reason: 'swapped' });
    await h.set.scan();
    expect(h.registered).toHaveLength(1);
    expect(h.set.refused.has(p)).toBe(false);
  });

  it('stopping while a file is being opened: closed, its saved offset left for the next start', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'one\n');
    const key = `${idOf(p)}:${fingerprintOf(Buffer.from('one\n'))}`;
    const h = fileSet([{ files: [found(p)] }], {}, { stopAfter: 1 }); // the scan's own check passes, the open's does not
    h.set.saved.set(idOf(p), { key, path: p, offset: 9 }); // past the end: would count a truncation
    await h.set.scan();
    expect(h.registered).toHaveLength(0);
    expect(h.set.saved.has(idOf(p))).toBe(true);
    expect(h.counters.truncations).toBe(0);
  });

  it('an open that fails otherwise than ENOENT is an error of the path', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'x\n');
    const h = fileSet([{ files: [{ ...found(p), real: join(d, 'x'.repeat(300)) }] }]);
    await h.set.scan();
    expect(h.set.errors.get(p)).toEqual({ code: 'ENAMETOOLONG', gen: 0 });
    expect(h.counters.read_errors).toBe(1);
    expect(h.registered).toHaveLength(0);
  });

  it('stopping once its offset is set: closed, not registered', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'one\n');
    const h = fileSet([{ files: [found(p)] }], {}, { stopAfter: 2 }); // the scan's and the open's first checks pass
    await h.set.scan();
    expect(h.registered).toHaveLength(0);
    expect(h.pumped).toHaveLength(0);
  });

  it('a directory where the scan saw a file is refused as swapped; a different inode too, and neither is read', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'x\n');
    const other = join(d, 'b.log');
    writeFileSync(other, 'y\n');
    const dir = fileSet([{ files: [{ ...found(p), real: d }] }]);
    await dir.set.scan();
    expect(dir.registered).toHaveLength(0);
    expect(dir.counters.refused_swapped).toBe(1);
    expect(dir.set.refused.get(p)).toMatchObject({ code: 'ESWAPPED', reason: `${d} changed between check and open (ENOTREG)` });
    const ino = fileSet([{ files: [{ ...found(p), path: other, real: other }] }]);
    await ino.set.scan();
    expect(ino.registered).toHaveLength(0);
    expect(ino.counters.refused_swapped).toBe(1);
    expect(ino.set.refused.get(other)?.reason).toMatch(/^.*b\.log changed between check and open \(checked /);
  });
});
