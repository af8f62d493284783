/**
 * The rule engine beyond its queue, at the edges mutation testing found open: which std a
 * record carries (fields before origin) and a stdout-only rule, what stats() reports and that
 * it hands out copies, a deleted rule's counters and cooldowns going on reload, reloads
 * serialized and one failing not blocking the next, the metrics, which records are keyed, no
 * cooldown state or store write where none is due, and a throwing bus not stopping the queue.
 */
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../core/bus.js';
import type { LogRecord } from '../core/record.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/store.js';
import type { RuleInput, SluiceEvent } from '../store/types.js';
import type { RulesConfig } from './config.js';
import { RuleEngine, recordStd, sourceInstance } from './engine.js';

const cfg = (over: Partial<RulesConfig> = {}): RulesConfig => ({
  bucket_capacity: 1000, bucket_window: 60_000, queue_size: 1000, max_message_bytes: 2048, ...over,
});
let seq = 0;
const rec = (message: string, over: Partial<LogRecord> = {}): LogRecord => ({
  seq: ++seq, time: 1_700_000_000_000, received: 0, source: 'app', stream: 'app', origin: { kind: 'file', path: '/a.log' }, message, fields: {}, ...over,
});
const ruleIn = (over: Partial<RuleInput> = {}): RuleInput => ({
  name: 'r', pattern: 'boom', severity: 'error', source: null, overrides: null, std: 'both', cooldown_s: 0, enabled: true, ...over,
});

let store: SqliteStore;
beforeEach(() => { store = openSqliteStore(':memory:'); });
afterEach(async () => { await store.close(); });
const engine = (registry?: Registry) => new RuleEngine({ store, bus: new InProcessBus<SluiceEvent>(), config: cfg(), now: () => 1_000_000, metrics: registry ? { registry } : undefined });
const messages = async () => (await store.queryEvents({ limit: 100 })).events.map((x) => `${x.rule_name}:${x.message}`).sort();

describe('recordStd', () => {
  it('fields.std first, then origin.std, only stdout or stderr', () => {
    expect(recordStd(rec('x', { fields: { std: 'stdout' }, origin: { kind: 'docker', std: 'stderr' } }))).toBe('stdout');
    expect(recordStd(rec('x', { fields: { std: 'stderr' } }))).toBe('stderr');
    expect(recordStd(rec('x', { fields: { std: 'other' }, origin: { kind: 'docker', std: 'stdout' } }))).toBe('stdout');
    expect(recordStd(rec('x', { origin: { kind: 'docker', std: 'stderr' } }))).toBe('stderr');
    expect(recordStd(rec('x', { origin: { kind: 'docker', std: 'tty' } }))).toBeUndefined();
    expect(recordStd(rec('x'))).toBeUndefined();
  });
});

describe('RuleEngine: std per rule', () => {
  it('a stdout rule and a stderr rule on the same records each see only their stream', async () => {
    await store.createRule(ruleIn({ name: 'out', std: 'stdout' }));
    await store.createRule(ruleIn({ name: 'err', std: 'stderr' }));
    await store.createRule(ruleIn({ name: 'any' }));
    const e = engine();
    await e.reload();
    e.push([
      rec('boom 1', { origin: { kind: 'docker', container_id: 'a', std: 'stdout' } }),
      rec('boom 2', { origin: { kind: 'docker', container_id: 'a', std: 'stderr' } }),
      rec('boom 3', { origin: { kind: 'docker', container_id: 'a', std: 'stderr' }, fields: { std: 'stdout' } }),
    ]);
    await e.flush();
    expect(await messages()).toEqual(['any:boom 1', 'any:boom 2', 'any:boom 3', 'err:boom 2', 'out:boom 1', 'out:boom 3']);
  });
});

describe('RuleEngine.stats', () => {
  it('reports the snapshot, rules and state, and hands out copies', async () => {
    await store.createRule(ruleIn({ name: 'cool', cooldown_s: 60 }));
    await store.createRule(ruleIn({ name: 'web only', pattern: 'x', source: 'web' }));
    const e = engine();
    const before = Date.now();
    await e.reload();
    await e.reload();
    const s = e.stats();
    expect(s.snapshot).toMatchObject({ version: 2, rules: 2, scoped_sources: 1 });
    expect(Date.parse(s.snapshot.built_at)).toBeGreaterThanOrEqual(before);
    expect(s.snapshot.built_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    e.push([rec('boom'), rec('boom', { origin: { kind: 'file', path: '/b.log' } })]);
    await e.flush();
    const t = e.stats();
    expect(t.state).toEqual({ cooldown_entries: 2, buckets: 2 });
    expect(Object.values(t.rules)).toEqual([{ hits: 2, suppressed_by_cooldown: 0, suppressed_by_bucket: 0 }]);
    // what stats() gives is a copy
    Object.values(t.rules)[0]!.hits = 99;
    t.compile_errors.push({ rule_id: 1, name: 'x', pattern: 'x', error: 'x' });
    expect(Object.values(e.stats().rules)[0]!.hits).toBe(2);
    expect(e.stats().compile_errors).toEqual([]);
  });

  it('a deleted rule takes its counters and cooldowns with it on reload; the others keep theirs', async () => {
    const gone = await store.createRule(ruleIn({ name: 'gone', cooldown_s: 60 }));
    const kept = await store.createRule(ruleIn({ name: 'kept', pattern: 'boom', cooldown_s: 60 }));
    const e = engine();
    await e.reload();
    e.push([rec('boom')]);
    await e.flush();
    expect(Object.keys(e.stats().rules).sort()).toEqual([String(gone.id), String(kept.id)].sort());
    expect(e.stats().state.cooldown_entries).toBe(2);
    await store.deleteRule(gone.id);
    await e.reload();
    expect(Object.keys(e.stats().rules)).toEqual([String(kept.id)]);
    expect(e.stats().state.cooldown_entries).toBe(1);
    expect(e.stats().rules[String(kept.id)]!.hits).toBe(1);
  });
});

describe('RuleEngine.reload', () => {
  it('a reload that fails does not stop the next one; reloads run one after another', async () => {
    const e = engine();
    const list = store.listRules.bind(store);
    let fail = true;
    store.listRules = () => (fail ? ((fail = false), Promise.reject(new Error('db locked'))) : list());
    await expect(e.reload()).rejects.toThrow('db locked');
    await store.createRule(ruleIn());
    await e.reload();
    expect(e.stats().snapshot.rules).toBe(1);
    // two at once: both finish, in order, each on what was committed before it started
    const order: number[] = [];
    const a = e.reload().then(() => order.push(e.stats().snapshot.version));
    const b = e.reload().then(() => order.push(e.stats().snapshot.version));
    await Promise.all([a, b]);
    expect(order).toEqual([order[0], order[0]! + 1]);
  });
});

describe('RuleEngine metrics', () => {
  it('events written, records queued and patterns that do not compile', async () => {
    await store.createRule(ruleIn());
    const bad = await store.createRule(ruleIn({ name: 'bad', pattern: 'fine' }));
    store.db.prepare('UPDATE rules SET pattern = ? WHERE id = ?').run('(?<=x)y', bad.id);
    const registry = new Registry();
    const e = engine(registry);
    await e.reload();
    expect(await registry.getSingleMetricAsString('sluice_rule_compile_errors')).toContain('sluice_rule_compile_errors 1');
    e.push([rec('boom'), rec('boom'), rec('fine')]);
    expect(await registry.getSingleMetricAsString('sluice_rule_queue_records')).toContain('sluice_rule_queue_records 3');
    await e.flush();
    expect(await registry.getSingleMetricAsString('sluice_events_written_total')).toContain('sluice_events_written_total 2');
    expect(await registry.getSingleMetricAsString('sluice_rule_queue_records')).toContain('sluice_rule_queue_records 0');
    await store.deleteRule(bad.id);
    await e.reload();
    expect(await registry.getSingleMetricAsString('sluice_rule_compile_errors')).toContain('sluice_rule_compile_errors 0');
  });
});

describe('RuleEngine: edges of matching', () => {
  it('the flood unit is the container id when the container is an object with one, else the path', () => {
    expect(sourceInstance(rec('x', { origin: { kind: 'docker', container: null, path: '/p.log' } }))).toBe('app//p.log');
    expect(sourceInstance(rec('x', { origin: { kind: 'docker', container: { name: 'web' }, path: '/p.log' } }))).toBe('app//p.log');
  });

  it('only a record with both an agent and an agent_seq is keyed: others are new lines every time', async () => {
    await store.createRule(ruleIn());
    const e = engine();
    await e.reload();
    const agentOnly = () => rec('boom', { origin: { kind: 'file', agent: 'a1' } });
    const seqOnly = () => rec('boom', { origin: { kind: 'file', agent_seq: 7 } });
    e.push([agentOnly(), agentOnly(), seqOnly(), seqOnly()]);
    await e.flush();
    expect(e.stats()).toMatchObject({ events_written: 4, events_repeated: 0 });
  });

  it('a rule without a cooldown leaves no cooldown state in the store; one with a cooldown does', async () => {
    await store.createRule(ruleIn({ name: 'plain' }));
    const e = engine();
    await e.reload();
    const save = store.saveRuleState.bind(store);
    const saved: unknown[] = [];
    store.saveRuleState = (rows) => { saved.push(rows); return save(rows); };
    e.push([rec('boom')]);
    await e.flush();
    expect(saved).toEqual([]);
    expect(await store.loadRuleState()).toEqual([]);
    const cool = await store.createRule(ruleIn({ name: 'cool', cooldown_s: 5 }));
    await e.reload();
    e.push([rec('boom')]);
    await e.flush();
    expect(saved).toEqual([[{ rule_id: cool.id, instance: 'app//a.log', last_fired: 1_000_000 }]]);
    expect(await store.loadRuleState()).toEqual([{ rule_id: cool.id, instance: 'app//a.log', last_fired: 1_000_000 }]);
  });

  it('a slice without a hit makes no store write', async () => {
    await store.createRule(ruleIn());
    const e = engine();
    await e.reload();
    let writes = 0;
    const insert = store.insertEvents.bind(store);
    store.insertEvents = (ev) => { writes++; return insert(ev); };
    const batch = [rec('fine'), rec('also fine')];
    e.push(batch);
    await e.flush();
    expect(writes).toBe(0);
    expect(e.stored.seq).toBe(batch[1]!.seq);
  });

  it('bucket suppression is counted without a metrics registry', async () => {
    await store.createRule(ruleIn());
    const e = new RuleEngine({ store, bus: new InProcessBus<SluiceEvent>(), config: cfg({ bucket_capacity: 1 }), now: () => 1_000_000 });
    await e.reload();
    e.push([rec('boom'), rec('boom')]);
    await e.flush();
    expect(e.stats()).toMatchObject({ hits: 1, suppressed_by_bucket: 1 });
  });

  it('a drain listener is called once per wait, and the next fill and drain call the next ones cleanly', async () => {
    await store.createRule(ruleIn({ pattern: 'never' }));
    const errors: unknown[] = [];
    const e = new RuleEngine({ store, bus: new InProcessBus<SluiceEvent>(), config: cfg({ queue_size: 10 }), onError: (err) => { errors.push(err); } });
    await e.reload();
    const calls: string[] = [];
    for (const round of ['first', 'second']) {
      e.push(Array.from({ length: 10 }, () => rec('x')));
      e.onDrain(() => { calls.push(round); });
      await e.flush();
    }
    expect(calls).toEqual(['first', 'second']);
    expect(errors).toEqual([]);
  });

  it('a bus that throws is reported and matching carries on with the rest of the queue', async () => {
    await store.createRule(ruleIn());
    let throws = true;
    const published: number[] = [];
    const bus = { publish: (ev: SluiceEvent) => { if (throws) { throws = false; throw new Error('bus closed'); } published.push(ev.record_seq); }, subscribe: () => () => {} };
    const errors: unknown[] = [];
    const e = new RuleEngine({ store, bus, config: cfg({ queue_size: 100_000 }), onError: (err) => { errors.push(err); } });
    await e.reload();
    const batch = Array.from({ length: 5000 }, (_, i) => rec(i === 0 || i === 4999 ? 'boom' : 'fine'));
    e.push(batch);
    await e.flush();
    expect(errors.map(String)).toEqual(['Error: bus closed']);
    expect(e.stats().records_scanned).toBe(5000);
    expect(published).toEqual([batch[4999]!.seq]);
  });
});

