/**
 * Writing events on one connection of the PostgreSQL store (inside its
 * transactions, store.ts): a batch as one INSERT ... SELECT FROM unnest(...)
 * per chunk, and the events the store holds already for records met again.
 */
import type { PoolClient } from 'pg';
import type { NewEvent, SluiceEvent } from '../types.js';
import { noNul, rowToEvent, type Row } from './rows.js';
import { searchDocument } from './search.js';

const INSERT_CHUNK = 1_000;

/** Insert events in chunks on `c` (inside a transaction); returns those stored, with ids, in order (one whose rule has an event for its record_key already is left out). */
export async function insertEventRows(c: PoolClient, events: NewEvent[]): Promise<SluiceEvent[]> {
  const out: SluiceEvent[] = [];
  for (let start = 0; start < events.length; start += INSERT_CHUNK) {
    const chunk = events.slice(start, start + INSERT_CHUNK);
    const cols: unknown[][] = Array.from({ length: 11 }, () => new Array(chunk.length));
    chunk.forEach((e, i) => {
      const message = noNul(e.message);
      cols[0]![i] = e.time;
      cols[1]![i] = e.severity;
      cols[2]![i] = noNul(e.source);
      cols[3]![i] = e.rule_id;
      cols[4]![i] = noNul(e.rule_name);
      cols[5]![i] = message;
      cols[6]![i] = JSON.stringify(e.captures);
      cols[7]![i] = e.record_seq;
      cols[8]![i] = JSON.stringify(e.origin);
      cols[9]![i] = searchDocument(message);
      cols[10]![i] = e.record_key === undefined ? null : noNul(e.record_key);
    });
    // Identity values are drawn in the ORDER BY ord order, so the ids sorted
    // ascending line up with the rows inserted, in input order; a row left out
    // (its rule has an event for its record_key already) is known by its key.
    const { rows } = await c.query<{ id: number; rule_id: number; record_key: string | null }>(
      `INSERT INTO events (time, severity, source, rule_id, rule_name, message, captures, record_seq, origin, search, record_key)
       SELECT u.t, u.sv, u.src, u.rid, u.rn, u.msg, u.cap::json, u.seq, u.org::json, to_tsvector('simple', u.doc), u.rk
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[], $11::text[])
         WITH ORDINALITY AS u(t, sv, src, rid, rn, msg, cap, seq, org, doc, rk, ord)
       ORDER BY u.ord
       ON CONFLICT DO NOTHING
       RETURNING id, rule_id, record_key`,
      cols,
    );
    const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    const keyed = new Set(rows.filter((r) => r.record_key !== null).map((r) => `${Number(r.rule_id)}\u0000${r.record_key}`));
    let j = 0;
    for (const { record_key: key, ...e } of chunk) {
      if (key !== undefined) {
        const k = `${e.rule_id}\u0000${noNul(key)}`;
        if (!keyed.delete(k)) continue; // not inserted (or its twin in this chunk was)
      }
      out.push({ id: ids[j++]!, ...e });
    }
  }
  return out;
}

/** Sets flags[i]: events[i]'s rule has an event for its record_key already; returns those events, as stored. */
export async function storedRepeats(c: PoolClient, events: NewEvent[], flags: boolean[]): Promise<SluiceEvent[]> {
  for (let i = 0; i < events.length; i++) flags[i] = false;
  const withKey = events.filter((e) => e.record_key !== undefined);
  if (withKey.length === 0) return [];
  const { rows } = await c.query<Row>(
    `SELECT e.id, e.time, e.severity, e.source, e.rule_id, e.rule_name, e.message, e.captures, e.record_seq, e.origin, e.record_key FROM events e
     WHERE e.record_key IS NOT NULL AND (e.rule_id, e.record_key) IN (SELECT * FROM unnest($1::bigint[], $2::text[])) ORDER BY e.id`,
    [withKey.map((e) => e.rule_id), withKey.map((e) => noNul(e.record_key!))],
  );
  const have = new Set(rows.map((r) => `${Number(r.rule_id)}\u0000${String(r.record_key)}`));
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    flags[i] = e.record_key !== undefined && have.has(`${e.rule_id}\u0000${noNul(e.record_key)}`);
  }
  return rows.map((r) => {
    const { record_key: _k, ...rest } = r;
    return rowToEvent(rest);
  });
}
