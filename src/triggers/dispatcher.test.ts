import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../core/bus.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/store.js';
import type { SluiceEvent, Trigger, TriggerInput } from '../store/types.js';
import { TriggerDispatcher } from './dispatcher.js';
import { compileFilter, filterMatches } from './filter.js';

function ev(over: Partial<SluiceEvent> = {}): SluiceEvent {
  return {
    id: 1, time: 0, severity: 'error', source: 'app', rule_id: 1, rule_name: 'r', message: 'payment failed for order 42',
    captures: {}, record_seq: 1, origin: { kind: 'file' }, ...over,
  };
}

describe('filterMatches', () => {
  const f = (severity: SluiceEvent['severity'][], source: string[], message_re: string | null) => {
    const c = compileFilter({ severity, source, message_re });
    if (!c.ok) throw new Error(c.error);
    return c.filter;
  };
  it('empty filter matches everything', () => {
    expect(filterMatches(f([], [], null), ev())).toBe(true);
  });
  it('each part must match (AND)', () => {
    const x = f(['error', 'critical'], ['app', 'web'], 'order \\d+');
    expect(filterMatches(x, ev())).toBe(true);
    expect(filterMatches(x, ev({ severity: 'warn' }))).toBe(false);
    expect(filterMatches(x, ev({ source: 'db' }))).toBe(false);
    expect(filterMatches(x, ev({ message: 'payment failed' }))).toBe(false);
    expect(filterMatches(x, ev({ severity: 'critical', source: 'web' }))).toBe(true);
  });
  it('an invalid message_re is reported, not thrown, named as message_re', () => {
    const c = compileFilter({ severity: [], source: [], message_re: '(?=x)' });
    expect(c.ok).toBe(false);
    expect(!c.ok && c.error).toMatch(/^message_re: .*invalid perl operator/);
  });
  it('an empty message_re is no message filter (not the "empty pattern" error)', () => {
    const c = compileFilter({ severity: [], source: [], message_re: '' });
    expect(c.ok && c.filter.re).toBe(null);
  });
});

describe('TriggerDispatcher', () => {
  let store: SqliteStore;
  beforeEach(() => { store = openSqliteStore(':memory:'); });
  afterEach(async () => { await store.close(); });
  const tin = (over: Partial<TriggerInput>): TriggerInput => ({
    name: 't', url: 'https://hooks.example.com/', secret: '', filter: { severity: [], source: [], message_re: null }, enabled: true, ...over,
  });

  it('routes bus events to matching enabled triggers only, and never writes events', async () => {
    const all = await store.createTrigger(tin({ name: 'all' }));
    const crit = await store.createTrigger(tin({ name: 'crit', filter: { severity: ['critical'], source: [], message_re: null } }));
    await store.createTrigger(tin({ name: 'off', enabled: false }));
    const bad = await store.createTrigger(tin({ name: 'bad', filter: { severity: [], source: [], message_re: 'ok' } }));
    store.db.prepare('UPDATE triggers SET filter = ? WHERE id = ?').run(JSON.stringify({ severity: [], source: [], message_re: '(' }), bad.id);
    const bus = new InProcessBus<SluiceEvent>();
    const sent: [string, number][] = [];
    const d = new TriggerDispatcher({ store, bus, webhook: { enqueue: (t: Trigger, e: SluiceEvent) => { sent.push([t.name, e.id]); } } });
    await d.start();
    bus.publish(ev({ id: 1, severity: 'error' }));
    bus.publish(ev({ id: 2, severity: 'critical' }));
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([['all', 1], ['all', 2], ['crit', 2]]);
    expect(d.stats()).toMatchObject({ triggers: 2, matched: 3, events_seen: 2, filter_errors: [{ trigger_id: bad.id, name: 'bad' }] });
    expect(await store.countEvents()).toBe(0);
    // a change is seen after reload
    await store.updateTrigger(all.id, { enabled: false });
    await d.reload();
    expect(d.dispatch(ev({ id: 3, severity: 'critical' }))).toBe(1);
    expect(sent.at(-1)).toEqual(['crit', 3]);
    void crit;
    d.stop();
    bus.publish(ev({ id: 4, severity: 'critical' }));
    await new Promise((r) => setImmediate(r));
    expect(sent).toHaveLength(4);
  });
});
