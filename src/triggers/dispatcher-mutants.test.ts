/**
 * The dispatcher's lifecycle and error paths (found by mutation testing,
 * `npm run mutate`): one subscription however often it is started, a new
 * one after stop, a sender that throws reported and counted without stopping
 * the other triggers, and disabled triggers never compiled.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../core/bus.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/store.js';
import type { SluiceEvent, Trigger, TriggerInput } from '../store/types.js';
import { TriggerDispatcher } from './dispatcher.js';

function ev(over: Partial<SluiceEvent> = {}): SluiceEvent {
  return {
    id: 1, time: 0, severity: 'error', source: 'app', rule_id: 1, rule_name: 'r', message: 'm',
    captures: {}, record_seq: 1, origin: { kind: 'file' }, ...over,
  };
}

const tin = (over: Partial<TriggerInput>): TriggerInput => ({
  name: 't', url: 'https://hooks.example.com/', secret: '', filter: { severity: [], source: [], message_re: null }, enabled: true, ...over,
});

/** Resolves once the bus has delivered what was published before (its handlers run in later turns). */
const delivered = (bus: InProcessBus<SluiceEvent>) =>
  new Promise<void>((resolve) => {
    const off = bus.subscribe(() => {
      off();
      resolve();
    });
    bus.publish(ev({ id: -1, severity: 'debug' as SluiceEvent['severity'] }));
  });

describe('TriggerDispatcher lifecycle', () => {
  let store: SqliteStore;
  beforeEach(() => { store = openSqliteStore(':memory:'); });
  afterEach(async () => { await store.close(); });

  it('subscribes once however often it is started, and again after a stop', async () => {
    await store.createTrigger(tin({ name: 'all', filter: { severity: ['error'], source: [], message_re: null } }));
    const bus = new InProcessBus<SluiceEvent>();
    const sent: number[] = [];
    const d = new TriggerDispatcher({ store, bus, webhook: { enqueue: (_t: Trigger, e: SluiceEvent) => { sent.push(e.id); } } });
    await d.start();
    await d.start();
    bus.publish(ev({ id: 1 }));
    await delivered(bus);
    expect(sent).toEqual([1]);
    d.stop();
    bus.publish(ev({ id: 2 }));
    await delivered(bus);
    expect(sent).toEqual([1]);
    await d.start();
    bus.publish(ev({ id: 3 }));
    await delivered(bus);
    expect(sent).toEqual([1, 3]);
    expect(d.stats().matched).toBe(2);
    d.stop();
  });

  it('a sender that throws is reported to onError and still counted; the next trigger gets the event', async () => {
    await store.createTrigger(tin({ name: 'first' }));
    await store.createTrigger(tin({ name: 'second' }));
    const errors: unknown[] = [];
    const got: string[] = [];
    const boom = new Error('queue full');
    const d = new TriggerDispatcher({
      store, bus: new InProcessBus<SluiceEvent>(), onError: (e) => errors.push(e),
      webhook: { enqueue: (t: Trigger) => { if (t.name === 'first') throw boom; got.push(t.name); } },
    });
    await d.reload();
    expect(d.dispatch(ev())).toBe(2);
    expect(errors).toEqual([boom]);
    expect(got).toEqual(['second']);
    expect(d.stats()).toMatchObject({ triggers: 2, matched: 2, events_seen: 1 });
    // without onError the throw is swallowed all the same
    const quiet = new TriggerDispatcher({ store, bus: new InProcessBus<SluiceEvent>(), webhook: { enqueue: () => { throw boom; } } });
    await quiet.reload();
    expect(quiet.dispatch(ev())).toBe(2);
  });

  it('a disabled trigger is not compiled: its bad filter is no filter error', async () => {
    const off = await store.createTrigger(tin({ name: 'off', enabled: false, filter: { severity: [], source: [], message_re: 'ok' } }));
    store.db.prepare('UPDATE triggers SET filter = ? WHERE id = ?').run(JSON.stringify({ severity: [], source: [], message_re: '(' }), off.id);
    const d = new TriggerDispatcher({ store, bus: new InProcessBus<SluiceEvent>(), webhook: { enqueue: () => undefined } });
    await d.reload();
    expect(d.stats()).toEqual({ triggers: 0, matched: 0, events_seen: 0, filter_errors: [] });
    expect(d.dispatch(ev())).toBe(0);
    expect(d.stats()).toEqual({ triggers: 0, matched: 0, events_seen: 1, filter_errors: [] });
  });

  it('before its first reload it has no trigger and no filter error; stop before start does nothing', () => {
    const d = new TriggerDispatcher({ store, bus: new InProcessBus<SluiceEvent>(), webhook: { enqueue: () => undefined } });
    expect(d.stats()).toEqual({ triggers: 0, matched: 0, events_seen: 0, filter_errors: [] });
    expect(d.dispatch(ev())).toBe(0);
    expect(() => d.stop()).not.toThrow();
  });

  it('reloads run one after the other, a failed one does not stop the next', async () => {
    await store.createTrigger(tin({ name: 'a' }));
    let calls = 0;
    const flaky = {
      listTriggers: async () => {
        if (calls++ === 0) throw new Error('db locked');
        return store.listTriggers();
      },
    } as unknown as SqliteStore;
    const d = new TriggerDispatcher({ store: flaky, bus: new InProcessBus<SluiceEvent>(), webhook: { enqueue: () => undefined } });
    const first = d.reload();
    const second = d.reload();
    await expect(first).rejects.toThrow('db locked');
    await second;
    expect(d.stats().triggers).toBe(1);
  });
});
