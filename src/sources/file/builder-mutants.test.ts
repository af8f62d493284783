/**
 * RecordBuilder on its own (found by mutation testing, `npm run mutate`):
 * what it hands the parse stage (runs of lines as shared-memory bytes from
 * regionMinBytes on, else lines as strings), the batch's time and origin,
 * its counters, and its partial and multiline state.
 */
import { describe, expect, it } from 'vitest';
import { fileSourceSchema, type FileSourceInput } from './config.js';
import { newCounters } from './counters.js';
import { fileOrigin, RecordBuilder } from './builder.js';

const cfgOf = (over: Partial<FileSourceInput> = {}) =>
  fileSourceSchema.parse({ name: 'app', type: 'file', format: 'plain', paths: ['/unused'], ...over });

const text = (items: (string | Uint8Array)[]) => items.map((i) => (typeof i === 'string' ? `s:${i}` : `b:${Buffer.from(i).toString()}`));

describe('fileOrigin', () => {
  it('is frozen, and has a link only when one is given', () => {
    const plain = fileOrigin('/var/log/a.log');
    expect(plain).toEqual({ kind: 'file', path: '/var/log/a.log' });
    expect('link' in plain).toBe(false);
    expect(Object.isFrozen(plain)).toBe(true);
    const viaLink = fileOrigin('/pods/a/0.log', '/var/log/containers/a.log');
    expect(viaLink).toEqual({ kind: 'file', path: '/pods/a/0.log', link: '/var/log/containers/a.log' });
    expect(Object.isFrozen(viaLink)).toBe(true);
  });
});

describe('RecordBuilder', () => {
  it('keeps a run of complete lines of at least regionMinBytes as bytes, a shorter one as lines', () => {
    const c = newCounters();
    const b = new RecordBuilder(cfgOf(), fileOrigin('/a.log'), c);
    b.regionMinBytes = 6;
    b.ingest(Buffer.from('ab\ncd\n'), 100, 1); // 6 bytes: exactly the minimum
    expect(text(b.items)).toEqual(['b:ab\ncd\n']);
    expect(b.itemsSize).toBe(6);
    expect(b.outEnd).toBe(106);
    expect(c.lines).toBe(0); // a region's lines are counted where they are split
    b.ingest(Buffer.from('ef\ng\n'), 106, 2); // 5 bytes: split here
    expect(text(b.items)).toEqual(['b:ab\ncd\n', 's:ef', 's:g']);
    expect(b.itemsSize).toBe(9);
    expect(b.outEnd).toBe(111);
    expect(c.lines).toBe(2);
  });

  it('a run of lines after a line completed across reads starts inside the chunk: measured and copied from there', () => {
    const b = new RecordBuilder(cfgOf(), fileOrigin('/a.log'), newCounters());
    b.regionMinBytes = 7;
    b.ingest(Buffer.from('x'), 0, 1);
    b.ingest(Buffer.from('y\nab\ncd\n'), 1, 2); // 'xy', then a 6-byte run at [2, 8) of the chunk
    expect(text(b.items)).toEqual(['s:xy', 's:ab', 's:cd']);
    b.takeItems();
    b.regionMinBytes = 0;
    b.ingest(Buffer.from('z'), 9, 3);
    b.ingest(Buffer.from('w\nef\ngh\n'), 10, 4);
    expect(text(b.items)).toEqual(['s:zw', 'b:ef\ngh\n']);
    expect(b.itemsSize).toBe(8);
    expect(b.outEnd).toBe(18);
  });

  it('copies a region of an ordinary buffer into shared memory, and takes a shared one as it is', () => {
    const b = new RecordBuilder(cfgOf(), fileOrigin('/a.log'), newCounters());
    const plain = Buffer.from('one\ntwo\n');
    b.ingest(plain, 0, 1);
    const copied = b.items[0] as Buffer;
    expect(copied.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(copied.toString()).toBe('one\ntwo\n');
    plain.write('XXX', 0);
    expect(copied.toString()).toBe('one\ntwo\n'); // a copy, not a view
    const shared = Buffer.from(new SharedArrayBuffer(16));
    shared.write('three\nfour\n');
    b.ingest(shared.subarray(0, 11), 8, 2);
    const view = b.items[1] as Buffer;
    expect(view.buffer).toBe(shared.buffer);
    expect(view.toString()).toBe('three\nfour\n');
    expect(b.outEnd).toBe(19);
  });

  it('a batch has the time of its first item and the origin of when it is taken; taking it empties the builder', () => {
    const b = new RecordBuilder(cfgOf(), fileOrigin('/a.log'), newCounters());
    b.regionMinBytes = Infinity;
    b.ingest(Buffer.from('a\n'), 0, 10);
    b.ingest(Buffer.from('b\n'), 2, 20);
    const first = b.takeItems();
    expect(first).toEqual({ items: ['a', 'b'], size: 2, now: 10, origin: { kind: 'file', path: '/a.log' } });
    expect(b.items).toEqual([]);
    expect(b.itemsSize).toBe(0);
    b.origin = fileOrigin('/b.log', '/link.log');
    b.regionMinBytes = 0;
    b.ingest(Buffer.from('cc\n'), 4, 30); // a region first this time
    b.ingest(Buffer.from('d\n'), 7, 40);
    const second = b.takeItems();
    expect(second.now).toBe(30);
    expect(second.size).toBe(5);
    expect(second.origin).toEqual({ kind: 'file', path: '/b.log', link: '/link.log' });
    expect(b.outEnd).toBe(9);
  });

  it('holds an unterminated line until flushPartial, which says whether it emitted one', () => {
    const b = new RecordBuilder(cfgOf(), fileOrigin('/a.log'), newCounters());
    b.ingest(Buffer.from('x\npart'), 0, 1);
    expect(b.pendingBytes).toBe(4);
    expect(b.flushPartial(5)).toBe(true);
    expect(b.pendingBytes).toBe(0);
    expect(b.flushPartial(6)).toBe(false);
    const raw = b.takeItems();
    expect(text(raw.items)).toEqual(['b:x\n', 's:part']);
    expect(b.outEnd).toBe(6);
    // a flushed partial alone: its batch has the flush's time
    b.ingest(Buffer.from('tail'), 6, 7);
    b.flushPartial(8);
    expect(b.takeItems()).toMatchObject({ items: ['tail'], now: 8 });
  });

  it('reset forgets the collected lines and the partial line (the file was truncated)', () => {
    const b = new RecordBuilder(cfgOf(), fileOrigin('/a.log'), newCounters());
    b.ingest(Buffer.from('a\nhalf'), 0, 1);
    b.reset();
    expect(b.items).toEqual([]);
    expect(b.itemsSize).toBe(0);
    expect(b.pendingBytes).toBe(0);
    expect(b.flushPartial(2)).toBe(false);
  });

  it('counts lines, truncated lines and repaired (invalid UTF-8) lines', () => {
    const c = newCounters();
    const b = new RecordBuilder(cfgOf({ max_line_bytes: 8 }), fileOrigin('/a.log'), c);
    b.regionMinBytes = Infinity;
    b.ingest(Buffer.concat([Buffer.from('short\n'), Buffer.from('much too long\n'), Buffer.from([0x61, 0xff, 0x0a])]), 0, 1);
    expect(c).toMatchObject({ lines: 3, truncated: 1, repaired: 1 });
    expect(b.items).toHaveLength(3);
  });

  it('with multiline, lines go through the joiner (never as bytes); it tells the pending lines and the last line\'s time', () => {
    const c = newCounters();
    const b = new RecordBuilder(cfgOf({ multiline: { start: '^\\S' } }), fileOrigin('/a.log'), c);
    expect(b.pendingLines).toBe(0);
    expect(b.lastLineAt).toBe(0);
    expect(b.flushMultiline(1)).toBe(false);
    b.ingest(Buffer.from('E1 boom\n\tat a\nE2 bang\n\tat b\n'), 0, 50);
    expect(text(b.items)).toEqual(['s:E1 boom\n\tat a']);
    expect(b.outEnd).toBe(14);
    expect(b.pendingLines).toBe(2);
    expect(b.lastLineAt).toBe(50);
    expect(c.lines).toBe(4);
    expect(b.flushMultiline(60)).toBe(true);
    expect(b.pendingLines).toBe(0);
    expect(b.takeItems()).toMatchObject({ items: ['E1 boom\n\tat a', 'E2 bang\n\tat b'], size: 26, now: 50 });
    expect(b.outEnd).toBe(28);
    // reset drops a pending record too
    b.ingest(Buffer.from('E3\n\tat c\n'), 28, 70);
    b.reset();
    expect(b.pendingLines).toBe(0);
    expect(b.flushMultiline(80)).toBe(false);
  });

  it('without multiline it has no pending lines and no last-line time', () => {
    const b = new RecordBuilder(cfgOf(), fileOrigin('/a.log'), newCounters());
    b.regionMinBytes = Infinity;
    b.ingest(Buffer.from('a\nb\n'), 0, 9);
    expect(b.pendingLines).toBe(0);
    expect(b.lastLineAt).toBe(0);
    expect(b.flushMultiline(10)).toBe(false);
  });
});
