/**
 * parseCheckpoint, field by field: a checkpoint is trusted only when every
 * entry and the last batch are whole and sane (a wrong offset or seq range
 * would skip or repeat records at restart).
 */
import { describe, expect, it } from 'vitest';
import { parseCheckpoint } from './checkpoint.js';

const entry = { key: '1:2:10-0123456789abcdef', path: '/x.log', offset: 10 };
const last = { key: '1:2:10-0123456789abcdef', path: '/x.log', from: 0, to: 10, seqFirst: 1, seqLast: 2 };
const doc = (over: Record<string, unknown>) => ({ version: 1, files: [entry], last, ...over });

describe('parseCheckpoint', () => {
  it('accepts a whole document, from text or an object; last may be null or absent; link is optional', () => {
    expect(parseCheckpoint(JSON.stringify(doc({})))).toEqual({ version: 1, files: [entry], last });
    expect(parseCheckpoint(doc({ last: null })).last).toBeNull();
    const { last: _l, ...noLast } = doc({});
    expect(parseCheckpoint(noLast).last).toBeNull();
    expect(parseCheckpoint(doc({ files: [{ ...entry, link: '/l.log' }], last: { ...last, link: '/l.log' } }))).toMatchObject({ files: [{ link: '/l.log' }], last: { link: '/l.log' } });
    expect(parseCheckpoint(doc({ files: [] })).files).toEqual([]);
    // the edges that are still valid: offset 0, an empty range, an empty seq range (seqLast = seqFirst - 1)
    expect(parseCheckpoint(doc({ files: [{ ...entry, offset: 0 }], last: { ...last, from: 5, to: 5, seqFirst: 3, seqLast: 2 } })).last).toMatchObject({ from: 5, to: 5 });
  });

  it('refuses what is not an object, or another version', () => {
    expect(() => parseCheckpoint('null')).toThrow('not an object');
    expect(() => parseCheckpoint('7')).toThrow('not an object');
    expect(() => parseCheckpoint(doc({ version: 2 }))).toThrow('unsupported version 2');
    expect(() => parseCheckpoint(doc({ version: '1' }))).toThrow('unsupported version 1');
  });

  it('refuses files that are not a list of whole entries', () => {
    const bad: unknown[] = [
      undefined, {}, 'x',
      [null], ['x'],
      [{ ...entry, key: '' }], [{ ...entry, key: 5 }],
      [{ ...entry, path: '' }], [{ ...entry, path: undefined }],
      [{ ...entry, link: '' }], [{ ...entry, link: 3 }],
      [{ ...entry, offset: -1 }], [{ ...entry, offset: 1.5 }], [{ ...entry, offset: '10' }], [{ ...entry, offset: 2 ** 53 }],
      [entry, { ...entry, offset: -1 }],
    ];
    for (const files of bad) expect(() => parseCheckpoint(doc({ files })), JSON.stringify(files)).toThrow('bad "files"');
  });

  it('refuses a last batch that is not whole or not a forward range', () => {
    const bad: unknown[] = [
      'x', 5,
      { ...last, key: '' }, { ...last, path: '' }, { ...last, link: '' }, { ...last, link: 1 },
      { ...last, from: -1 }, { ...last, to: 1.5 }, { ...last, from: 11 },
      { ...last, seqFirst: -1 }, { ...last, seqLast: '2' }, { ...last, seqFirst: 4, seqLast: 2 },
      { ...last, key: undefined }, { ...last, path: undefined }, { ...last, from: undefined }, { ...last, to: undefined }, { ...last, seqFirst: undefined }, { ...last, seqLast: undefined },
    ];
    for (const l of bad) expect(() => parseCheckpoint(doc({ last: l })), JSON.stringify(l)).toThrow('bad "last"');
  });
});
