/** The idempotency key table: window, bound, a torn last line, the rewrite, the file mode. */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IdempotencyStore } from './idempotency.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});
function dir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'sl-idem-'));
  dirs.push(d);
  return d;
}

describe('IdempotencyStore', () => {
  it('remembers answers for the window, across a reopen; forgets them after it', () => {
    const d = dir();
    let now = 1_000_000;
    const s = new IdempotencyStore(d, 'p', 60_000, 100, () => now);
    s.open();
    s.put(IdempotencyStore.hash('k1'), { accepted: 3 });
    expect(s.get(IdempotencyStore.hash('k1'))).toEqual({ accepted: 3 });
    s.close();
    expect(statSync(s.path).mode & 0o777).toBe(0o600);
    expect(readFileSync(s.path, 'utf8')).not.toContain('k1'); // keys are stored hashed
    now += 59_000;
    const s2 = new IdempotencyStore(d, 'p', 60_000, 100, () => now);
    s2.open();
    expect(s2.get(IdempotencyStore.hash('k1'))).toEqual({ accepted: 3 });
    now += 2_000;
    expect(s2.get(IdempotencyStore.hash('k1'))).toBeUndefined();
    s2.close();
    const s3 = new IdempotencyStore(d, 'p', 60_000, 100, () => now);
    s3.open();
    expect(s3.size).toBe(0);
    s3.close();
  });

  it('keeps at most maxKeys, the oldest forgotten first, and the file stays bounded', () => {
    const d = dir();
    let now = 0;
    const s = new IdempotencyStore(d, 'p', 3_600_000, 10, () => ++now);
    s.open();
    for (let i = 0; i < 5000; i++) s.put(IdempotencyStore.hash(`k${i}`), { accepted: i });
    expect(s.size).toBe(10);
    expect(s.get(IdempotencyStore.hash('k4999'))).toEqual({ accepted: 4999 });
    expect(s.get(IdempotencyStore.hash('k4989'))).toBeUndefined();
    s.close();
    expect(readFileSync(s.path, 'utf8').split('\n').length).toBeLessThanOrEqual(1025);
  });

  it('a torn last line (a crash mid-write) is skipped; the rest is read', () => {
    const d = dir();
    const s = new IdempotencyStore(d, 'p', 3_600_000, 100);
    s.open();
    s.put('a'.repeat(64), { accepted: 1 });
    s.close();
    appendFileSync(s.path, '{"k":"bbbb","t":12');
    const s2 = new IdempotencyStore(d, 'p', 3_600_000, 100);
    s2.open();
    expect(s2.skipped).toBe(1);
    expect(s2.get('a'.repeat(64))).toEqual({ accepted: 1 });
    s2.put('c'.repeat(64), { accepted: 2 });
    s2.close();
    const s3 = new IdempotencyStore(d, 'p', 3_600_000, 100);
    s3.open();
    expect(s3.skipped).toBe(0);
    expect(s3.get('c'.repeat(64))).toEqual({ accepted: 2 });
    s3.close();
  });
});
