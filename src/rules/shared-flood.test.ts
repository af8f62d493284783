/**
 * Flood control shared by the processes of one PostgreSQL store (servers of a
 * cluster): several rule engines, each with its own connection pool on one
 * fresh schema, as separate servers would be. A cooldown and a token bucket
 * hold for all of them together; a redelivered record takes neither; a
 * process that fails before its commit has claimed nothing.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../core/bus.js';
import type { LogRecord } from '../core/record.js';
import { openPostgresStore } from '../store/postgres/open.js';
import type { PostgresStore } from '../store/postgres/store.js';
import type { RuleInput, SluiceEvent } from '../store/types.js';
import { requires } from '../../test/helpers/requires.js';
import { PG_URL, pgReachable } from '../../test/helpers/pg.js';
import type { RulesConfig } from './config.js';
import { RuleEngine } from './engine.js';

const URL = PG_URL;
const up = await pgReachable();

const cfg = (over: Partial<RulesConfig> = {}): RulesConfig => ({
  bucket_capacity: 1000, bucket_window: 60_000, queue_size: 100_000, max_message_bytes: 2048, ...over,
});
const ruleIn = (over: Partial<RuleInput>): RuleInput => ({
  name: 'r', pattern: 'boom', severity: 'error', source: null, overrides: null, std: 'both', cooldown_s: 0, enabled: true, ...over,
});

let seq = 0;
function rec(message: string, origin: Record<string, unknown> = { kind: 'file', path: '/var/log/a.log' }): LogRecord {
  return { seq: ++seq, time: 1_700_000_000_000 + seq, received: 0, source: 'app', stream: 'app', origin: origin as LogRecord['origin'], message, fields: {} };
}

describe.skipIf(!requires('PostgreSQL', up, `nothing answers at ${URL} (set SLUICE_TEST_PG_URL)`))('flood control shared through PostgreSQL', () => {
  const schemas: string[] = [];
  const stores: PostgresStore[] = [];
  let clock = 1_000_000;

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    const c = new pg.Client({ connectionString: URL });
    await c.connect();
    for (const s of schemas.splice(0)) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await c.end();
  });

  /** `n` engines ("servers") on one fresh schema, each with its own pool. */
  async function cluster(n: number, over: Partial<RulesConfig> = {}): Promise<{ engines: RuleEngine[]; stores: PostgresStore[] }> {
    const schema = `sluice_test_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    const mine: PostgresStore[] = [];
    for (let i = 0; i < n; i++) mine.push((await openPostgresStore(URL, { schema })) as PostgresStore);
    stores.push(...mine);
    const engines = mine.map((store) => new RuleEngine({ store, bus: new InProcessBus<SluiceEvent>(), config: cfg(over), now: () => clock }));
    return { engines, stores: mine };
  }

  const reloadAll = (engines: RuleEngine[]) => Promise.all(engines.map((e) => e.reload()));
  const flushAll = (engines: RuleEngine[]) => Promise.all(engines.map((e) => e.flush()));
  const events = async (s: PostgresStore) => (await s.queryEvents({ limit: 1000 })).events;

  it("a rule's cooldown gives one event per window for all the engines together", async () => {
    const { engines, stores: [s0] } = await cluster(3);
    await s0!.createRule(ruleIn({ name: 'cool', cooldown_s: 60 }));
    await reloadAll(engines);
    // every engine sees hits of the same instance at the same moment, in several rounds
    for (let round = 0; round < 4; round++) {
      for (const e of engines) e.push([rec('boom 1'), rec('boom 2')]);
      await flushAll(engines);
    }
    expect(await events(s0!)).toHaveLength(1);
    const stats = engines.map((e) => e.stats());
    expect(stats.reduce((n, s) => n + s.hits, 0)).toBe(1);
    expect(stats.reduce((n, s) => n + s.suppressed_by_cooldown, 0)).toBe(3 * 4 * 2 - 1);
    // another instance has its own cooldown; past the window the first fires again, once
    clock += 60_000;
    for (const e of engines) e.push([rec('boom 3'), rec('boom 4', { kind: 'file', path: '/var/log/b.log' })]);
    await flushAll(engines);
    const all = await events(s0!);
    expect(all).toHaveLength(3);
    expect(all.filter((e) => (e.origin as { path: string }).path === '/var/log/b.log')).toHaveLength(1);
  });

  it("a source instance's token bucket holds for all the engines together", async () => {
    const { engines, stores: [s0] } = await cluster(3, { bucket_capacity: 5, bucket_window: 60_000 });
    await s0!.createRule(ruleIn({ name: 'every' }));
    await reloadAll(engines);
    for (const e of engines) e.push(Array.from({ length: 10 }, (_, i) => rec(`boom ${i}`)));
    await flushAll(engines);
    expect(await events(s0!)).toHaveLength(5);
    const stats = engines.map((e) => e.stats());
    expect(stats.reduce((n, s) => n + s.suppressed_by_bucket, 0)).toBe(25);
    // a fifth of the window later one token is back, for the cluster (not one per engine)
    clock += 12_000;
    for (const e of engines) e.push([rec('boom later'), rec('boom later 2')]);
    await flushAll(engines);
    expect(await events(s0!)).toHaveLength(6);
  });

  it('decides most hits locally: a cooldown or an empty bucket seen once needs no store round trip', async () => {
    const { engines: [a, b], stores: [sa, sb] } = await cluster(2, { bucket_capacity: 2 });
    await sa!.createRule(ruleIn({ name: 'cool', cooldown_s: 60 }));
    await sa!.createRule(ruleIn({ name: 'flood', pattern: 'flood' }));
    await reloadAll([a!, b!]);
    const calls = [0, 0];
    for (const [i, s] of [sa!, sb!].entries()) {
      const real = s.insertEventsShared.bind(s);
      s.insertEventsShared = (...args) => {
        calls[i]!++;
        return real(...args);
      };
    }
    a!.push([rec('boom')]);
    await a!.flush();
    b!.push([rec('boom')]); // refused by the cooldown a started: b learns it from the store
    await b!.flush();
    expect(calls).toEqual([1, 1]);
    for (let k = 0; k < 5; k++) {
      a!.push([rec('boom')]);
      b!.push([rec('boom')]);
      await flushAll([a!, b!]);
    }
    expect(calls).toEqual([1, 1]);
    // the bucket (2 tokens, one spent by "cool") empties; b learns when it refills and asks no more until then
    b!.push([rec('flood'), rec('flood'), rec('flood')]);
    await b!.flush();
    expect(calls).toEqual([1, 2]);
    for (let k = 0; k < 5; k++) {
      b!.push([rec('flood')]);
      await b!.flush();
    }
    expect(calls).toEqual([1, 2]);
    expect(await events(sa!)).toHaveLength(2);
    clock += 30_000; // one token refilled: b asks again
    b!.push([rec('flood')]);
    await b!.flush();
    expect(calls).toEqual([1, 3]);
    expect(await events(sa!)).toHaveLength(3);
  });

  it('a record delivered again to another engine makes no event and takes neither cooldown nor token', async () => {
    const { engines: [a, b], stores: [sa] } = await cluster(2, { bucket_capacity: 2 });
    await sa!.createRule(ruleIn({ name: 'cool', cooldown_s: 10 }));
    await reloadAll([a!, b!]);
    const agentRec = (agentSeq: number) => rec('boom', { kind: 'file', path: '/var/log/a.log', agent: 'ag1', agent_seq: agentSeq });
    const first = agentRec(1);
    a!.push([first]);
    await a!.flush();
    clock += 10_000; // the cooldown is over when b gets the same record again (a JetStream redelivery)
    b!.push([{ ...first, seq: ++seq }]);
    await b!.flush();
    expect(b!.stats()).toMatchObject({ hits: 0, events_repeated: 1 });
    // the repeat started no cooldown and spent no token: the next record fires
    b!.push([agentRec(2)]);
    await b!.flush();
    expect(b!.stats()).toMatchObject({ hits: 1, events_written: 1 });
    expect(await events(sa!)).toHaveLength(2);
  });

  it('an engine whose transaction fails after deciding has claimed nothing: another fires', async () => {
    const { engines: [a, b], stores: [sa] } = await cluster(2, { bucket_capacity: 1 });
    await sa!.createRule(ruleIn({ name: 'cool', cooldown_s: 60 }));
    await reloadAll([a!, b!]);
    const real = sa!.insertEventsShared.bind(sa!);
    sa!.insertEventsShared = (ev, cands, decide) => real(ev, cands, (s) => {
      decide(s);
      throw new Error('died before the commit');
    });
    a!.push([rec('boom')]);
    await a!.flush();
    expect(a!.stats()).toMatchObject({ store_errors: 1, hits: 0 });
    b!.push([rec('boom')]);
    await b!.flush();
    expect(b!.stats()).toMatchObject({ hits: 1, events_written: 1 });
    expect(await events(sa!)).toHaveLength(1);
  });
});
