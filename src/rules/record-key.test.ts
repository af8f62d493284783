/** A record from JetStream delivered again (a new seq on this or another server) makes no second event: events are keyed by the record's identity. */
import { describe, expect, it } from 'vitest';
import { InProcessBus } from '../core/bus.js';
import type { LogRecord } from '../core/record.js';
import { openSqliteStore } from '../store/sqlite/store.js';
import type { SluiceEvent } from '../store/types.js';
import { RuleEngine } from './engine.js';

let seq = 0;
const fromBus = (message: string, agentSeq: number): LogRecord => ({ seq: ++seq, time: 1_700_000_000_000, received: 0, source: 'app', stream: 'app', origin: { kind: 'file', path: '/a.log', agent: 'a1b2', agent_seq: agentSeq }, message, fields: {} });
const local = (message: string): LogRecord => ({ seq: ++seq, time: 1_700_000_000_000, received: 0, source: 'app', stream: 'app', origin: { kind: 'file', path: '/a.log' }, message, fields: {} });

describe('events keyed by record identity', () => {
  it('the same agent record twice: one event, published once, the repeat counted; local records are never keyed', async () => {
    const store = openSqliteStore(':memory:');
    const bus = new InProcessBus<SluiceEvent>();
    const published: SluiceEvent[] = [];
    bus.subscribe((e) => void published.push(e));
    await store.createRule({ name: 'boom', pattern: 'boom', severity: 'error', source: null, overrides: null, std: 'both', cooldown_s: 0, enabled: true });
    const e = new RuleEngine({ store, bus, config: { bucket_capacity: 100, bucket_window: 60_000, queue_size: 1000, max_message_bytes: 2048 } });
    await e.reload();
    e.push([fromBus('boom', 41), local('boom'), fromBus('boom', 42)]);
    await e.flush();
    e.push([fromBus('boom', 41), local('boom')]); // 41 delivered again; the local line is a new line
    await e.flush();
    await new Promise((r) => setImmediate(r));
    const events = (await store.queryEvents({})).events;
    expect(events.map((x) => x.origin.agent_seq ?? 'local')).toEqual(['local', 42, 'local', 41]);
    expect(published).toHaveLength(4);
    expect(e.stats()).toMatchObject({ hits: 5, events_written: 4, events_repeated: 1 });
    await store.close();
  });
});
