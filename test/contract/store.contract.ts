/**
 * The Store contract: every implementation runs this suite (see
 * src/store/sqlite/store.test.ts). The factory returns a fresh, empty store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/core/errors.js';
import type { Store } from '../../src/store/store.js';
import type { NewEvent, RuleInput, TriggerInput } from '../../src/store/types.js';

export function ruleInput(over: Partial<RuleInput> = {}): RuleInput {
  return {
    name: 'oom', pattern: 'out of memory', severity: 'error', source: null, overrides: null,
    std: 'both', cooldown_s: 0, enabled: true, ...over,
  };
}

export function eventInput(over: Partial<NewEvent> = {}): NewEvent {
  return {
    time: 1_700_000_000_000, severity: 'error', source: 'app', rule_id: 1, rule_name: 'oom',
    message: 'java.lang.OutOfMemoryError: heap', captures: { kind: 'heap' }, record_seq: 1,
    origin: { kind: 'file', path: '/var/log/app.log' }, ...over,
  };
}

function triggerInput(over: Partial<TriggerInput> = {}): TriggerInput {
  return {
    name: 'pager', url: 'https://hooks.example.com/x', secret: 's3cret',
    filter: { severity: ['error'], source: [], message_re: null }, enabled: true, ...over,
  };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SluiceError);
  expect((err as SluiceError).code).toBe(code);
}

export function storeContract(name: string, factory: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => { store = await factory(); });
    afterEach(async () => { await store.close(); });

    describe('rules', () => {
      it('creates, reads, partially updates and lists rules', async () => {
        const r = await store.createRule(ruleInput({ cooldown_s: 30 }));
        expect(r.id).toBeGreaterThan(0);
        expect(await store.getRule(r.id)).toEqual(r);
        const u = await store.updateRule(r.id, { severity: 'critical', enabled: false });
        expect(u).toMatchObject({ name: 'oom', pattern: 'out of memory', severity: 'critical', enabled: false, cooldown_s: 30 });
        expect(await store.listRules()).toEqual([u]);
      });

      it('validates override scope', async () => {
        const g = await store.createRule(ruleInput());
        const scoped = await store.createRule(ruleInput({ source: 'app' }));
        await expectCode(store.createRule(ruleInput({ overrides: g.id })), 'SLUICE_ERR_RULE_SCOPE'); // no source
        await expectCode(store.createRule(ruleInput({ source: 'app', overrides: 9999 })), 'SLUICE_ERR_RULE_SCOPE');
        await expectCode(store.createRule(ruleInput({ source: 'web', overrides: scoped.id })), 'SLUICE_ERR_RULE_SCOPE');
        await store.createRule(ruleInput({ source: 'app', overrides: g.id, enabled: false }));
        await expectCode(store.createRule(ruleInput({ source: 'app', overrides: g.id })), 'SLUICE_ERR_RULE_CONFLICT');
        // another source may override the same global
        await store.createRule(ruleInput({ source: 'web', overrides: g.id }));
      });

      it('refuses to scope a global that has overrides, and unknown ids', async () => {
        const g = await store.createRule(ruleInput());
        await store.createRule(ruleInput({ source: 'app', overrides: g.id }));
        await expectCode(store.updateRule(g.id, { source: 'app' }), 'SLUICE_ERR_RULE_SCOPE');
        await expectCode(store.updateRule(424242, { name: 'x' }), 'SLUICE_ERR_RULE_NOT_FOUND');
        await expectCode(store.deleteRule(424242), 'SLUICE_ERR_RULE_NOT_FOUND');
      });

      it('deleting a global deletes its overrides and their state, and nothing else', async () => {
        const g = await store.createRule(ruleInput());
        const other = await store.createRule(ruleInput({ name: 'other' }));
        const o1 = await store.createRule(ruleInput({ source: 'app', overrides: g.id, enabled: false }));
        const o2 = await store.createRule(ruleInput({ source: 'web', overrides: g.id, pattern: 'OOM' }));
        const own = await store.createRule(ruleInput({ source: 'app', name: 'own' }));
        await store.saveRuleState([
          { rule_id: g.id, instance: 'app', last_fired: 5 },
          { rule_id: o2.id, instance: 'web', last_fired: 6 },
          { rule_id: other.id, instance: 'app', last_fired: 7 },
        ]);
        const removed = await store.deleteRule(g.id);
        expect(removed.sort()).toEqual([g.id, o1.id, o2.id].sort());
        expect((await store.listRules()).map((r) => r.id).sort()).toEqual([other.id, own.id].sort());
        expect(await store.loadRuleState()).toEqual([{ rule_id: other.id, instance: 'app', last_fired: 7 }]);
      });
    });

    describe('triggers', () => {
      it('CRUD with partial update that merges the filter', async () => {
        const t = await store.createTrigger(triggerInput());
        expect(t.secret).toBe('s3cret');
        const u = await store.updateTrigger(t.id, { filter: { source: ['app'] }, enabled: false });
        expect(u.filter).toEqual({ severity: ['error'], source: ['app'], message_re: null });
        expect(u.secret).toBe('s3cret');
        expect(u.enabled).toBe(false);
        expect(await store.listTriggers()).toEqual([u]);
        await store.deleteTrigger(t.id);
        expect(await store.getTrigger(t.id)).toBeUndefined();
        await expectCode(store.deleteTrigger(t.id), 'SLUICE_ERR_TRIGGER_NOT_FOUND');
        await expectCode(store.updateTrigger(t.id, { name: 'x' }), 'SLUICE_ERR_TRIGGER_NOT_FOUND');
      });
    });

    describe('events', () => {
      it('inserts a batch and reads it back newest first', async () => {
        const ins = await store.insertEvents([eventInput({ record_seq: 1 }), eventInput({ record_seq: 2, captures: {} })]);
        expect(ins[1]!.id).toBeGreaterThan(ins[0]!.id);
        const page = await store.queryEvents({});
        expect(page.events).toEqual([ins[1], ins[0]]);
        expect(page.next).toBeNull();
      });

      it('one event per rule and record_key: a repeat is left out (also within one batch), other rules and keyless events are stored', async () => {
        const first = await store.insertEvents([eventInput({ record_seq: 1, record_key: 'a1:7' }), eventInput({ record_seq: 2 })]);
        expect(first.map((e) => e.record_seq)).toEqual([1, 2]);
        expect(first[0]).not.toHaveProperty('record_key');
        const again = await store.insertEvents([
          eventInput({ record_seq: 11, record_key: 'a1:7' }), // the same record again (another server's seq)
          eventInput({ record_seq: 12, rule_id: 2, record_key: 'a1:7' }), // another rule's hit on it
          eventInput({ record_seq: 13 }), // no key: always stored
          eventInput({ record_seq: 14, record_key: 'a1:8' }),
          eventInput({ record_seq: 15, record_key: 'a1:8' }), // twice in one batch
        ]);
        expect(again.map((e) => e.record_seq)).toEqual([12, 13, 14]);
        expect(again[2]!.id).toBeGreaterThan(again[1]!.id);
        const page = await store.queryEvents({});
        expect(page.events.map((e) => e.record_seq)).toEqual([14, 13, 12, 2, 1]);
        expect(page.events.find((e) => e.record_seq === 14)).toEqual(again[2]);
      });

      it('paginates with a cursor without gaps or repeats', async () => {
        const all = await store.insertEvents(Array.from({ length: 25 }, (_, i) => eventInput({ record_seq: i })));
        const seen: number[] = [];
        let before: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await store.queryEvents({ limit: 10, before });
          seen.push(...page.events.map((e) => e.record_seq));
          if (!page.next) break;
          before = page.next;
        }
        expect(seen).toEqual(all.map((e) => e.record_seq).reverse());
        await expectCode(store.queryEvents({ before: 'garbage!' }), 'SLUICE_ERR_STORE_CURSOR');
      });

      it('filters by severity, source, rule, time and text', async () => {
        await store.insertEvents([
          eventInput({ severity: 'warn', source: 'app', rule_id: 1, time: 1000, message: 'disk almost full on /var' }),
          eventInput({ severity: 'error', source: 'web', rule_id: 2, time: 2000, message: 'connection refused to db-1' }),
          eventInput({ severity: 'critical', source: 'app', rule_id: 2, time: 3000, message: 'Connection reset by peer' }),
        ]);
        const msgs = async (q: Parameters<Store['queryEvents']>[0]) => (await store.queryEvents(q)).events.map((e) => e.time);
        expect(await msgs({ severity: ['error', 'critical'] })).toEqual([3000, 2000]);
        expect(await msgs({ source: ['app'] })).toEqual([3000, 1000]);
        expect(await msgs({ rule_id: 2 })).toEqual([3000, 2000]);
        expect(await msgs({ since: 1500, until: 3000 })).toEqual([2000]);
        expect(await msgs({ q: 'connection' })).toEqual([3000, 2000]);
        expect(await msgs({ q: 'connection refused' })).toEqual([2000]);
        expect(await msgs({ q: 'connection', source: ['app'] })).toEqual([3000]);
        // FTS syntax in user text is inert, not an error
        expect(await msgs({ q: '"refused* (NEAR' })).toEqual([]);
        expect(await msgs({ q: '(refused)* "' })).toEqual([2000]);
        expect(await msgs({ q: '/' })).toEqual([1000]);
      });

      it('q matches whole words, case- and accent-folded, in any order; only punctuation is a substring test (docs/api.md)', async () => {
        await store.insertEvents([
          eventInput({ time: 1000, message: 'payment 42 failed: card_declined' }),
          eventInput({ time: 2000, message: 'Café PAYMENTS -> retry' }),
          eventInput({ time: 3000, message: 'failover done' }),
        ]);
        const msgs = async (q: string) => (await store.queryEvents({ q })).events.map((e) => e.time);
        expect(await msgs('fail')).toEqual([]); // not a prefix: "failed" and "failover" are other words
        expect(await msgs('FAILED')).toEqual([1000]);
        expect(await msgs('payment')).toEqual([1000]); // not "PAYMENTS"
        expect(await msgs('failed payment')).toEqual([1000]); // every word, in any order
        expect(await msgs('cafe')).toEqual([2000]);
        expect(await msgs('declined')).toEqual([1000]); // "_" separates words
        expect(await msgs('card_declined')).toEqual([1000]); // ... and in the query, a phrase
        expect(await msgs('ayment')).toEqual([]);
        expect(await msgs('->')).toEqual([2000]);
      });

      it('prunes by age and by count, oldest first', async () => {
        await store.insertEvents(Array.from({ length: 20 }, (_, i) => eventInput({ time: i * 1000, record_seq: i })));
        expect(await store.pruneEvents({ olderThan: 5000 })).toBe(5);
        expect(await store.countEvents()).toBe(15);
        expect(await store.pruneEvents({ maxCount: 4 })).toBe(11);
        expect((await store.queryEvents({})).events.map((e) => e.record_seq)).toEqual([19, 18, 17, 16]);
        // pruned rows leave the text index too
        expect((await store.queryEvents({ q: 'OutOfMemoryError' })).events).toHaveLength(4);
        expect(await store.pruneEvents({ maxCount: 10 })).toBe(0);
      });
    });

    describe('deliveries', () => {
      it('logs deliveries per trigger, newest first, cascading with the trigger', async () => {
        const t = await store.createTrigger(triggerInput());
        const base = {
          trigger_id: t.id, delivery_id: 'd1', event_id: null, result: 'failed' as const, status: 503, latency_ms: 12.5,
          attempts: 1, error: 'HTTP 503', response_snippet: 'busy', test: false, time: 1,
        };
        await store.insertDelivery(base);
        const d2 = await store.insertDelivery({ ...base, delivery_id: 'd2', result: 'ok', status: 200, error: null, test: true, time: 2 });
        const list = await store.listDeliveries(t.id);
        expect(list.map((d) => d.delivery_id)).toEqual(['d2', 'd1']);
        expect(list[0]).toEqual(d2);
        // only a delivery logged ok counts as made (a server about to make one again asks)
        expect(await store.deliveredOk('d2')).toBe(true);
        expect(await store.deliveredOk('d1')).toBe(false);
        expect(await store.deliveredOk('nope')).toBe(false);
        expect(await store.pruneDeliveries({ maxCount: 1 })).toBe(1);
        await store.deleteTrigger(t.id);
        expect(await store.listDeliveries(t.id)).toEqual([]);
      });
    });

    describe('rule state', () => {
      it('upserts, loads and prunes', async () => {
        const r = await store.createRule(ruleInput());
        await store.saveRuleState([{ rule_id: r.id, instance: 'app/c1', last_fired: 10 }]);
        await store.saveRuleState([
          { rule_id: r.id, instance: 'app/c1', last_fired: 20 },
          { rule_id: r.id, instance: 'app/c2', last_fired: 5 },
          { rule_id: 999_999, instance: 'gone', last_fired: 5 }, // deleted rule: skipped
        ]);
        const rows = (await store.loadRuleState()).sort((a, b) => a.instance.localeCompare(b.instance));
        expect(rows).toEqual([
          { rule_id: r.id, instance: 'app/c1', last_fired: 20 },
          { rule_id: r.id, instance: 'app/c2', last_fired: 5 },
        ]);
        expect(await store.pruneRuleState(10)).toBe(1);
        expect(await store.loadRuleState()).toHaveLength(1);
      });
    });
  });
}
