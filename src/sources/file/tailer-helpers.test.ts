/**
 * The tailer's identity helpers on real files: the fingerprint's form, the
 * checkpoint key's parse, a fingerprint checked against a file's first
 * bytes, and where a fresh splitter may start after an idle-flushed line.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alignStart, fingerprintMatches, fingerprintOf, parseKey } from './tailer.js';

async function withFile(content: string, f: (fh: Awaited<ReturnType<typeof open>>) => Promise<void>): Promise<void> {
  const p = join(mkdtempSync(join(tmpdir(), 'sluice-tailer-')), 'f.log');
  writeFileSync(p, content);
  const fh = await open(p, 'r');
  try {
    await f(fh);
  } finally {
    await fh.close();
  }
}

describe('fingerprintOf', () => {
  it('is the length, a dash and the first 16 hex digits of the SHA-256 of the bytes', () => {
    const head = Buffer.from('hello world\n');
    expect(fingerprintOf(head)).toBe(`12-${createHash('sha256').update(head).digest('hex').slice(0, 16)}`);
    expect(fingerprintOf(Buffer.alloc(0))).toMatch(/^0-[0-9a-f]{16}$/);
  });
});

describe('parseKey', () => {
  it('splits dev:ino:len-hash', () => {
    expect(parseKey('2049:131:256-0123456789abcdef')).toEqual({ dev: '2049', ino: '131', id: '2049:131', fp: '256-0123456789abcdef', fpLen: 256 });
  });

  it('is undefined for anything malformed', () => {
    for (const k of ['', '2049:131', '2049:131:256-0123456789abcde', '2049:131:256-0123456789abcdeg', '2049:131:256-0123456789ABCDEF', 'a:131:256-0123456789abcdef', '2049:131:256-0123456789abcdef0', 'x2049:131:256-0123456789abcdef', '2049:131:-0123456789abcdef']) {
      expect(parseKey(k), k).toBeUndefined();
    }
  });
});

describe('fingerprintMatches', () => {
  it('true only when the file starts with exactly the fingerprinted bytes', async () => {
    await withFile('first line\nsecond\n', async (fh) => {
      expect(await fingerprintMatches(fh, fingerprintOf(Buffer.from('first line\n')))).toBe(true);
      expect(await fingerprintMatches(fh, fingerprintOf(Buffer.from('first line\nsecond\n')))).toBe(true);
      expect(await fingerprintMatches(fh, fingerprintOf(Buffer.from('first lime\n')))).toBe(false);
      // more bytes fingerprinted than the file has: not the same file
      expect(await fingerprintMatches(fh, fingerprintOf(Buffer.from('first line\nsecond\nthird\n')))).toBe(false);
    });
  });
});

describe('alignStart', () => {
  it('0 stays 0; after a newline the position stands; after an idle-flushed partial line its newline is skipped', async () => {
    await withFile('ab\ncd\nef', async (fh) => {
      expect(await alignStart(fh, 0)).toBe(0);
      expect(await alignStart(fh, 3)).toBe(3); // 'c' follows '\n'
      expect(await alignStart(fh, 2)).toBe(3); // 'ab' was flushed whole: its '\n' is skipped
      expect(await alignStart(fh, 1)).toBe(1); // inside a line, no '\n' there
      expect(await alignStart(fh, 8)).toBe(8); // at the end: nothing to look at
      expect(await alignStart(fh, 7)).toBe(7);
    });
    await withFile('\n\nx', async (fh) => {
      expect(await alignStart(fh, 1)).toBe(1); // an empty line: '\n' then '\n'
    });
  });
});
