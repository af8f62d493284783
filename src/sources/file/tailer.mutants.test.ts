/**
 * alignStart at offset 0 (mutation testing): the start of a file is always
 * a line start, whatever its first bytes are.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { alignStart } from './tailer.js';

describe('alignStart at 0', () => {
  it('is 0 even when the file starts with one byte and a newline', async () => {
    const f = path.join(mkdtempSync(path.join(tmpdir(), 'sluice-align-')), 'a.log');
    writeFileSync(f, 'a\nb\n');
    const fh = await open(f, 'r');
    try {
      expect(await alignStart(fh, 0)).toBe(0);
      expect(await alignStart(fh, 1)).toBe(2); // after an idle-flushed "a": its newline is skipped
    } finally {
      await fh.close();
    }
  });
});
