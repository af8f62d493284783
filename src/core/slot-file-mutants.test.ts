/**
 * SlotFile at its edges (mutation testing): which slot load picks (newest
 * generation, the first on a tie, the other when one is torn or unreadable),
 * when it throws, where the next save goes, the generation carried on, and a
 * shorter document truncating the slot it overwrites.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SlotFile } from './slot-file.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-slot-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A slot path in a fresh directory (the directory itself not yet made). */
const fresh = () => path.join(root, `t${n++}`, 'state', 'doc.json');

const read = (p: string) => fs.readFileSync(p, 'utf8');
const json = (p: string) => JSON.parse(read(p)) as Record<string, unknown>;
const write = (p: string, v: unknown) => {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, typeof v === 'string' ? v : JSON.stringify(v));
};
/** The parser load gets: the document as it is, refusing one without `v`. */
const parse = (raw: unknown) => {
  const o = raw as { v?: unknown };
  if (o.v === undefined) throw new Error('no v');
  return o;
};
const loadFrom = (p: string) => {
  const s = new SlotFile(p);
  return { s, doc: s.load(parse) };
};

describe('SlotFile.load', () => {
  it('is undefined when neither slot exists, and keeps the path it was given', () => {
    const p = fresh();
    const s = new SlotFile(p);
    expect(s.path).toBe(p);
    expect(s.load(parse)).toBeUndefined();
  });

  it('picks the slot with the higher generation, whichever file it is in', () => {
    const p = fresh();
    write(p, { v: 'a', gen: 7 });
    write(p + '.b', { v: 'b', gen: 8 });
    expect(loadFrom(p).doc).toEqual({ v: 'b', gen: 8 });
    write(p, { v: 'a', gen: 9 });
    expect(loadFrom(p).doc).toEqual({ v: 'a', gen: 9 });
  });

  it('takes the first slot on a tie, and a slot without a numeric gen counts as generation 0', () => {
    const p = fresh();
    write(p, { v: 'a', gen: 3 });
    write(p + '.b', { v: 'b', gen: 3 });
    expect(loadFrom(p).doc?.v).toBe('a');
    write(p, { v: 'a', gen: '5' }); // not a number: 0, older than 3
    expect(loadFrom(p).doc?.v).toBe('b');
    write(p, { v: 'a' });
    write(p + '.b', { v: 'b', gen: 1 });
    expect(loadFrom(p).doc?.v).toBe('b');
  });

  it('falls back to the other slot when the newer one is torn or refused by the parser', () => {
    const p = fresh();
    write(p, { v: 'old', gen: 1 });
    write(p + '.b', '{"v":"new","gen":2'); // a prefix
    expect(loadFrom(p).doc?.v).toBe('old');
    write(p + '.b', { gen: 2 }); // parses as JSON, refused by parse
    expect(loadFrom(p).doc?.v).toBe('old');
  });

  it('uses a readable slot when the other cannot be read (a directory)', () => {
    const p = fresh();
    fs.mkdirSync(p, { recursive: true });
    write(p + '.b', { v: 'b', gen: 4 });
    expect(loadFrom(p).doc?.v).toBe('b');
  });

  it('throws the first error when slots exist and none is valid', () => {
    const p = fresh();
    write(p, '{"v":');
    write(p + '.b', { gen: 2 });
    expect(() => loadFrom(p)).toThrow(SyntaxError);
    const q = fresh();
    write(q + '.b', { gen: 2 });
    expect(() => loadFrom(q)).toThrow('no v');
    // a read error beside a slot that exists but is invalid: the read error is reported
    const r = fresh();
    fs.mkdirSync(r, { recursive: true });
    write(r + '.b', { gen: 2 });
    expect(() => loadFrom(r)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    // the only slot there cannot be read: not "no checkpoint"
    const u = fresh();
    fs.mkdirSync(u + '.b', { recursive: true });
    expect(() => loadFrom(u)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
  });
});

describe('SlotFile.save', () => {
  it('creates the directory, alternates slots and numbers generations from 1', () => {
    const p = fresh();
    const s = new SlotFile(p);
    s.save({ v: 1 });
    expect(json(p)).toEqual({ v: 1, gen: 1 });
    expect(fs.existsSync(p + '.b')).toBe(false);
    s.save({ v: 2 });
    expect(json(p + '.b')).toEqual({ v: 2, gen: 2 });
    s.save({ v: 3 });
    expect(json(p)).toEqual({ v: 3, gen: 3 });
    expect(json(p + '.b')).toEqual({ v: 2, gen: 2 });
    s.close();
  });

  it('after load, continues the loaded generation in the slot that was not the newest', () => {
    for (const [genA, genB, newest] of [[5, 6, 'b'], [6, 5, 'a']] as const) {
      const p = fresh();
      write(p, { v: 'a', gen: genA });
      write(p + '.b', { v: 'b', gen: genB });
      const { s, doc } = loadFrom(p);
      expect(doc?.v).toBe(newest);
      s.save({ v: 'next' });
      s.close();
      const newestFile = newest === 'a' ? p : p + '.b';
      const other = newest === 'a' ? p + '.b' : p;
      expect(json(newestFile).v).toBe(newest); // never overwritten next
      expect(json(other)).toEqual({ v: 'next', gen: 7 });
      expect(loadFrom(p).doc).toEqual({ v: 'next', gen: 7 });
    }
  });

  it('a shorter document leaves no tail of the longer one it overwrote', () => {
    const p = fresh();
    const s = new SlotFile(p);
    s.save({ v: 'x'.repeat(100) });
    s.save({ v: 'y' });
    s.save({ v: 'z' }); // slot a again, over 100+ bytes
    expect(read(p)).toBe(JSON.stringify({ v: 'z', gen: 3 }));
    s.save({ v: 'w' }); // slot b, same length as before
    s.save({ v: 'q'.repeat(10) }); // slot a, longer than before
    expect(read(p)).toBe(JSON.stringify({ v: 'q'.repeat(10), gen: 5 }));
    s.save({ v: 'r' }); // slot b
    s.save({ v: 's' }); // slot a, shorter than the last write there
    expect(read(p)).toBe(JSON.stringify({ v: 's', gen: 7 }));
    s.close();
  });

  it('close releases both descriptors; a later save reopens the slot from empty', () => {
    const p = fresh();
    const s = new SlotFile(p);
    s.save({ v: 'x'.repeat(50) });
    s.save({ v: 'y'.repeat(50) });
    s.save({ v: 'z'.repeat(50) }); // slot a again: through the descriptor it keeps, not a new one
    const fds = () => fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(path.dirname(p));
      } catch {
        return false;
      }
    }).length;
    expect(fds()).toBe(2);
    s.close();
    expect(fds()).toBe(0);
    s.close(); // twice is harmless
    s.save({ v: 'w' });
    expect(read(p + '.b')).toBe(JSON.stringify({ v: 'w', gen: 4 }));
    expect(fds()).toBe(1);
    s.close();
  });
});
