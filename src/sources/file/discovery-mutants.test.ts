/**
 * FileSet (discovery.ts) on its own, with a scripted watcher and real files
 * (found by mutation testing, `npm run mutate`): errors and refusals counted
 * once while they last and forgotten a poll later, the degraded state naming
 * the first failing path, renames within the globs, where a file is opened
 * (saved offset, a fingerprint that differs, from = "end"), an incomplete or
 * partly failed listing proving nothing gone, coalesced scans, and the files
 * rotated while Sluice was down.
 */
import { mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Health, type HealthEvent } from '../../core/health.js';
import { fileSourceSchema, type FileSourceInput } from './config.js';
import { newCounters } from './counters.js';
import { FileSet } from './discovery.js';
import { DEFAULT_LINK_POLICY, type FoundFile } from './links.js';
import { fingerprintOf, type FileTailer } from './tailer.js';
import type { PathWatcher, ScanResult } from './watcher.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-discovery-m-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function found(p: string, path = p): FoundFile {
  const st = statSync(p, { bigint: true });
  return { path, real: p, viaLink: false, dev: String(st.dev), ino: String(st.ino), size: Number(st.size) };
}

function idOf(p: string): string {
  const st = statSync(p, { bigint: true });
  return `${st.dev}:${st.ino}`;
}

type Listing = Partial<ScanResult> | (() => Promise<Partial<ScanResult>>);

/** A FileSet whose watcher answers each scan with the next listing (the last one repeats). */
function fileSet(listings: Listing[], over: Partial<FileSourceInput> = {}, opts: { firstStart?: boolean } = {}) {
  const counters = newCounters();
  const health = new Health('source', 'app', 'file');
  const events: HealthEvent[] = [];
  health.observe((_who, e) => events.push(e));
  health.set('running');
  events.length = 0;
  const registered: FileTailer[] = [];
  const pumped: FileTailer[] = [];
  let scans = 0;
  let stopping = false;
  const watcher = {
    scan: async (): Promise<ScanResult> => {
      const l = listings[Math.min(scans++, listings.length - 1)]!;
      const r = typeof l === 'function' ? await l() : l;
      return { files: [], errors: [], refused: [], truncated: false, ...r };
    },
  } as unknown as PathWatcher;
  const cfg = fileSourceSchema.parse({ name: 'app', type: 'file', format: 'plain', paths: ['/unused'], ...over });
  const set = new FileSet({
    cfg, watcher, links: DEFAULT_LINK_POLICY, counters, health,
    firstStart: () => opts.firstStart ?? false,
    stopping: () => stopping,
    register: (t) => registered.push(t),
    pump: (t) => pumped.push(t),
  });
  cleanup.push(async () => {
    for (const t of [...set.tailers, ...registered]) await t.close();
  });
  return { set, counters, health, events, registered, pumped, scans: () => scans, stop: () => (stopping = true) };
}

const notes = (events: HealthEvent[], kind: string) => events.filter((e) => e.type === 'note' && e.event === kind);

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
    expect(set.byId.size).toBe(0); // the source's register() keeps byId
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
    first.registered.forEach((t) => first.set.byId.set(t.id, t));
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

describe('FileSet rotation', () => {
  /** A FileSet that opened `name` in its first scan; `next` sets what the following scans list. */
  async function opened(d: string, name = 'a.log') {
    const p = join(d, name);
    writeFileSync(p, 'x\n');
    const listings: Listing[] = [{ files: [found(p)] }];
    const h = fileSet(listings);
    await h.set.scan();
    const t = h.registered[0]!;
    h.set.byId.set(t.id, t); // what the source's register() does
    h.set.tailers.add(t);
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

  it('remove forgets a tailer only under the names it still holds', async () => {
    const d = tempDir();
    const h = await opened(d);
    const other = { ...h.t, id: h.t.id, path: h.p } as FileTailer;
    h.set.byPath.set(h.p, other);
    h.set.remove(h.t);
    expect(h.set.tailers.has(h.t)).toBe(false);
    expect(h.set.byId.has(h.t.id)).toBe(false);
    expect(h.set.byPath.get(h.p)).toBe(other);
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
