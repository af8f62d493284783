/**
 * The crash replay's helpers called directly (found by mutation testing,
 * `npm run mutate`): rebuildBatch refuses a range it cannot rebuild exactly
 * (a bad key, a file gone, shorter or with other first bytes), reads a range
 * longer than one read buffer, starts after an idle-flushed partial, keeps
 * the origin's link and applies the stateless transforms; openByIdentity and
 * searchDir find a file by dev:ino only among regular files, first name wins,
 * within MAX_DIR_SEARCH entries.
 */
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckpointLast } from './checkpoint.js';
import { fileSourceSchema, type FileSourceInput } from './config.js';
import { openByIdentity, rebuildBatch, searchDir } from './replay.js';
import { FINGERPRINT_BYTES, fingerprintOf } from './tailer.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-replay-'));
  dirs.push(d);
  return d;
}

const cfgOf = (over: Partial<FileSourceInput> = {}) =>
  fileSourceSchema.parse({ name: 'app', type: 'file', format: 'plain', paths: ['/unused'], ...over });

const idOf = (p: string) => {
  const st = statSync(p, { bigint: true });
  return { dev: String(st.dev), ino: String(st.ino) };
};

/** The checkpoint key of a file as the tailer writes it: dev:ino:fingerprint of its first bytes. */
function keyOf(p: string, content: Buffer): string {
  const { dev, ino } = idOf(p);
  return `${dev}:${ino}:${fingerprintOf(content.subarray(0, FINGERPRINT_BYTES))}`;
}

function lastOf(p: string, content: Buffer, from: number, to: number, over: Partial<CheckpointLast> = {}): CheckpointLast {
  return { key: keyOf(p, content), path: p, from, to, seqFirst: 1, seqLast: 1, ...over };
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

const messages = (rs: { message: string }[] | null) => rs?.map((r) => r.message) ?? null;

describe('rebuildBatch', () => {
  it('rebuilds the records of [from, to) of the file, across reads of read_buffer bytes', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    const lines: string[] = [];
    for (let i = 0; i < 200; i++) lines.push(`line ${i} ${'x'.repeat(20)}`);
    const content = Buffer.from(lines.join('\n') + '\n');
    writeFileSync(f, content);
    const from = Buffer.byteLength(lines.slice(0, 10).join('\n') + '\n');
    // 3000+ bytes with a 1 KiB read buffer: several reads, each ending mid-line
    const out = await rebuildBatch(cfgOf({ read_buffer: 1024 }), lastOf(f, content, from, content.length));
    expect(messages(out)).toEqual(lines.slice(10));
    expect(out![0]!.origin).toEqual({ kind: 'file', path: f });
    expect(out!.every((r) => r.source === 'app' && r.stream === 'app')).toBe(true);
  });

  it('emits an unterminated last line and a pending multiline record at the end of the range', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    const content = Buffer.from('a\nE1 boom\n\tat x\nE2 bang\n\tat y');
    writeFileSync(f, content);
    expect(messages(await rebuildBatch(cfgOf(), lastOf(f, content, 2, content.length)))).toEqual(['E1 boom', '\tat x', 'E2 bang', '\tat y']);
    const ml = cfgOf({ multiline: { start: '^\\S' } });
    expect(messages(await rebuildBatch(ml, lastOf(f, content, 2, content.length)))).toEqual(['E1 boom\n\tat x', 'E2 bang\n\tat y']);
  });

  it('starts after the newline that ended an idle-flushed partial line', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    const content = Buffer.from('a\npart\nb\nc\n');
    writeFileSync(f, content);
    // 'part' was flushed idle at offset 6; the batch that followed began there, at its newline
    expect(messages(await rebuildBatch(cfgOf(), lastOf(f, content, 6, content.length)))).toEqual(['b', 'c']);
  });

  it('keeps the link the file was reached through in the origin, and the configured stream', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    const content = Buffer.from('one\ntwo\n');
    writeFileSync(f, content);
    const out = await rebuildBatch(cfgOf({ stream: 'web' }), lastOf(f, content, 0, content.length, { link: '/var/log/containers/x.log' }));
    expect(messages(out)).toEqual(['one', 'two']);
    expect(out![1]!.origin).toEqual({ kind: 'file', path: f, link: '/var/log/containers/x.log' });
    expect(out![1]!.stream).toBe('web');
  });

  it('applies the stateless transforms as the first pass did', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    const content = Buffer.from('keep 1\ndrop me\nkeep 2\n');
    writeFileSync(f, content);
    const cfg = cfgOf({ transforms: [{ type: 'drop', field: 'message', matches: '^drop' }] });
    expect(messages(await rebuildBatch(cfg, lastOf(f, content, 0, content.length)))).toEqual(['keep 1', 'keep 2']);
  });

  it('is null when it cannot rebuild the same bytes: a bad key, the file gone, shorter than to, other first bytes', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    const content = Buffer.from('one\ntwo\n');
    writeFileSync(f, content);
    const good = lastOf(f, content, 0, content.length);
    expect(messages(await rebuildBatch(cfgOf(), good))).toEqual(['one', 'two']);
    expect(await rebuildBatch(cfgOf(), { ...good, key: 'not-a-key' })).toBeNull();
    expect(await rebuildBatch(cfgOf(), { ...good, to: content.length + 1 })).toBeNull();
    // exactly the file's size is still whole
    expect(messages(await rebuildBatch(cfgOf(), { ...good, from: 4, to: content.length }))).toEqual(['two']);
    // same inode, other first bytes: not the file the checkpoint names
    writeFileSync(f, 'ONE\ntwo\n');
    expect(await rebuildBatch(cfgOf(), good)).toBeNull();
    rmSync(f);
    expect(await rebuildBatch(cfgOf(), good)).toBeNull();
  });

  it('closes the file it opened, whether it rebuilt the batch or gave up', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    const content = Buffer.from('one\ntwo\n');
    writeFileSync(f, content);
    const good = lastOf(f, content, 0, content.length);
    expect(messages(await rebuildBatch(cfgOf(), good))).toEqual(['one', 'two']);
    expect(openFds(f)).toBe(0);
    expect(await rebuildBatch(cfgOf(), { ...good, to: content.length + 1 })).toBeNull();
    expect(openFds(f)).toBe(0);
    // opened at its path but another inode (not the one asked): closed too
    expect(await openByIdentity(f, idOf(f).dev, String(BigInt(idOf(f).ino) + 1_000_000n))).toBeNull();
    expect(openFds(f)).toBe(0);
  });
});

describe('openByIdentity', () => {
  it('opens the file at its path, or the same dev:ino beside it (rotated), else null', async () => {
    const d = tempDir();
    const f = join(d, 'app.log');
    writeFileSync(f, 'old\n');
    const { dev, ino } = idOf(f);
    const direct = await openByIdentity(f, dev, ino);
    expect(direct).not.toBeNull();
    expect((await direct!.readFile()).toString()).toBe('old\n');
    await direct!.close();
    // rotated: app.log -> app.log.1, a new app.log
    linkSync(f, join(d, 'app.log.1'));
    rmSync(f);
    writeFileSync(f, 'new\n');
    const moved = await openByIdentity(f, dev, ino);
    expect(moved).not.toBeNull();
    expect((await moved!.readFile()).toString()).toBe('old\n');
    await moved!.close();
    // the right inode number on another device, or another inode on the right device: not it
    expect(await openByIdentity(join(d, 'app.log.1'), dev + '1', ino)).toBeNull();
    expect(await openByIdentity(f, dev + '1', ino)).toBeNull();
    expect(await openByIdentity(f, idOf(f).dev, String(BigInt(ino) + 1_000_000n))).toBeNull();
  });

  it('never opens a directory, even when its dev:ino is the one asked', async () => {
    const d = tempDir();
    const sub = join(d, 'sub');
    mkdirSync(sub);
    const { dev, ino } = idOf(sub);
    expect(await openByIdentity(sub, dev, ino)).toBeNull();
  });
});

describe('searchDir', () => {
  it('maps each asked dev:ino to a regular file of the directory; directories are skipped; a missing directory finds nothing', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'a'), 'a');
    writeFileSync(join(d, 'b'), 'b');
    mkdirSync(join(d, 'dir'));
    const id = (p: string) => { const x = idOf(p); return x.dev + ':' + x.ino; };
    const ids = new Set([id(join(d, 'a')), id(join(d, 'b')), id(join(d, 'dir')), '1:2']);
    const found = await searchDir(d, ids);
    expect(Object.fromEntries(found)).toEqual({ [id(join(d, 'a'))]: join(d, 'a'), [id(join(d, 'b'))]: join(d, 'b') });
    expect((await searchDir(join(d, 'nope'), ids)).size).toBe(0);
  });

  it('a file with two names is found under the first one listed', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'x1'), 'x');
    linkSync(join(d, 'x1'), join(d, 'x2'));
    linkSync(join(d, 'x1'), join(d, 'x3'));
    writeFileSync(join(d, 'other'), 'o');
    const x = idOf(join(d, 'x1'));
    const firstName = readdirSync(d).find((n) => n.startsWith('x'))!;
    // 'other' is asked too, so the search goes on past the first name of x
    const found = await searchDir(d, new Set([x.dev + ':' + x.ino, '1:2']));
    expect(found.get(x.dev + ':' + x.ino)).toBe(join(d, firstName));
  });

  it('looks at no more than 10 000 entries of a directory', async () => {
    const d = tempDir();
    for (let i = 0; i < 10_001; i++) writeFileSync(join(d, `f${i}`), '');
    const order = readdirSync(d);
    const id = (n: string) => { const x = idOf(join(d, n)); return x.dev + ':' + x.ino; };
    const at10000 = id(order[9_999]!);
    const at10001 = id(order[10_000]!);
    const found = await searchDir(d, new Set([at10000, at10001]));
    expect([...found.keys()]).toEqual([at10000]);
  }, 60_000);
});
