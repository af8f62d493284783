import { describe, expect, it } from 'vitest';
import { eventInput } from '../../test/contract/store.contract.js';
import { storeSchema } from './config.js';
import { pruneOnce } from './retention.js';
import { openSqliteStore } from './sqlite/store.js';

describe('storeSchema', () => {
  it('has defaults, parses durations and refuses unknown keys and a postgres kind without url', () => {
    expect(storeSchema.parse({})).toMatchObject({ kind: 'sqlite', retention: 14 * 86_400_000, max_events: 1_000_000 });
    expect(storeSchema.parse({ retention: '2h' }).retention).toBe(7_200_000);
    expect(storeSchema.safeParse({ retension: '2h' }).success).toBe(false);
    expect(storeSchema.safeParse({ kind: 'postgres' }).success).toBe(false);
    expect(storeSchema.safeParse({ kind: 'postgres', url: 'postgres://u@h/db' }).success).toBe(true);
  });
});

describe('pruneOnce', () => {
  it('deletes events and deliveries past the age and the count limits', async () => {
    const store = openSqliteStore(':memory:');
    const now = 10 * 86_400_000;
    await store.insertEvents([
      eventInput({ time: now - 3 * 86_400_000 }), // too old
      ...Array.from({ length: 5 }, (_, i) => eventInput({ time: now - i * 1000, record_seq: i })),
    ]);
    const t = await store.createTrigger({ name: 't', url: 'https://x.example/', secret: '', filter: { severity: [], source: [], message_re: null }, enabled: true });
    const d = { trigger_id: t.id, delivery_id: 'd', event_id: null, result: 'ok' as const, status: 200, latency_ms: 1, attempts: 1, error: null, response_snippet: null, test: false };
    await store.insertDelivery({ ...d, time: now - 3 * 86_400_000 });
    await store.insertDelivery({ ...d, time: now });
    const r = await pruneOnce(store, { retention: 2 * 86_400_000, max_events: 3, max_deliveries: 10 }, now);
    expect(r).toEqual({ events: 3, deliveries: 1 });
    // the count limit keeps the newest by insertion
    expect((await store.queryEvents({})).events.map((e) => e.record_seq)).toEqual([4, 3, 2]);
    await store.close();
  });
});
