/**
 * flush() at the edge the r1 mutation run left open: called while the last slice's
 * events are still being written (nothing queued, a run still going), it waits for
 * that write, so what it promises ("matched, stored and published") holds.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../core/bus.js';
import type { LogRecord } from '../core/record.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/store.js';
import type { NewEvent, SluiceEvent } from '../store/types.js';
import { RuleEngine } from './engine.js';

let seq = 0;
const rec = (message: string): LogRecord => ({
  seq: ++seq, time: 1_700_000_000_000, received: 0, source: 'app', stream: 'app', origin: { kind: 'file', path: '/a.log' }, message, fields: {},
});
const tick = () => new Promise<void>((r) => setImmediate(r));

let store: SqliteStore;
beforeEach(() => { store = openSqliteStore(':memory:'); });
afterEach(async () => { await store.close(); });

describe('RuleEngine.flush (mutation testing, r1)', () => {
  it('waits for a slice whose events are still being written when nothing is queued any more', async () => {
    await store.createRule({ name: 'boom', pattern: 'boom', severity: 'error', source: null, overrides: null, std: 'both', cooldown_s: 0, enabled: true });
    const e = new RuleEngine({
      store, bus: new InProcessBus<SluiceEvent>(), now: () => 1_000_000,
      config: { bucket_capacity: 1000, bucket_window: 60_000, queue_size: 1000, max_message_bytes: 2048 },
    });
    await e.reload();
    const insert = store.insertEvents.bind(store);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let begun!: () => void;
    const writing = new Promise<void>((r) => (begun = r));
    store.insertEvents = async (ev: NewEvent[]) => {
      begun();
      await gate;
      return insert(ev);
    };
    e.push([rec('boom 1')]);
    await writing; // the slice is matched (queue empty) and its write has begun
    expect(e.stats().queue.records).toBe(0);
    let flushed = false;
    const f = e.flush().then(() => { flushed = true; });
    for (let i = 0; i < 5; i++) await tick();
    expect(flushed).toBe(false);
    release();
    await f;
    expect((await store.queryEvents({ limit: 10 })).events.map((x) => x.message)).toEqual(['boom 1']);
  });
});
