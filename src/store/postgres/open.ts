/**
 * Opening the PostgreSQL store: the pool (BIGINT as numbers, `search_path`
 * for a schema), versioned migrations in `sluice_migrations`, each in a
 * transaction, under a session advisory lock keyed by the schema, so two
 * Sluice processes starting together neither race nor apply a migration
 * twice; and error messages that name the server but never its password.
 */
import pg from 'pg';
import { SluiceError } from '../../core/errors.js';
import { STORE_ERR } from '../errors.js';
import { POSTGRES_MIGRATIONS, type Migration } from '../migrations/postgres.js';
import type { Store } from '../store.js';
import { PostgresStore } from './store.js';

const POOL_MAX = 4;
/** First key of the migration's advisory lock (store.ts takes 0x51c1_0002 for rule writes). */
const LOCK_MIGRATE = 0x51c1_0001;
/** Schema names accepted by `opts.schema`: unquoted, lower-case identifiers only. */
const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

const INT8_OID = 20;
/** BIGINT as a JS number (ids and epoch ms stay far below 2^53), like the SQLite rows. */
const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export interface PostgresStoreOptions {
  /** A schema to keep Sluice's tables in (created if missing); default: the connection's current schema. */
  schema?: string;
}

/**
 * Apply pending migrations (exported for tests of the upgrade path). Returns the
 * schema version reached. Holds a session advisory lock for the whole pass.
 */
export async function migrate(
  pool: pg.Pool,
  schema?: string,
  migrations: readonly Migration[] = POSTGRES_MIGRATIONS,
): Promise<number> {
  const client = await pool.connect();
  try {
    const target: string | null = schema ?? ((await client.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0]?.s ?? null);
    if (target === null) {
      throw new SluiceError(STORE_ERR.OPEN_FAILED, 'the connection has no current schema to create tables in (check search_path)');
    }
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_MIGRATE, target]);
    if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS sluice_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)',
    );
    let current = (await client.query<{ v: number }>('SELECT coalesce(max(version), 0)::int AS v FROM sluice_migrations')).rows[0]!.v;
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO sluice_migrations (version, name, applied) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new SluiceError(STORE_ERR.OPEN_FAILED, `PostgreSQL migration ${m.version} (${m.name}) failed: ${errText(err)}`);
      }
      current = m.version;
    }
    await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_MIGRATE, target]);
    client.release();
    return current;
  } catch (err) {
    // Destroying the connection also drops a session lock still held.
    client.release(true);
    throw err;
  }
}

/** Open a PostgreSQL store at `url` (postgres://user[:password]@host[:port]/db), migrating it. */
export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<Store> {
  const { schema } = opts;
  const where = describeUrl(url);
  if (schema !== undefined && !SCHEMA_RE.test(schema)) {
    throw new SluiceError(STORE_ERR.OPEN_FAILED, `invalid PostgreSQL schema name "${schema}" (lower-case letters, digits and _)`);
  }
  let pool: pg.Pool;
  try {
    pool = new pg.Pool({
      ...withSearchPath(url, schema),
      max: POOL_MAX,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 10_000,
      types: PG_TYPES,
      application_name: 'sluice',
    });
  } catch (err) {
    throw new SluiceError(STORE_ERR.OPEN_FAILED, `cannot open the PostgreSQL store at ${where}: ${redact(errText(err), url)}`);
  }
  // An idle connection lost (server restart, network): the pool drops it and the next query reconnects.
  pool.on('error', () => {});
  try {
    await migrate(pool, schema);
    return new PostgresStore(pool);
  } catch (err) {
    await pool.end().catch(() => {});
    if (err instanceof SluiceError) throw new SluiceError(STORE_ERR.OPEN_FAILED, `${where}: ${redact(err.message, url)}`);
    // A server-side error (it answered: auth, permissions, SQL) versus no answer at all (network, DNS, timeout).
    const what = err instanceof pg.DatabaseError ? 'cannot open the PostgreSQL store at' : 'cannot connect to PostgreSQL at';
    throw new SluiceError(STORE_ERR.OPEN_FAILED, `${what} ${where}: ${redact(errText(err), url)}`);
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}


/** Pool settings for `url`, with `search_path` set at connection start when a schema is given. */
function withSearchPath(url: string, schema: string | undefined): { connectionString: string; options?: string } {
  if (schema === undefined) return { connectionString: url };
  const opt = `-c search_path=${schema}`;
  try {
    const u = new URL(url);
    const existing = u.searchParams.get('options');
    // pg lets URL parameters win over the config object: merge into the URL when it has its own.
    if (existing !== null) {
      u.searchParams.set('options', `${existing} ${opt}`);
      return { connectionString: u.toString() };
    }
  } catch {
    // not a WHATWG URL (pg accepts a few more forms): keep it as given
  }
  return { connectionString: url, options: opt };
}

/** `user@host:port/db` of a postgres URL, never its password. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `${user}${host}:${u.port || '5432'}${u.pathname || ''}`;
  } catch {
    return 'an unparsable postgres URL';
  }
}

function redact(text: string, url: string): string {
  let out = url ? text.split(url).join(describeUrl(url)) : text;
  try {
    const pw = new URL(url).password;
    if (pw) for (const s of new Set([pw, decodeURIComponent(pw)])) out = out.split(s).join('****');
  } catch {
    // no password to hide that we can find
  }
  return out;
}

export function errText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return [...new Set(err.errors.map((e) => errText(e)))].join('; ');
  }
  if (err instanceof Error) return err.message || (err as { code?: string }).code || err.name;
  return String(err);
}
