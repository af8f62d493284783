/**
 * parseCheckpoint on a null entry (mutation testing): refused as a bad
 * "files" (or "last") with that reason, not with a TypeError's message.
 */
import { describe, expect, it } from 'vitest';
import { parseCheckpoint } from './checkpoint.js';

describe('parseCheckpoint null entries', () => {
  it('a null file entry is a bad "files"; a null last is no last', () => {
    expect(() => parseCheckpoint({ version: 1, files: [null], last: null })).toThrow(/^bad "files"$/);
    expect(() => parseCheckpoint('{"version":1,"files":[null]}')).toThrow(/^bad "files"$/);
    expect(parseCheckpoint({ version: 1, files: [], last: null }).last).toBeNull();
  });
});
