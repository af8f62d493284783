/**
 * FileTailer on its own, on real files (found by mutation testing, `npm run
 * mutate`): its identity and names, where seek starts after an idle-flushed
 * partial line, when refresh re-checks the first bytes (always below 64 KiB,
 * above only when the poll asks), the fingerprint following a file that grows
 * past its first bytes, restartFromZero, and what readChunk reads and counts.
 */
import { appendFileSync, linkSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileSourceSchema, type FileSourceInput } from './config.js';
import { newCounters } from './counters.js';
import { FINGERPRINT_BYTES, FileTailer, fingerprintOf } from './tailer.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-tailer-m-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const cfgOf = (over: Partial<FileSourceInput> = {}) =>
  fileSourceSchema.parse({ name: 'app', type: 'file', format: 'plain', paths: ['/unused'], ...over });

async function openAt(p: string, over: Partial<FileSourceInput> = {}, counters = newCounters()): Promise<FileTailer> {
  const t = await FileTailer.open({ path: p, real: p, viaLink: false }, cfgOf(over), counters);
  cleanup.push(() => t.close());
  t.builder.regionMinBytes = Infinity; // lines as strings (a parse stage's threshold decides otherwise)
  return t;
}

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

const items = (t: FileTailer) => t.builder.takeItems().items.map((i) => (typeof i === 'string' ? i : Buffer.from(i).toString()));

describe('FileTailer.open', () => {
  it('knows the file by dev:ino and the fingerprint of its first 256 bytes', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    const content = Buffer.from('x'.repeat(300) + '\n');
    writeFileSync(p, content);
    const st = statSync(p, { bigint: true });
    const t = await openAt(p);
    expect({ dev: t.dev, ino: t.ino, id: t.id, size: t.size }).toEqual({ dev: String(st.dev), ino: String(st.ino), id: `${st.dev}:${st.ino}`, size: 301 });
    expect(t.key).toBe(`${st.dev}:${st.ino}:${fingerprintOf(content.subarray(0, FINGERPRINT_BYTES))}`);
    expect({ readPos: t.readPos, committed: t.committed, closed: t.closed, gone: t.gone }).toEqual({ readPos: 0, committed: 0, closed: false, gone: false });
    const short = join(d, 'b.log');
    writeFileSync(short, 'hi\n');
    expect((await openAt(short)).key.endsWith(':' + fingerprintOf(Buffer.from('hi\n')))).toBe(true);
  });

  it('refuses what is not a regular file with ENOTREG, and closes it', async () => {
    const d = tempDir();
    const fifo = join(d, 'pipe.log');
    execFileSync('mkfifo', [fifo]);
    await expect(FileTailer.open({ path: fifo, real: fifo, viaLink: false }, cfgOf(), newCounters())).rejects.toMatchObject({
      code: 'ENOTREG', message: `${fifo}: not a regular file`,
    });
    expect(openFds(fifo)).toBe(0);
  });

  it('names: the matched path, the real path, the link; rename changes them and the origin of the next records', async () => {
    const d = tempDir();
    const real = join(d, 'real.log');
    writeFileSync(real, 'a\n');
    const t = await FileTailer.open({ path: join(d, 'link.log'), real, viaLink: true }, cfgOf(), newCounters());
    cleanup.push(() => t.close());
    expect({ path: t.path, realPath: t.realPath, link: t.link }).toEqual({ path: join(d, 'link.log'), realPath: real, link: join(d, 'link.log') });
    expect(t.builder.takeItems().origin).toEqual({ kind: 'file', path: real, link: join(d, 'link.log') });
    expect(await t.openedPath()).toBe(real);
    t.rename({ path: join(d, 'moved.log'), real, viaLink: false });
    expect({ path: t.path, realPath: t.realPath, link: t.link }).toEqual({ path: join(d, 'moved.log'), realPath: real, link: undefined });
    expect(t.builder.takeItems().origin).toEqual({ kind: 'file', path: real });
  });
});

describe('FileTailer.seek', () => {
  it('0, after a newline, and after an idle-flushed partial whose newline is skipped', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'ab\ncd\nef');
    const t = await openAt(p);
    await t.seek(3);
    expect([t.readPos, t.committed]).toEqual([3, 3]);
    await t.seek(2); // 'ab' was flushed: its '\n' belongs to it
    expect([t.readPos, t.committed]).toEqual([3, 3]);
    await t.seek(1); // inside a line, no newline there
    expect([t.readPos, t.committed]).toEqual([1, 1]);
    await t.seek(0);
    expect([t.readPos, t.committed]).toEqual([0, 0]);
  });

  it('at the end after a flushed partial, a newline written later is skipped by the first read', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'a\npart');
    const t = await openAt(p);
    await t.seek(6);
    expect(t.readPos).toBe(6);
    appendFileSync(p, '\nnext\n');
    await t.refresh();
    expect(await t.readChunk()).toBe(6);
    expect(items(t)).toEqual(['next']);
    expect(t.readPos).toBe(12);
    expect(t.builder.outEnd).toBe(12);
    // once only: a later newline is an empty line
    appendFileSync(p, '\n');
    await t.refresh();
    expect(await t.readChunk()).toBe(1);
    expect(items(t)).toEqual(['']);
  });

  it('at the end after a complete line, the next newline is an empty line; seek drops a pending partial', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'a\n');
    const t = await openAt(p);
    await t.seek(2);
    appendFileSync(p, '\nb\n');
    await t.refresh();
    await t.readChunk();
    expect(items(t)).toEqual(['', 'b']);
    appendFileSync(p, 'half');
    await t.refresh();
    await t.readChunk();
    expect(t.builder.pendingBytes).toBe(4);
    await t.seek(0);
    expect(t.builder.pendingBytes).toBe(0);
  });
});

describe('FileTailer.refresh', () => {
  it('says truncated when the file is shorter than what was read; reports size and links', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'one\ntwo\n');
    const t = await openAt(p);
    await t.readChunk();
    linkSync(p, join(d, 'b.log'));
    expect(await t.refresh()).toEqual({ size: 8, nlink: 2, truncated: false });
    writeFileSync(p, 'one\n');
    expect(await t.refresh()).toEqual({ size: 4, nlink: 2, truncated: true });
    expect(t.size).toBe(4);
  });

  it('below 64 KiB read, other first bytes are noticed at every refresh (copytruncate regrown past the offset)', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'old line\n');
    const t = await openAt(p);
    await t.readChunk();
    writeFileSync(p, 'NEW LINE\nmore\n');
    expect((await t.refresh()).truncated).toBe(true);
  });

  it('nothing read yet: the first bytes are not re-checked unless the poll asks', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'x'.repeat(300));
    const t = await openAt(p);
    writeFileSync(p, 'y'.repeat(300));
    expect((await t.refresh()).truncated).toBe(false);
    t.checkFp = true;
    expect((await t.refresh()).truncated).toBe(true);
    expect(t.checkFp).toBe(false);
  });

  it('past 64 KiB read, the first bytes are re-checked only when the poll asks (checkFp), once', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    const line = 'z'.repeat(99) + '\n';
    writeFileSync(p, line.repeat(700)); // 70 000 bytes
    const t = await openAt(p, { read_buffer: 1024 * 1024 });
    while ((await t.readChunk()) > 0);
    expect(t.readPos).toBe(70_000);
    const buf = Buffer.from(line.repeat(700));
    buf.write('Q', 0);
    writeFileSync(p, buf); // same size, other first bytes
    expect((await t.refresh()).truncated).toBe(false);
    t.checkFp = true;
    expect((await t.refresh()).truncated).toBe(true);
    expect(t.checkFp).toBe(false);
    // exactly at 64 KiB the check still runs on every refresh
    const q = join(d, 'b.log');
    writeFileSync(q, 'w'.repeat(65_535) + '\n');
    const u = await openAt(q, { read_buffer: 1024 * 1024 });
    while ((await u.readChunk()) > 0);
    expect(u.readPos).toBe(65_536);
    writeFileSync(q, 'W' + 'w'.repeat(65_534) + '\n');
    expect((await u.refresh()).truncated).toBe(true);
  });

  it('a file opened with fewer than 256 bytes is fingerprinted again as it grows; the key follows', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'hello\n');
    const t = await openAt(p);
    const before = t.key;
    appendFileSync(p, 'w'.repeat(400) + '\n');
    expect((await t.refresh()).truncated).toBe(false);
    const head = Buffer.from('hello\n' + 'w'.repeat(400) + '\n').subarray(0, FINGERPRINT_BYTES);
    expect(t.key).toBe(`${t.id}:${fingerprintOf(head)}`);
    expect(t.key).not.toBe(before);
    // and a short file whose first bytes changed as it grew is truncated, not re-fingerprinted
    const q = join(d, 'b.log');
    writeFileSync(q, 'abc\n');
    const u = await openAt(q);
    const k = u.key;
    writeFileSync(q, 'xyz\n' + 'v'.repeat(300));
    expect((await u.refresh()).truncated).toBe(true);
    expect(u.key).toBe(k);
  });
});

describe('FileTailer.restartFromZero', () => {
  it('reads again from 0, with the new size and fingerprint, without what was pending', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'old\npartial');
    const t = await openAt(p);
    await t.readChunk();
    t.builder.takeItems();
    expect(t.builder.pendingBytes).toBe(7);
    writeFileSync(p, 'fresh\n');
    await t.restartFromZero();
    expect({ readPos: t.readPos, committed: t.committed, size: t.size, pending: t.builder.pendingBytes }).toEqual({ readPos: 0, committed: 0, size: 6, pending: 0 });
    expect(t.key).toBe(`${t.id}:${fingerprintOf(Buffer.from('fresh\n'))}`);
    await t.readChunk();
    expect(items(t)).toEqual(['fresh']);
  });
});

describe('FileTailer.readChunk', () => {
  it('reads up to read_buffer per chunk, counts the bytes, and 0 at the end', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'l'.repeat(2999) + '\n');
    const counters = newCounters();
    const t = await openAt(p, { read_buffer: 1024 }, counters);
    t.lastDataAt = 0;
    expect(await t.readChunk()).toBe(1024);
    expect(t.lastDataAt).toBeGreaterThan(0);
    expect(await t.readChunk()).toBe(1024);
    expect(await t.readChunk()).toBe(952);
    expect(await t.readChunk()).toBe(0);
    expect(counters.bytes).toBe(3000);
    expect(t.readPos).toBe(3000);
  });

  it('reads at least 16 KiB: what was written since the last stat comes in the same read, and the size follows', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'first\n');
    const t = await openAt(p);
    appendFileSync(p, 'g'.repeat(9_999) + '\n'); // not seen by a refresh
    expect(t.size).toBe(6);
    expect(await t.readChunk()).toBe(10_006);
    expect(t.size).toBe(10_006);
    expect(t.readPos).toBe(10_006);
    // never more than the read buffer, though
    writeFileSync(p, 'h'.repeat(2047) + '\n');
    const u = await openAt(p, { read_buffer: 1024 });
    expect(await u.readChunk()).toBe(1024);
  });

  it('a read of at least regionMinBytes goes to shared memory, its lines as one view of it', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'a\nb\n');
    const t = await openAt(p);
    t.builder.regionMinBytes = 0;
    await t.readChunk();
    const raw = t.builder.takeItems();
    expect(raw.items).toHaveLength(1);
    expect((raw.items[0] as Buffer).buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.from(raw.items[0]!).toString()).toBe('a\nb\n');
  });
});

describe('FileTailer.close', () => {
  it('closes its descriptor once; a second close does nothing', async () => {
    const d = tempDir();
    const p = join(d, 'a.log');
    writeFileSync(p, 'a\n');
    const t = await FileTailer.open({ path: p, real: p, viaLink: false }, cfgOf(), newCounters());
    expect(openFds(p)).toBe(1);
    await t.close();
    expect(t.closed).toBe(true);
    expect(openFds(p)).toBe(0);
    await t.close();
    expect(t.closed).toBe(true);
  });
});
