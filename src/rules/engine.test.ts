import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../core/bus.js';
import type { LogRecord } from '../core/record.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/store.js';
import type { RuleInput, SluiceEvent } from '../store/types.js';
import type { RulesConfig } from './config.js';
import { RuleEngine, sourceInstance } from './engine.js';

const cfg = (over: Partial<RulesConfig> = {}): RulesConfig => ({
  bucket_capacity: 10, bucket_window: 60_000, queue_size: 1000, max_message_bytes: 2048, ...over,
});

let seq = 0;
function rec(message: string, over: Partial<LogRecord> = {}): LogRecord {
  return {
    seq: ++seq, time: 1_700_000_000_000 + seq, received: 0, source: 'app', stream: 'app',
    origin: { kind: 'file', path: '/var/log/app.log' }, message, fields: {}, ...over,
  };
}

function ruleIn(over: Partial<RuleInput>): RuleInput {
  return { name: 'r', pattern: 'x', severity: 'error', source: null, overrides: null, std: 'both', cooldown_s: 0, enabled: true, ...over };
}

describe('RuleEngine', () => {
  let store: SqliteStore;
  let bus: InProcessBus<SluiceEvent>;
  let published: SluiceEvent[];
  let clock: number;
  const tick = () => new Promise((r) => setImmediate(r));

  beforeEach(() => {
    store = openSqliteStore(':memory:');
    bus = new InProcessBus<SluiceEvent>();
    published = [];
    bus.subscribe((e) => { published.push(e); });
    clock = 1_000_000;
  });
  afterEach(async () => { await store.close(); });

  const engine = (over: Partial<RulesConfig> = {}, registry?: Registry) =>
    new RuleEngine({ store, bus, config: cfg(over), now: () => clock, metrics: registry ? { registry } : undefined });

  it('turns hits into stored events with captures, seq and origin, and publishes them', async () => {
    const r = await store.createRule(ruleIn({ name: 'refused', pattern: 'connect to (?P<host>[\\w.-]+):(\\d+) refused', severity: 'critical' }));
    const e = engine();
    await e.reload();
    const hit = rec('connect to db-1.internal:5432 refused');
    e.push([rec('fine'), hit, rec('also fine')]);
    await e.flush();
    await tick();
    const page = await store.queryEvents({});
    expect(page.events).toHaveLength(1);
    expect(page.events[0]).toMatchObject({
      severity: 'critical', source: 'app', rule_id: r.id, rule_name: 'refused', message: hit.message,
      captures: { host: 'db-1.internal', $2: '5432' }, record_seq: hit.seq, time: hit.time, origin: hit.origin,
    });
    expect(published).toEqual(page.events);
    expect(e.stats()).toMatchObject({ hits: 1, records_scanned: 3, events_written: 1 });
  });

  it('counts cooldown and bucket suppression, per rule and in total', async () => {
    const cool = await store.createRule(ruleIn({ name: 'cool', pattern: 'timeout', cooldown_s: 60 }));
    const loud = await store.createRule(ruleIn({ name: 'loud', pattern: 'warn' }));
    const registry = new Registry();
    const e = engine({ bucket_capacity: 3 }, registry);
    await e.reload();
    e.push([rec('timeout'), rec('timeout'), rec('timeout')]); // 1 fires, 2 in cooldown
    e.push([rec('warn'), rec('warn'), rec('warn')]); // bucket had 2 left: 2 fire, 1 suppressed
    await e.flush();
    const s = e.stats();
    expect(s.rules[String(cool.id)]).toEqual({ hits: 1, suppressed_by_cooldown: 2, suppressed_by_bucket: 0 });
    expect(s.rules[String(loud.id)]).toEqual({ hits: 2, suppressed_by_cooldown: 0, suppressed_by_bucket: 1 });
    expect(s).toMatchObject({ hits: 3, suppressed_by_cooldown: 2, suppressed_by_bucket: 1 });
    expect(await store.countEvents()).toBe(3);
    const text = await registry.metrics();
    expect(text).toContain('sluice_rule_suppressed_total{reason="cooldown"} 2');
    expect(text).toContain('sluice_rule_suppressed_total{reason="bucket"} 1');
    expect(text).toContain(`sluice_rule_hits_total{rule="${loud.id}"} 2`);
    // other instances have their own bucket and cooldown
    e.push([rec('timeout', { origin: { kind: 'docker', container_id: 'c2' } })]);
    await e.flush();
    expect(e.stats().hits).toBe(4);
  });

  it('cooldown state survives a restart (no storm after a deploy)', async () => {
    await store.createRule(ruleIn({ pattern: 'boom', cooldown_s: 300 }));
    const first = engine();
    await first.reload();
    first.push([rec('boom')]);
    await first.flush();
    expect(first.stats().hits).toBe(1);
    clock += 60_000;
    const second = engine(); // same store, fresh process state
    await second.reload();
    second.push([rec('boom')]);
    await second.flush();
    expect(second.stats()).toMatchObject({ hits: 0, suppressed_by_cooldown: 1 });
    clock += 300_000;
    second.push([rec('boom')]);
    await second.flush();
    expect(second.stats().hits).toBe(1);
  });

  it('std selects stdout/stderr for records that carry one', async () => {
    await store.createRule(ruleIn({ name: 'err-only', pattern: 'oops', std: 'stderr' }));
    const e = engine();
    await e.reload();
    e.push([
      rec('oops 1', { origin: { kind: 'docker', container_id: 'a', std: 'stdout' } }),
      rec('oops 2', { origin: { kind: 'docker', container_id: 'a', std: 'stderr' } }),
      rec('oops 3', { origin: { kind: 'docker', container_id: 'b' }, fields: { std: 'stderr' } }),
      rec('oops 4'), // a file record has no std: not filtered
    ]);
    await e.flush();
    expect((await store.queryEvents({})).events.map((x) => x.message).sort()).toEqual(['oops 2', 'oops 3', 'oops 4']);
  });

  it('applies each source its effective set and picks up changes on reload', async () => {
    const g = await store.createRule(ruleIn({ name: 'g', pattern: 'disk full' }));
    await store.createRule(ruleIn({ name: 'off', source: 'web', overrides: g.id, enabled: false }));
    const e = engine();
    await e.reload();
    e.push([rec('disk full', { source: 'web' }), rec('disk full', { source: 'db' })]);
    await e.flush();
    expect((await store.queryEvents({})).events.map((x) => x.source)).toEqual(['db']);
    await store.deleteRule(g.id);
    await e.reload();
    e.push([rec('disk full', { source: 'db' })]);
    await e.flush();
    expect(await store.countEvents()).toBe(1);
  });

  it('lists stored patterns that no longer compile and keeps matching the rest', async () => {
    await store.createRule(ruleIn({ name: 'ok', pattern: 'ok' }));
    const bad = await store.createRule(ruleIn({ name: 'bad', pattern: 'fine' }));
    store.db.prepare('UPDATE rules SET pattern = ? WHERE id = ?').run('(?<=x)y', bad.id); // e.g. written by an older version
    const e = engine();
    await e.reload();
    expect(e.stats().compile_errors).toEqual([expect.objectContaining({ rule_id: bad.id, name: 'bad', pattern: '(?<=x)y' })]);
    e.push([rec('ok xy')]);
    await e.flush();
    expect(e.stats().hits).toBe(1);
  });

  it('truncates long messages on a UTF-8 boundary', async () => {
    await store.createRule(ruleIn({ pattern: 'ERR' }));
    const e = engine({ max_message_bytes: 64 });
    await e.reload();
    e.push([rec('ERR ' + 'é'.repeat(100))]);
    await e.flush();
    const m = (await store.queryEvents({})).events[0]!.message;
    expect(Buffer.byteLength(m)).toBeLessThanOrEqual(64);
    expect(m.endsWith('…')).toBe(true);
    expect(m).not.toContain('\ufffd');
  });

  it('push returns false past the queue bound and onDrain fires once drained', async () => {
    await store.createRule(ruleIn({ pattern: 'never-matches-anything' }));
    const e = engine({ queue_size: 100 });
    await e.reload();
    const batch = Array.from({ length: 60 }, () => rec('line'));
    expect(e.push(batch)).toBe(true);
    expect(e.push(batch)).toBe(false); // 120 >= 100
    let drained = 0;
    e.onDrain(() => { drained++; });
    await e.flush();
    expect(drained).toBe(1);
    expect(e.stats()).toMatchObject({ records_scanned: 120, queue: { records: 0, capacity: 100 } });
  });

  it('derives the source instance from container id or path', () => {
    expect(sourceInstance(rec('x', { origin: { kind: 'docker', container_id: 'abc' } }))).toBe('app/abc');
    expect(sourceInstance(rec('x', { origin: { kind: 'docker', container: { id: 'def' } } }))).toBe('app/def');
    expect(sourceInstance(rec('x', { origin: { kind: 'file', path: '/a.log' } }))).toBe('app//a.log');
    expect(sourceInstance(rec('x', { origin: { kind: 'syslog' } }))).toBe('app');
  });
});

describe('RuleEngine hard limit', () => {
  it('with no rule at all, batches are counted as scanned and never queued (no back-pressure)', async () => {
    const store = openSqliteStore(':memory:');
    const e = new RuleEngine({ store, bus: new InProcessBus<SluiceEvent>(), config: cfg({ queue_size: 10 }) });
    await e.reload();
    const batch = Array.from({ length: 10 }, () => rec('x'));
    expect([e.push(batch), e.push(batch), e.push(batch)]).toEqual([true, true, true]);
    expect(e.stats()).toMatchObject({ records_scanned: 30, queue: { records: 0 } });
    await store.close();
  });

  it('refuses and counts batches from a source that ignores back-pressure past 4x the bound', async () => {
    const store = openSqliteStore(':memory:');
    const drops: [string, string, number][] = [];
    const e = new RuleEngine({
      store, bus: new InProcessBus<SluiceEvent>(), config: cfg({ queue_size: 10 }), drop: (s, r, n) => { drops.push([s, r, n ?? 1]); },
    });
    await store.createRule(ruleIn({ name: 'never', pattern: 'no line has this' })); // with no rule at all nothing is queued
    await e.reload();
    const batch = Array.from({ length: 10 }, () => rec('x'));
    const results = [e.push(batch), e.push(batch), e.push(batch), e.push(batch), e.push(batch)];
    expect(results).toEqual([false, false, false, false, false]);
    expect(drops).toEqual([['rules', 'queue_overflow', 10]]);
    await e.flush();
    expect(e.stats().records_scanned).toBe(40);
    await store.close();
  });
});
