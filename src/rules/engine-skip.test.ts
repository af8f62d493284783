/**
 * RuleEngine.skip (the pipeline's DurableStage.skip): a batch the engine need
 * not read is done at once without its records (no rule, nothing queued): the
 * stored mark and the scanned count move as a push would move them. With a
 * rule, or records still queued or being written, it wants the records.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../core/bus.js';
import type { LogRecord } from '../core/record.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/store.js';
import type { SluiceEvent } from '../store/types.js';
import { RuleEngine } from './engine.js';

let store: SqliteStore;
beforeEach(() => {
  store = openSqliteStore(':memory:');
});
afterEach(async () => {
  await store.close();
});

const engine = (queue_size = 1000) =>
  new RuleEngine({ store, bus: new InProcessBus<SluiceEvent>(), config: { bucket_capacity: 1_000_000, bucket_window: 60_000, queue_size, max_message_bytes: 2048 } });
const rec = (seq: number, message: string): LogRecord => ({ seq, time: 1_700_000_000_000, received: 0, source: 'app', stream: 'app', origin: { kind: 'file', path: '/a.log' }, message, fields: {} });

describe('RuleEngine.skip', () => {
  it('without a rule: done at once, the mark at the last seq, the records counted as scanned', async () => {
    const e = engine();
    expect(e.skip(5, 105)).toBe(true);
    expect(e.stored.seq).toBe(105);
    expect(e.stats().records_scanned).toBe(5);
    expect(await e.stored.when(103)).toBe(true);
    expect(e.skip(0, 105)).toBeUndefined(); // nothing to do: push decides (and says whether there is room)
    expect(e.skip(3, 108)).toBe(true);
    expect(e.stats().records_scanned).toBe(8);
  });

  it('with a rule: it wants the records (undefined), and what it then matches is stored', async () => {
    const e = engine();
    await store.createRule({ name: 'boom', pattern: 'boom', severity: 'error', source: null, overrides: null, std: 'both', cooldown_s: 0, enabled: true });
    await e.reload();
    expect(e.skip(2, 2)).toBeUndefined();
    expect(e.stored.seq).toBe(0);
    e.push([rec(1, 'boom one'), rec(2, 'quiet')]);
    expect(await e.stored.when(2)).toBe(true);
    expect((await store.queryEvents({})).events.map((ev) => ev.message)).toEqual(['boom one']);
  });

  it('records still queued: it wants these too, so the mark moves in seq order', async () => {
    const e = engine();
    await store.createRule({ name: 'boom', pattern: 'boom', severity: 'error', source: null, overrides: null, std: 'both', cooldown_s: 0, enabled: true });
    await e.reload();
    e.push([rec(1, 'boom')]);
    await store.deleteRule((await store.listRules())[0]!.id);
    await e.reload(); // no rule now, but record 1 is still queued
    expect(e.skip(1, 2)).toBeUndefined();
    await e.flush();
    expect(e.skip(1, 3)).toBe(true);
    expect(e.stored.seq).toBe(3);
  });
});
