/**
 * The shared delivery queue's own edges (the hand-over between servers is
 * test/integration/bus-triggers.test.ts): the delivery id, the same
 * delivery queued twice kept once, and the queue's bound against a
 * nats-server of the test's own.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { busSchema } from './config.js';
import { deliveryIdOf, SharedDeliveries } from './deliveries.js';
import { openSqliteStore } from '../store/sqlite/store.js';
import { WebhookSender } from '../triggers/webhook.js';
import { triggersSchema } from '../triggers/config.js';
import type { SluiceEvent } from '../store/types.js';
import { NATS_SERVER, startNats, stopAllNats } from '../../test/helpers/nats.js';
import { requires } from '../../test/helpers/requires.js';

afterAll(() => stopAllNats());

describe('deliveryIdOf', () => {
  it('is the same for one trigger and event wherever it is made, different otherwise, and shaped as a UUID', () => {
    const id = deliveryIdOf(3, 1234);
    expect(deliveryIdOf(3, 1234)).toBe(id);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ids = new Set<string>();
    for (let t = 1; t <= 20; t++) for (let e = 1; e <= 500; e++) ids.add(deliveryIdOf(t, e));
    expect(ids.size).toBe(20 * 500);
    // (trigger 12, event 3) is not (trigger 1, event 23)
    expect(deliveryIdOf(12, 3)).not.toBe(deliveryIdOf(1, 23));
  });
});

describe.skipIf(!requires('nats-server', NATS_SERVER !== undefined, 'apt-get install nats-server'))('SharedDeliveries queue', () => {
  it('keeps a delivery queued twice once, and past queue_size drops the new one: logged, counted', async () => {
    const nats = await startNats();
    const store = openSqliteStore(':memory:');
    try {
      const tcfg = triggersSchema.parse({ queue_size: 2 });
      const drops: string[] = [];
      const sender = new WebhookSender({ store, config: tcfg });
      const t = await store.createTrigger({ name: 'hook', url: 'http://127.0.0.1:9/hook', secret: '', filter: { severity: [], source: [], message_re: null }, enabled: true });
      const ev = (id: number): SluiceEvent => ({ id, time: 0, severity: 'error', source: 'app', rule_id: 1, rule_name: 'r', message: `m${id}`, captures: {}, record_seq: id, origin: { kind: 'file' } });
      // not started: nothing takes deliveries off the queue
      const q = new SharedDeliveries(busSchema.parse({ kind: 'nats', url: nats.url }), tcfg, sender, () => t, () => undefined, (s, r) => void drops.push(`${s}/${r}`));
      await q.enqueue(t, ev(1));
      await q.enqueue(t, ev(1)); // the same delivery again (a repeat's): JetStream keeps one
      await q.enqueue(t, ev(2));
      await q.enqueue(t, ev(3)); // past queue_size
      expect(q.counters).toMatchObject({ published: 2, duplicates: 1, queue_full: 1 });
      expect(drops).toEqual(['webhook/queue_full']);
      const log = await store.listDeliveries(t.id);
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ delivery_id: deliveryIdOf(t.id, 3), result: 'dropped', error: 'queue full: dropped before delivery' });
      await q.stop();
    } finally {
      await store.close();
      await nats.stop();
    }
  });
});
