/**
 * reload() at the edge the r1 mutation run left open: the stored cooldown state is
 * read on the first reload only (a restart's restore), not again on every rule change.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../core/bus.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/store.js';
import type { SluiceEvent } from '../store/types.js';
import { RuleEngine } from './engine.js';

let store: SqliteStore;
beforeEach(() => { store = openSqliteStore(':memory:'); });
afterEach(async () => { await store.close(); });

describe('RuleEngine.reload (mutation testing, r1)', () => {
  it('reads the stored cooldown state on the first reload only', async () => {
    const load = store.loadRuleState.bind(store);
    let loads = 0;
    store.loadRuleState = async () => { loads++; return load(); };
    const e = new RuleEngine({
      store, bus: new InProcessBus<SluiceEvent>(), now: () => 1_000_000,
      config: { bucket_capacity: 1000, bucket_window: 60_000, queue_size: 1000, max_message_bytes: 2048 },
    });
    await e.reload();
    expect(loads).toBe(1);
    await store.createRule({ name: 'boom', pattern: 'boom', severity: 'error', source: null, overrides: null, std: 'both', cooldown_s: 60, enabled: true });
    await e.reload();
    await e.reload();
    expect(loads).toBe(1);
    expect(e.snapshot().ruleCount).toBe(1);
  });
});
