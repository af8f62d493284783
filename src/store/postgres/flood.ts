/**
 * Flood state in the PostgreSQL store (rule_state: cooldowns; flood_buckets:
 * token buckets), shared by every process of the store. `lockFloodState`
 * takes one advisory lock per source instance (in one order for every
 * process: a deadlock needs two instances whose hashes collide, and is
 * retried by the caller) and reads the candidates' rows; `writeFloodState`
 * writes what rules/flood.ts `arbitrate` decided on them.
 */
import type { PoolClient } from 'pg';
import type { BucketRow, FloodCandidate, FloodDecision, FloodState, RuleStateRow } from '../types.js';
import { noNul } from './rows.js';

/** Lock the candidates' instances and read their cooldown and bucket rows (`repeated` left for the caller to fill). */
export async function lockFloodState(c: PoolClient, cands: FloodCandidate[]): Promise<FloodState> {
  const instances = [...new Set(cands.map((k) => noNul(k.instance)))].sort();
  // a 64-bit key: the schema's hash and the instance's
  await c.query(
    `SELECT pg_advisory_xact_lock((hashtext(current_schema())::bigint << 32) | (hashtext(s.i)::bigint & 4294967295))
     FROM (SELECT i FROM unnest($1::text[]) AS i ORDER BY i COLLATE "C") s`,
    [instances],
  );
  const cooldowns = await c.query<RuleStateRow>(
    `SELECT rule_id, instance, last_fired FROM rule_state
     WHERE (rule_id, instance) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))`,
    [cands.map((k) => k.rule_id), cands.map((k) => noNul(k.instance))],
  );
  const buckets = await c.query<BucketRow>('SELECT instance, tokens, last FROM flood_buckets WHERE instance = ANY($1::text[])', [instances]);
  return { cooldowns: cooldowns.rows, buckets: buckets.rows, repeated: [] };
}

/** The cooldowns started and the buckets taken from. */
export async function writeFloodState(c: PoolClient, d: FloodDecision): Promise<void> {
  if (d.cooldowns.length > 0) await upsertRuleState(c, d.cooldowns);
  if (d.buckets.length === 0) return;
  const b = d.buckets;
  await c.query(
    `INSERT INTO flood_buckets (instance, tokens, last)
     SELECT * FROM unnest($1::text[], $2::float8[], $3::bigint[])
     ON CONFLICT (instance) DO UPDATE SET tokens = excluded.tokens, last = excluded.last`,
    [b.map((r) => noNul(r.instance)), b.map((r) => r.tokens), b.map((r) => r.last)],
  );
}

/** Rows (one per key) -> rule_state; a row of a rule deleted meanwhile is skipped (the caller holds the rules lock shared). */
export async function upsertRuleState(c: PoolClient, rows: RuleStateRow[]): Promise<void> {
  await c.query(
    `INSERT INTO rule_state (rule_id, instance, last_fired)
     SELECT u.rule_id, u.instance, u.last_fired
     FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS u(rule_id, instance, last_fired)
     WHERE EXISTS (SELECT 1 FROM rules r WHERE r.id = u.rule_id)
     ON CONFLICT (rule_id, instance) DO UPDATE SET last_fired = excluded.last_fired`,
    [rows.map((r) => r.rule_id), rows.map((r) => noNul(r.instance)), rows.map((r) => r.last_fired)],
  );
}
