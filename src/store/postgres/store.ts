/**
 * The shared Store: PostgreSQL through a small `pg.Pool` (opened and migrated
 * by open.ts). Same semantics as the SQLite store (see ../store.ts), with
 * PostgreSQL's own means:
 * - rule writes are serialized by a transaction advisory lock (SQLite gets the
 *   same from its single writer), taken shared by rule-state saves so a rule
 *   deleted meanwhile is skipped rather than failing the batch;
 * - a batch of events is one INSERT ... SELECT FROM unnest(...) per chunk, in
 *   one transaction (./event-rows.ts); full-text search uses a tsvector column
 *   behind a GIN index (tokenized like FTS5, see ./search.ts);
 * - flood state shared by every process of the store is locked, decided and
 *   written with the events (./flood.ts);
 * - every statement is parameterized; the only identifier ever spliced into
 *   SQL is the optional schema name, validated against a strict pattern.
 */
import type pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { SluiceError } from '../../core/errors.js';
import { patchedRule, patchedTrigger } from '../patch.js';
import { STORE_ERR } from '../errors.js';
import { decodeCursor, encodeCursor } from '../sqlite/rows.js';
import type { Store } from '../store.js';
import type {
  Delivery, EventPage, EventQuery, FloodCandidate, FloodDecision, FloodState, NewDelivery, NewEvent, PruneLimits, Rule, RuleInput, RulePatch,
  RuleStateRow, SluiceEvent, Trigger, TriggerInput, TriggerPatch,
} from '../types.js';
import { noNul, rowToDelivery, rowToEvent, rowToRule, rowToTrigger, type Row } from './rows.js';
import { insertEventRows, storedRepeats } from './event-rows.js';
import { lockFloodState, upsertRuleState, writeFloodState } from './flood.js';
import { tsQuery } from './search.js';

const PRUNE_CHUNK = 5_000;
const MAX_PAGE = 1_000;

/** First key of the two-int advisory locks (the second is a hash of the schema; open.ts takes 0x51c1_0001 to migrate). */
const LOCK_RULES = 0x51c1_0002;


export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly pool: pg.Pool;
  #closed = false;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async #rows(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query<QueryResultRow>(sql, params)).rows;
  }

  /** Run `fn` in a transaction on one pooled connection. */
  async #tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let out: T;
    try {
      await c.query('BEGIN');
      out = await fn(c);
      await c.query('COMMIT');
    } catch (err) {
      try {
        await c.query('ROLLBACK');
        c.release();
      } catch {
        c.release(true);
      }
      throw mapPgError(err);
    }
    c.release();
    return out;
  }

  // ---- rules ---------------------------------------------------------------

  async listRules(): Promise<Rule[]> {
    return (await this.#rows('SELECT * FROM rules ORDER BY id')).map(rowToRule);
  }

  async getRule(id: number): Promise<Rule | undefined> {
    if (!isId(id)) return undefined;
    const r = (await this.#rows('SELECT * FROM rules WHERE id = $1', [id]))[0];
    return r ? rowToRule(r) : undefined;
  }

  /** Serialize rule writes (all Sluice processes on this schema). */
  async #lockRules(c: PoolClient, shared = false): Promise<void> {
    const fn = shared ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
    await c.query(`SELECT ${fn}($1, hashtext(current_schema()))`, [LOCK_RULES]);
  }

  /** Scope rules shared by create and update (see types.ts Rule). */
  async #checkScope(c: PoolClient, rule: RuleInput, selfId?: number): Promise<void> {
    if (rule.overrides === null) return;
    if (rule.source === null) {
      throw new SluiceError(STORE_ERR.RULE_SCOPE, 'an override needs a source: it overrides a global rule for one source');
    }
    if (rule.overrides === selfId) throw new SluiceError(STORE_ERR.RULE_SCOPE, 'a rule cannot override itself');
    const target = isId(rule.overrides)
      ? (await c.query<Row>('SELECT source FROM rules WHERE id = $1', [rule.overrides])).rows[0]
      : undefined;
    if (!target) throw new SluiceError(STORE_ERR.RULE_SCOPE, `overrides: no rule ${rule.overrides}`);
    if (target.source !== null) throw new SluiceError(STORE_ERR.RULE_SCOPE, `overrides: rule ${rule.overrides} is not a global rule`);
    const dup = (await c.query<Row>('SELECT id FROM rules WHERE overrides = $1 AND source = $2', [rule.overrides, rule.source])).rows[0];
    if (dup && dup.id !== selfId) {
      throw new SluiceError(STORE_ERR.RULE_CONFLICT, `source "${rule.source}" already overrides rule ${rule.overrides} (rule ${dup.id as number})`);
    }
  }

  async createRule(input: RuleInput): Promise<Rule> {
    return this.#tx(async (c) => {
      await this.#lockRules(c);
      await this.#checkScope(c, input);
      const now = Date.now();
      const { rows } = await c.query<Row>(
        `INSERT INTO rules (name, pattern, severity, source, overrides, std, cooldown_s, enabled, created, updated)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
        [input.name, input.pattern, input.severity, input.source, input.overrides, input.std, input.cooldown_s, input.enabled, now, now],
      );
      return rowToRule(rows[0]!);
    });
  }

  async updateRule(id: number, patch: RulePatch): Promise<Rule> {
    return this.#tx(async (c) => {
      await this.#lockRules(c);
      const cur = isId(id) ? (await c.query<Row>('SELECT * FROM rules WHERE id = $1 FOR UPDATE', [id])).rows[0] : undefined;
      if (!cur) throw new SluiceError(STORE_ERR.RULE_NOT_FOUND, `no rule ${id}`);
      const prev = rowToRule(cur);
      const next = patchedRule(prev, patch);
      await this.#checkScope(c, next, id);
      // A global that becomes scoped would orphan its overrides' meaning.
      if (prev.source === null && next.source !== null && (await c.query('SELECT 1 FROM rules WHERE overrides = $1 LIMIT 1', [id])).rowCount) {
        throw new SluiceError(STORE_ERR.RULE_SCOPE, `rule ${id} has per-source overrides; delete them before scoping it to a source`);
      }
      const { rows } = await c.query<Row>(
        `UPDATE rules SET name=$2, pattern=$3, severity=$4, source=$5, overrides=$6, std=$7, cooldown_s=$8, enabled=$9, updated=$10
         WHERE id=$1 RETURNING *`,
        [id, next.name, next.pattern, next.severity, next.source, next.overrides, next.std, next.cooldown_s, next.enabled, next.updated],
      );
      return rowToRule(rows[0]!);
    });
  }

  async deleteRule(id: number): Promise<number[]> {
    return this.#tx(async (c) => {
      await this.#lockRules(c);
      if (!isId(id) || !(await c.query('SELECT 1 FROM rules WHERE id = $1', [id])).rowCount) {
        throw new SluiceError(STORE_ERR.RULE_NOT_FOUND, `no rule ${id}`);
      }
      const overrides = (await c.query<Row>('SELECT id FROM rules WHERE overrides = $1 ORDER BY id', [id])).rows;
      const ids = [id, ...overrides.map((r) => r.id as number)];
      // Explicit rather than relying on ON DELETE CASCADE alone, like the SQLite store.
      await c.query('DELETE FROM rule_state WHERE rule_id = ANY($1::bigint[])', [ids]);
      await c.query('DELETE FROM rules WHERE id = ANY($1::bigint[])', [ids]);
      return ids;
    });
  }

  // ---- triggers ------------------------------------------------------------

  async listTriggers(): Promise<Trigger[]> {
    return (await this.#rows('SELECT * FROM triggers ORDER BY id')).map(rowToTrigger);
  }

  async getTrigger(id: number): Promise<Trigger | undefined> {
    if (!isId(id)) return undefined;
    const r = (await this.#rows('SELECT * FROM triggers WHERE id = $1', [id]))[0];
    return r ? rowToTrigger(r) : undefined;
  }

  async createTrigger(input: TriggerInput): Promise<Trigger> {
    const now = Date.now();
    const rows = await this.#rows(
      `INSERT INTO triggers (name, url, secret, filter, enabled, created, updated)
       VALUES ($1, $2, $3, $4::json, $5, $6, $7) RETURNING *`,
      [input.name, input.url, input.secret, JSON.stringify(input.filter), input.enabled, now, now],
    );
    return rowToTrigger(rows[0]!);
  }

  async updateTrigger(id: number, patch: TriggerPatch): Promise<Trigger> {
    return this.#tx(async (c) => {
      const cur = isId(id) ? (await c.query<Row>('SELECT * FROM triggers WHERE id = $1 FOR UPDATE', [id])).rows[0] : undefined;
      if (!cur) throw new SluiceError(STORE_ERR.TRIGGER_NOT_FOUND, `no trigger ${id}`);
      const prev = rowToTrigger(cur);
      const next = patchedTrigger(prev, patch);
      const { rows } = await c.query<Row>(
        'UPDATE triggers SET name=$2, url=$3, secret=$4, filter=$5::json, enabled=$6, updated=$7 WHERE id=$1 RETURNING *',
        [id, next.name, next.url, next.secret, JSON.stringify(next.filter), next.enabled, next.updated],
      );
      return rowToTrigger(rows[0]!);
    });
  }

  async deleteTrigger(id: number): Promise<void> {
    const res = isId(id) ? await this.pool.query('DELETE FROM triggers WHERE id = $1', [id]) : undefined;
    if (!res?.rowCount) throw new SluiceError(STORE_ERR.TRIGGER_NOT_FOUND, `no trigger ${id}`);
  }

  // ---- events --------------------------------------------------------------

  async insertEvents(events: NewEvent[]): Promise<SluiceEvent[]> {
    if (events.length === 0) return [];
    return this.#tx((c) => insertEventRows(c, events));
  }

  async insertEventsShared(
    events: NewEvent[], cands: FloodCandidate[], decide: (s: FloodState) => FloodDecision,
  ): Promise<{ stored: SluiceEvent[]; repeats: SluiceEvent[]; state: FloodState; decision: FloodDecision }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#tx(async (c) => {
          // Shared: a rule deleted meanwhile is skipped (as saveRuleState), never an FK error.
          await this.#lockRules(c, true);
          const state = await lockFloodState(c, cands);
          const repeats = await storedRepeats(c, events, state.repeated);
          const decision = decide(state);
          await writeFloodState(c, decision);
          const fired = events.filter((_, i) => decision.fire[i]);
          const stored = fired.length > 0 ? await insertEventRows(c, fired) : [];
          return { stored, repeats, state, decision };
        });
      } catch (err) {
        // a deadlock is possible only on hash collisions of the instance locks (flood.ts)
        if ((err as { code?: unknown }).code !== '40P01' || attempt >= 3) throw err;
      }
    }
  }

  async queryEvents(q: EventQuery): Promise<EventPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => `$${params.push(v)}`;
    if (q.before !== undefined) where.push(`e.id < ${p(decodeCursor(q.before))}`);
    if (q.severity && q.severity.length > 0) where.push(`e.severity = ANY(${p(q.severity)}::text[])`);
    if (q.source && q.source.length > 0) where.push(`e.source = ANY(${p(q.source)}::text[])`);
    if (q.rule_id !== undefined) where.push(isId(q.rule_id) ? `e.rule_id = ${p(q.rule_id)}` : 'FALSE');
    // `time` holds integers: time >= x <=> time >= ceil(x), time < x <=> time < ceil(x).
    if (q.since !== undefined) where.push(`e.time >= ${p(Math.ceil(q.since))}`);
    if (q.until !== undefined) where.push(`e.time < ${p(Math.ceil(q.until))}`);
    if (q.q !== undefined && q.q.trim() !== '') {
      const ts = tsQuery(q.q);
      if (ts === undefined) {
        // Only punctuation (e.g. "->" or "!!"): no token for it, use a substring test.
        where.push(`strpos(e.message, ${p(noNul(q.q.trim()))}) > 0`);
      } else if (ts === null) {
        where.push('FALSE');
      } else {
        where.push(`e.search @@ to_tsquery('simple', ${p(ts)})`);
      }
    }
    const limit = Math.min(Math.max(1, Math.floor(q.limit ?? 100)), MAX_PAGE);
    const sql = `SELECT e.id, e.time, e.severity, e.source, e.rule_id, e.rule_name, e.message, e.captures, e.record_seq, e.origin
      FROM events e${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY e.id DESC LIMIT ${p(limit + 1)}`;
    const rows = await this.#rows(sql, params);
    const more = rows.length > limit;
    const events = (more ? rows.slice(0, limit) : rows).map(rowToEvent);
    return { events, next: more ? encodeCursor(events[events.length - 1]!.id) : null };
  }

  async countEvents(): Promise<number> {
    return (await this.#rows('SELECT count(*) AS n FROM events'))[0]!.n as number;
  }

  async pruneEvents(limits: PruneLimits): Promise<number> {
    return this.#prune(limits, 'events');
  }

  /** Oldest first, in chunks so a large pass never holds locks for long. */
  async #prune(limits: PruneLimits, table: 'events' | 'deliveries'): Promise<number> {
    let total = 0;
    const chunked = async (sql: string, param: number) => {
      for (;;) {
        const n = (await this.pool.query(sql, [param])).rowCount ?? 0;
        total += n;
        if (n < PRUNE_CHUNK) break;
      }
    };
    if (limits.olderThan !== undefined) {
      await chunked(
        `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE time < $1 ORDER BY id LIMIT ${PRUNE_CHUNK})`,
        Math.ceil(limits.olderThan),
      );
    }
    if (limits.maxCount !== undefined) {
      // The newest row beyond the limit, and everything older, goes.
      const offset = Math.max(0, Math.floor(limits.maxCount));
      const edge = (await this.#rows(`SELECT id FROM ${table} ORDER BY id DESC LIMIT 1 OFFSET $1`, [offset]))[0];
      if (edge) {
        await chunked(
          `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE id <= $1 ORDER BY id LIMIT ${PRUNE_CHUNK})`,
          edge.id as number,
        );
      }
    }
    return total;
  }

  // ---- deliveries ----------------------------------------------------------

  async insertDelivery(d: NewDelivery): Promise<Delivery> {
    const rows = await this.#rows(
      `INSERT INTO deliveries (trigger_id, delivery_id, event_id, result, status, latency_ms, attempts, error, response_snippet, test, time)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
      [
        d.trigger_id, noNul(d.delivery_id), d.event_id, d.result, d.status, d.latency_ms, d.attempts,
        d.error === null ? null : noNul(d.error), d.response_snippet === null ? null : noNul(d.response_snippet), d.test, d.time,
      ],
    );
    return rowToDelivery(rows[0]!);
  }

  async listDeliveries(triggerId: number, limit = 100): Promise<Delivery[]> {
    if (!isId(triggerId)) return [];
    const n = Math.min(Math.max(1, Math.floor(Number.isFinite(limit) ? limit : 100)), MAX_PAGE);
    return (await this.#rows('SELECT * FROM deliveries WHERE trigger_id = $1 ORDER BY id DESC LIMIT $2', [triggerId, n])).map(rowToDelivery);
  }

  async deliveredOk(deliveryId: string): Promise<boolean> {
    return (await this.#rows("SELECT 1 AS x FROM deliveries WHERE delivery_id = $1 AND result = 'ok' LIMIT 1", [noNul(deliveryId)])).length > 0;
  }

  async pruneDeliveries(limits: PruneLimits): Promise<number> {
    return this.#prune(limits, 'deliveries');
  }

  // ---- rule state ----------------------------------------------------------

  async loadRuleState(): Promise<RuleStateRow[]> {
    const rows = await this.#rows('SELECT rule_id, instance, last_fired FROM rule_state ORDER BY rule_id, instance COLLATE "C"');
    return rows as unknown as RuleStateRow[];
  }

  async saveRuleState(rows: RuleStateRow[]): Promise<void> {
    if (rows.length === 0) return;
    // One upsert may not touch a row twice: the last value for a key wins, as with SQLite's row-by-row upserts.
    const last = new Map<string, RuleStateRow>();
    for (const r of rows) last.set(`${r.rule_id}\u0000${r.instance}`, r);
    const uniq = [...last.values()];
    await this.#tx(async (c) => {
      // Shared: rule deletes wait for this and vice versa, so a deleted rule is skipped, never an FK error.
      await this.#lockRules(c, true);
      await upsertRuleState(c, uniq);
    });
  }

  async pruneRuleState(before: number, bucketsBefore?: number): Promise<number> {
    let n = (await this.pool.query('DELETE FROM rule_state WHERE last_fired < $1', [Math.ceil(before)])).rowCount ?? 0;
    if (bucketsBefore !== undefined) n += (await this.pool.query('DELETE FROM flood_buckets WHERE last < $1', [Math.floor(bucketsBefore)])).rowCount ?? 0;
    return n;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end();
  }
}

// ---- helpers ---------------------------------------------------------------

function isId(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n);
}

/** Constraint races the checks above cannot see map to the same errors. */
function mapPgError(err: unknown): unknown {
  if (err instanceof SluiceError || !(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  if (code === '23505' && /rules_one_override/.test(err.message)) {
    return new SluiceError(STORE_ERR.RULE_CONFLICT, 'that source already overrides this rule');
  }
  if (code === '23503' && /overrides/.test(err.message)) return new SluiceError(STORE_ERR.RULE_SCOPE, 'overrides: the global rule is gone');
  return err;
}
