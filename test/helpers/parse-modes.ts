/**
 * Run a file-source suite twice: lines parsed on the main thread, and by a
 * real parse pool's worker threads. `parseModes.pool` is the pool of the
 * current run (undefined inline); after the pool run, the pool must have
 * done work and never failed (a failing worker would otherwise only show as
 * main-thread fallbacks, and every test would still pass).
 */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { ParsePool } from '../../src/parse/pool.js';

export const parseModes: { pool: ParsePool | undefined } = { pool: undefined };

export function describeParseModes(body: () => void): void {
  describe.each(['inline', 'parse pool'] as const)('%s', (mode) => {
    beforeAll(() => {
      parseModes.pool = mode === 'parse pool' ? new ParsePool(2) : undefined;
    });
    afterAll(async () => {
      const pool = parseModes.pool;
      parseModes.pool = undefined;
      if (!pool) return;
      const st = pool.status();
      await pool.close();
      expect(st.failures).toBe(0);
      expect(st.jobs).toBeGreaterThan(0);
    });
    body();
  });
}
