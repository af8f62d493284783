/**
 * The rule engine's queue (ARCHITECTURE.md §2, "hub → rules → store: bounded queue; on overflow
 * pause sources") at its edges, found open by mutation testing: push says "wait" at exactly
 * queue_size, drain is announced once the queue is below half, batches are cut into slices with
 * a turn for the event loop between them (no record skipped or matched twice at a cut), the
 * stored mark stays in seq order while records are still queued or being written, a failed
 * write fails its whole slice, and the periodic sweep of flood state and stored cooldowns.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../core/bus.js';
import type { LogRecord } from '../core/record.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/store.js';
import type { NewEvent, RuleInput, SluiceEvent } from '../store/types.js';
import type { RulesConfig } from './config.js';
import { RuleEngine } from './engine.js';

const cfg = (over: Partial<RulesConfig> = {}): RulesConfig => ({
  bucket_capacity: 1_000_000, bucket_window: 60_000, queue_size: 1000, max_message_bytes: 2048, ...over,
});

let seq = 0;
const rec = (message: string): LogRecord => ({
  seq: ++seq, time: 1_700_000_000_000, received: 0, source: 'app', stream: 'app', origin: { kind: 'file', path: '/a.log' }, message, fields: {},
});
const recs = (n: number, message = (i: number) => `line ${i}`) => Array.from({ length: n }, (_, i) => rec(message(i)));
const ruleIn = (over: Partial<RuleInput> = {}): RuleInput => ({
  name: 'boom', pattern: 'boom', severity: 'error', source: null, overrides: null, std: 'both', cooldown_s: 0, enabled: true, ...over,
});
const tick = () => new Promise<void>((r) => setImmediate(r));

let store: SqliteStore;
let clock: number;
let errors: unknown[];
let drops: [string, string, number | undefined][];
beforeEach(() => {
  store = openSqliteStore(':memory:');
  clock = 1_000_000;
  errors = [];
  drops = [];
});
afterEach(async () => { await store.close(); });

const engine = (over: Partial<RulesConfig> = {}) => new RuleEngine({
  store, bus: new InProcessBus<SluiceEvent>(), config: cfg(over), now: () => clock,
  onError: (err) => { errors.push(err); }, drop: (s, r, n) => { drops.push([s, r, n]); },
});

/** Hold the store's event writes until released; count the writes begun. */
function holdInserts(): { release: () => void; begun: () => number } {
  const insert = store.insertEvents.bind(store);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let begun = 0;
  store.insertEvents = async (ev: NewEvent[]) => {
    begun++;
    await gate;
    return insert(ev);
  };
  return { release, begun: () => begun };
}

describe('RuleEngine: back-pressure at the bound', () => {
  it('push says wait at exactly queue_size, not one record before', async () => {
    await store.createRule(ruleIn({ pattern: 'never' }));
    const e = engine({ queue_size: 100 });
    await e.reload();
    expect(e.push(recs(99))).toBe(true);
    expect(e.push([])).toBe(true); // an empty push only asks
    expect(e.push(recs(1))).toBe(false);
    expect(e.push([])).toBe(false);
    expect(e.stats().queue).toEqual({ records: 100, capacity: 100 });
    await e.flush();
    expect(e.push([])).toBe(true);
  });

  it('onDrain at exactly queue_size waits; it is called once the queue is below half, not only when empty', async () => {
    await store.createRule(ruleIn({ pattern: 'never' }));
    // 10,000 records are three slices of at most 4096: below half (5000) after the second
    const e = engine({ queue_size: 10_000 });
    await e.reload();
    e.push(recs(10_000));
    const seen: number[] = [];
    e.onDrain(() => { seen.push(e.stats().queue.records); });
    await Promise.resolve();
    expect(seen).toEqual([]);
    await e.flush();
    expect(seen).toEqual([10_000 - 2 * 4096]);
  });

  it('exactly half is not below half', async () => {
    await store.createRule(ruleIn({ pattern: 'never' }));
    const e = engine({ queue_size: 8192 });
    await e.reload();
    e.push(recs(8192));
    const seen: number[] = [];
    e.onDrain(() => { seen.push(e.stats().queue.records); });
    await e.flush();
    expect(seen).toEqual([0]);
  });

  it('with room, onDrain is called on the next microtask', async () => {
    const e = engine({ queue_size: 10 });
    await e.reload();
    let called = 0;
    e.onDrain(() => { called++; });
    expect(called).toBe(0);
    await Promise.resolve();
    expect(called).toBe(1);
  });

  it('a drain callback that throws is reported; the others are still called', async () => {
    await store.createRule(ruleIn({ pattern: 'never' }));
    const e = engine({ queue_size: 10 });
    await e.reload();
    e.push(recs(10));
    const called: string[] = [];
    e.onDrain(() => { called.push('a'); throw new Error('listener broke'); });
    e.onDrain(() => { called.push('b'); });
    await e.flush();
    expect(called).toEqual(['a', 'b']);
    expect(errors.map(String)).toEqual(['Error: listener broke']);
  });

  it('past 4x the bound a batch is refused, its records answered not stored once the mark passes them', async () => {
    await store.createRule(ruleIn({ pattern: 'never' }));
    const e = engine({ queue_size: 10 });
    await e.reload();
    e.push(recs(40));
    const refused = recs(5);
    expect(e.push(refused)).toBe(false);
    expect(drops).toEqual([['rules', 'queue_overflow', 5]]);
    const answer = e.stored.when(refused[4]!.seq);
    await e.flush();
    expect(e.stored.seq).toBe(refused[4]!.seq);
    expect(await answer).toBe(false);
  });
});

describe('RuleEngine: slices', () => {
  it('between slices the event loop gets a turn', async () => {
    await store.createRule(ruleIn({ pattern: 'never' }));
    const e = engine({ queue_size: 100_000 });
    await e.reload();
    e.push(recs(10_000));
    const scanned: number[] = [];
    while (e.stats().records_scanned < 10_000) {
      await tick();
      scanned.push(e.stats().records_scanned);
    }
    expect(scanned.filter((n) => n > 0 && n < 10_000).length).toBeGreaterThan(0);
    await e.flush();
  });

  it('a batch cut by a slice: every record matched once, the cut records included', async () => {
    await store.createRule(ruleIn());
    const e = engine({ queue_size: 100_000 });
    await e.reload();
    const hitsAt = new Set([0, 4095, 4096, 4097, 8191, 8192, 8999]);
    e.push(recs(3, () => 'fine'));
    const batch = recs(9000, (i) => (hitsAt.has(i) ? `boom ${i}` : `fine ${i}`));
    e.push(batch);
    await e.flush();
    const events = (await store.queryEvents({ limit: 100 })).events;
    expect(events.map((x) => x.record_seq).sort((a, b) => a - b)).toEqual([...hitsAt].map((i) => batch[i]!.seq));
    expect(e.stats()).toMatchObject({ records_scanned: 9003, hits: 7, events_written: 7 });
    expect(e.stored.seq).toBe(batch[8999]!.seq);
  });

  it('many small batches: every one matched, and more after them', async () => {
    await store.createRule(ruleIn());
    const e = engine({ queue_size: 100_000 });
    await e.reload();
    for (let i = 0; i < 600; i++) e.push([rec(`boom ${i}`)]);
    await e.flush();
    for (let i = 0; i < 300; i++) e.push([rec(`boom more ${i}`)]);
    await e.flush();
    expect(e.stats()).toMatchObject({ records_scanned: 900, events_written: 900 });
    expect(await store.countEvents()).toBe(900);
  });
});

describe('RuleEngine: the stored mark keeps seq order', () => {
  it('with every rule deleted while a write is held, later records wait behind it', async () => {
    const rule = await store.createRule(ruleIn());
    const e = engine();
    await e.reload();
    const held = holdInserts();
    const a = [rec('boom a')];
    e.push(a);
    const aStored = e.stored.when(a[0]!.seq);
    while (held.begun() === 0) await tick();
    // a's slice is being written (nothing queued): no rule now, yet b must not pass a
    await store.deleteRule(rule.id);
    await e.reload();
    const b = [rec('boom b')];
    e.push(b);
    expect(e.stored.seq).toBeLessThan(a[0]!.seq);
    held.release();
    expect(await aStored).toBe(true);
    await e.flush();
    expect(e.stored.seq).toBe(b[0]!.seq);
  });

  it('with every rule deleted while records are still queued, later records queue behind them', async () => {
    const rule = await store.createRule(ruleIn());
    const e = engine();
    await e.reload();
    const a = recs(3, () => 'boom');
    e.push(a);
    await store.deleteRule(rule.id);
    await e.reload();
    e.push(recs(2));
    expect(e.stats().queue.records).toBe(5);
    expect(e.stored.seq).toBeLessThan(a[0]!.seq);
    await e.flush();
    expect(e.stats().records_scanned).toBe(5);
  });

  it('a failed write fails its whole slice, across batches, and is counted', async () => {
    await store.createRule(ruleIn());
    const e = engine();
    await e.reload();
    store.insertEvents = () => Promise.reject(new Error('disk full'));
    const a = [rec('boom a1'), rec('fine a2')];
    const b = [rec('fine b1'), rec('boom b2')];
    e.push(a);
    e.push(b);
    const answers = Promise.all([...a, ...b].map((r) => e.stored.when(r.seq)));
    await e.flush();
    expect(await answers).toEqual([false, false, false, false]);
    expect(e.stats()).toMatchObject({ store_errors: 1, events_written: 0 });
    expect(drops).toEqual([['rules', 'store_error', 2]]);
    expect(errors.map(String)).toEqual(['Error: disk full']);
  });

  it('a failed cooldown-state write fails the slice too', async () => {
    await store.createRule(ruleIn({ cooldown_s: 60 }));
    const e = engine();
    await e.reload();
    store.saveRuleState = () => Promise.reject(new Error('state lost'));
    const a = [rec('boom')];
    e.push(a);
    const answer = e.stored.when(a[0]!.seq);
    await e.flush();
    expect(await answer).toBe(false);
    expect(e.stats().store_errors).toBe(1);
  });
});

describe('RuleEngine: the sweep', () => {
  it('every 60 s of the clock: expired cooldowns forgotten, stored ones older than the longest cooldown pruned', async () => {
    await store.createRule(ruleIn({ cooldown_s: 120 }));
    const e = engine();
    await e.reload();
    const pruned: number[] = [];
    store.pruneRuleState = (before: number) => { pruned.push(before); return Promise.resolve(0); };
    e.push([rec('boom')]);
    await e.flush();
    expect(pruned).toEqual([1_000_000 - 120_000]);
    expect(e.stats().state.cooldown_entries).toBe(1);
    clock += 59_999;
    e.push([rec('fine')]);
    await e.flush();
    expect(pruned).toHaveLength(1);
    clock += 1;
    e.push([rec('fine')]);
    await e.flush();
    expect(pruned).toEqual([1_000_000 - 120_000, 1_060_000 - 120_000]);
    expect(e.stats().state.cooldown_entries).toBe(1); // 60 s in a 120 s cooldown
    clock += 60_000;
    e.push([rec('fine')]);
    await e.flush();
    expect(e.stats().state.cooldown_entries).toBe(0);
  });

  it('without cooldowns a stored state older than 1 s is pruned; a prune that fails is reported', async () => {
    await store.createRule(ruleIn());
    const e = engine();
    await e.reload();
    const pruned: number[] = [];
    store.pruneRuleState = (before: number) => { pruned.push(before); return Promise.reject(new Error('locked')); };
    e.push([rec('fine')]);
    await e.flush();
    await tick();
    expect(pruned).toEqual([1_000_000 - 1000]);
    expect(errors.map(String)).toEqual(['Error: locked']);
  });
});
