import fs from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { eventInput, ruleInput, storeContract } from '../../../test/contract/store.contract.js';
import { migrate, openSqliteStore } from './store.js';
import { SQLITE_MIGRATIONS } from '../migrations/sqlite.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-store-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

storeContract('sqlite (memory)', async () => openSqliteStore(':memory:'));
storeContract('sqlite (file, WAL)', async () => openSqliteStore(path.join(dir, `c${n++}.db`)));

describe('sqlite specifics', () => {
  it('uses WAL and records the schema version', async () => {
    const s = openSqliteStore(path.join(dir, 'wal.db'));
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s.db.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.at(-1)!.version);
    await s.close();
  });

  it('creates the database, its -wal and -shm 0600 and its directory 0700, whatever the umask', async () => {
    // SQLite gives -wal and -shm the database file's mode: the explicit 0600 at creation covers all three
    // a worker thread (StrykerJS) cannot set the umask: there the process's own applies (022 from a shell)
    const old = isMainThread ? process.umask(0o022) : process.umask();
    try {
      const file = path.join(dir, 'private', 'db', 'secret.db');
      const s = openSqliteStore(file);
      await s.createRule(ruleInput());
      const modes = Object.fromEntries(['', '-wal', '-shm'].map((x) => [x, fs.statSync(file + x).mode & 0o777]));
      expect(modes).toEqual({ '': 0o600, '-wal': 0o600, '-shm': 0o600 });
      expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
      await s.close();
    } finally {
      if (isMainThread) process.umask(old);
    }
  });

  it('keeps data across reopen and does not re-run migrations', async () => {
    const file = path.join(dir, 'reopen.db');
    const a = openSqliteStore(file);
    const r = await a.createRule(ruleInput());
    await a.insertEvents([eventInput({ rule_id: r.id })]);
    await a.close();
    const b = openSqliteStore(file);
    expect(await b.getRule(r.id)).toEqual(r);
    expect(await b.countEvents()).toBe(1);
    await b.close();
  });

  it('applies only migrations newer than user_version', () => {
    const db = new Database(':memory:');
    expect(migrate(db, [{ version: 1, name: 'a', sql: 'CREATE TABLE a(x)' }])).toBe(1);
    expect(migrate(db, [
      { version: 1, name: 'a', sql: 'CREATE TABLE a(x)' }, // would fail if re-run
      { version: 2, name: 'b', sql: 'CREATE TABLE b(x)' },
    ])).toBe(2);
    // a failing migration rolls back and leaves the version untouched
    expect(() => migrate(db, [{ version: 3, name: 'bad', sql: 'CREATE TABLE c(x); CREATE TABLE a(x)' }])).toThrow();
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'c'").get()).toEqual({ n: 0 });
    db.close();
  });
});
