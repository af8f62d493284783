/**
 * The Store contract against a real PostgreSQL (SLUICE_TEST_PG_URL, default
 * the local test database). Every store gets its own fresh schema, dropped
 * afterwards. Without a reachable server the PostgreSQL suites are skipped,
 * loudly; the connection-failure test runs regardless.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { eventInput, ruleInput, storeContract } from '../../../test/contract/store.contract.js';
import { SluiceError } from '../../core/errors.js';
import { POSTGRES_MIGRATIONS } from '../migrations/postgres.js';
import { openStore } from '../open.js';
import type { Store } from '../store.js';
import { migrate, openPostgresStore } from './open.js';
import { PostgresStore } from './store.js';
import { requires } from '../../../test/helpers/requires.js';
import { PG_URL, pgReachable } from '../../../test/helpers/pg.js';

const URL = PG_URL;
const up = await pgReachable();

/** Schemas created by this file; each test's are dropped after it. */
const schemas = new Set<string>();
function freshSchema(): string {
  const s = `sluice_test_${randomBytes(6).toString('hex')}`;
  schemas.add(s);
  return s;
}

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function dropSchemas(): Promise<void> {
  if (schemas.size === 0) return;
  const names = [...schemas];
  schemas.clear();
  await withAdmin(async (c) => {
    for (const s of names) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  });
}

describe.skipIf(!requires('PostgreSQL', up, `nothing answers at ${URL} (set SLUICE_TEST_PG_URL)`))('postgres', () => {
  afterEach(dropSchemas);
  afterAll(dropSchemas);

  storeContract('postgres', async () => openPostgresStore(URL, { schema: freshSchema() }));

  describe('postgres specifics', () => {
    const open: Store[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });
    const track = <S extends Store>(s: S): S => {
      open.push(s);
      return s;
    };

    it('two stores opening the same fresh schema together both migrate, once', async () => {
      for (let round = 0; round < 3; round++) {
        const schema = freshSchema();
        const [a, b] = (await Promise.all([openPostgresStore(URL, { schema }), openPostgresStore(URL, { schema })])).map(track);
        const r = await a!.createRule(ruleInput());
        expect(await b!.getRule(r.id)).toEqual(r);
        const versions = await withAdmin(async (c) => (await c.query(`SELECT version FROM "${schema}".sluice_migrations ORDER BY version`)).rows);
        expect(versions).toEqual(POSTGRES_MIGRATIONS.map((m) => ({ version: m.version })));
      }
    });

    it('keeps data across reopen, does not re-run migrations, and closes its pool', async () => {
      const schema = freshSchema();
      const a = (await openPostgresStore(URL, { schema })) as PostgresStore;
      const r = await a.createRule(ruleInput());
      await a.insertEvents([eventInput({ rule_id: r.id })]);
      await a.close();
      expect(a.pool.ended).toBe(true);
      expect(a.pool.totalCount).toBe(0);
      await a.close(); // idempotent
      const b = track(await openPostgresStore(URL, { schema }));
      expect(await b.getRule(r.id)).toEqual(r);
      expect(await b.countEvents()).toBe(1);
    });

    it('applies only migrations newer than the recorded version; a failing one rolls back', async () => {
      const schema = freshSchema();
      const pool = new pg.Pool({ connectionString: URL, max: 2, options: `-c search_path=${schema}` });
      try {
        expect(await migrate(pool, schema, [{ version: 1, name: 'a', sql: 'CREATE TABLE a(x int)' }])).toBe(1);
        expect(await migrate(pool, schema, [
          { version: 1, name: 'a', sql: 'CREATE TABLE a(x int)' }, // would fail if re-run
          { version: 2, name: 'b', sql: 'CREATE TABLE b(x int)' },
        ])).toBe(2);
        const err = await migrate(pool, schema, [{ version: 3, name: 'bad', sql: 'CREATE TABLE c(x int); CREATE TABLE a(x int)' }]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SluiceError);
        expect((err as SluiceError).message).toMatch(/migration 3 \(bad\)/);
        expect((await pool.query('SELECT max(version) AS v FROM sluice_migrations')).rows[0].v).toBe(2);
        expect((await pool.query("SELECT to_regclass('c') AS t")).rows[0].t).toBeNull();
        // the advisory lock was released (the failed connection was discarded): migrating again works
        expect(await migrate(pool, schema, [{ version: 3, name: 'c', sql: 'CREATE TABLE c(x int)' }])).toBe(3);
      } finally {
        await pool.end();
      }
    });

    it('keeps ids in input order across insert chunks, and NUL bytes do not fail a batch', async () => {
      const s = track(await openPostgresStore(URL, { schema: freshSchema() }));
      const ins = await s.insertEvents(Array.from({ length: 2_500 }, (_, i) => eventInput({ record_seq: i, message: `m${i} \u0000 x` })));
      expect(ins.map((e) => e.record_seq)).toEqual(Array.from({ length: 2_500 }, (_, i) => i));
      for (let i = 1; i < ins.length; i++) expect(ins[i]!.id).toBeGreaterThan(ins[i - 1]!.id);
      const page = await s.queryEvents({ limit: 3 });
      expect(page.events.map((e) => [e.id, e.record_seq])).toEqual(ins.slice(-3).reverse().map((e) => [e.id, e.record_seq]));
      expect(page.events[0]!.message).toBe('m2499 \uFFFD x');
      expect((await s.queryEvents({ q: 'm1234' })).events.map((e) => e.record_seq)).toEqual([1234]);
    });

    it('searches like FTS5: words and numbers split on punctuation and _, case and accents folded', async () => {
      const s = track(await openPostgresStore(URL, { schema: freshSchema() }));
      await s.insertEvents([
        eventInput({ time: 1, message: 'Café ÜBER alles at java.lang.OutOfMemoryError' }),
        eventInput({ time: 2, message: 'user_id=42 failed; retry in 5s' }),
        eventInput({ time: 3, message: 'id user 42' }),
      ]);
      const times = async (q: string) => (await s.queryEvents({ q })).events.map((e) => e.time);
      expect(await times('cafe uber')).toEqual([1]);
      expect(await times('outofmemoryerror LANG')).toEqual([1]);
      expect(await times('user_id')).toEqual([2]); // a phrase: "user" then "id"
      expect(await times('user 42')).toEqual([3, 2]);
      expect(await times('_')).toEqual([]);
      expect(await times('; ')).toEqual([2]); // punctuation only: substring
      expect(await times("'a' & !b | c:*")).toEqual([]); // tsquery syntax is inert
    });
  });
});

describe('openStore kind = "postgres"', () => {
  it('rejects an unreachable server with a SluiceError naming the host, not the password', async () => {
    for (const url of ['postgres://postgres@127.0.0.1:1/x', 'postgres://postgres:hunter2@127.0.0.1:1/x']) {
      const err = await openStore({ kind: 'postgres', url, retention: 1, max_events: 1, max_deliveries: 1, prune_interval: 1 }, '/nonexistent')
        .then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(SluiceError);
      expect((err as SluiceError).code).toBe('SLUICE_ERR_STORE_OPEN');
      expect((err as SluiceError).message).toMatch(/cannot connect to PostgreSQL at postgres@127\.0\.0\.1:1\/x/);
      expect((err as SluiceError).message).toMatch(/ECONNREFUSED/);
      expect((err as SluiceError).message).not.toMatch(/hunter2/);
    }
  });
});
