/** The rule engine's stored mark: a record's events are in the store when its seq is answered true; a failed write answers false; the mark keeps seq order. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../core/bus.js';
import type { LogRecord } from '../core/record.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/store.js';
import type { SluiceEvent } from '../store/types.js';
import { RuleEngine } from './engine.js';
import { StoredMark } from './stored-mark.js';

let seq = 0;
const rec = (message: string): LogRecord => ({ seq: ++seq, time: 1_700_000_000_000, received: 0, source: 'app', stream: 'app', origin: { kind: 'test' }, message, fields: {} });

describe('StoredMark', () => {
  it('answers a seq once the mark passes it: true, or false inside a failed range', async () => {
    const m = new StoredMark();
    const answers: [number, boolean][] = [];
    for (const s of [3, 5, 9]) void m.when(s).then((ok) => answers.push([s, ok]));
    m.fail(4, 6);
    m.advance(6);
    await Promise.resolve();
    expect(answers).toEqual([[3, true], [5, false]]);
    m.advance(9);
    await Promise.resolve();
    expect(answers).toEqual([[3, true], [5, false], [9, true]]);
    expect(await m.when(2)).toBe(true);
  });
});

describe('StoredMark at its edges', () => {
  /** Ask for each seq now; read the answers after the mark moves. */
  function ask(m: StoredMark, seqs: number[]): Map<number, boolean> {
    const answers = new Map<number, boolean>();
    for (const s of seqs) void m.when(s).then((ok) => answers.set(s, ok));
    return answers;
  }

  it('a failed range includes both its ends and nothing either side', async () => {
    const m = new StoredMark();
    const answers = ask(m, [3, 4, 5, 6, 7]);
    m.fail(4, 6);
    m.advance(7);
    await Promise.resolve();
    expect([...answers].sort(([a], [b]) => a - b)).toEqual([[3, true], [4, false], [5, false], [6, false], [7, true]]);
  });

  it('a one-record range fails that record; an empty range (to < from) fails none', async () => {
    const m = new StoredMark();
    const answers = ask(m, [5, 8, 9]);
    m.fail(5, 5);
    m.fail(9, 8);
    m.advance(9);
    await Promise.resolve();
    expect([answers.get(5), answers.get(8), answers.get(9)]).toEqual([false, true, true]);
  });

  it('a waiter at exactly the new mark is answered; one past it waits', async () => {
    const m = new StoredMark();
    const answers = ask(m, [6, 7]);
    m.advance(6);
    await Promise.resolve();
    expect([...answers]).toEqual([[6, true]]);
    m.advance(7);
    await Promise.resolve();
    expect(answers.get(7)).toBe(true);
  });

  it('a seq at the mark already is answered at once', async () => {
    const m = new StoredMark();
    m.advance(5);
    const answers = ask(m, [5]);
    await Promise.resolve();
    expect(answers.get(5)).toBe(true);
  });

  it('a failed seq at the mark already is answered false at once (a drop at the hard limit, then the mark passes)', async () => {
    const m = new StoredMark();
    m.fail(4, 6);
    m.advance(5);
    expect(await m.when(5)).toBe(false);
  });

  it('the mark never moves back', () => {
    const m = new StoredMark();
    expect(m.seq).toBe(0);
    m.advance(9);
    m.advance(5);
    expect(m.seq).toBe(9);
  });

  it('a failed range the mark is inside of still answers false for the seqs after the mark', async () => {
    const m = new StoredMark();
    m.fail(4, 6);
    m.advance(5);
    const answers = ask(m, [6]);
    m.advance(6);
    await Promise.resolve();
    expect(answers.get(6)).toBe(false);
  });
});

describe('RuleEngine.stored', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = openSqliteStore(':memory:');
  });
  afterEach(async () => {
    await store.close();
  });
  const engine = () => new RuleEngine({ store, bus: new InProcessBus<SluiceEvent>(), config: { bucket_capacity: 10, bucket_window: 60_000, queue_size: 1000, max_message_bytes: 2048 } });

  it('a record\'s seq is answered true only once its events are in the store', async () => {
    await store.createRule({ name: 'boom', pattern: 'boom', severity: 'error', source: null, overrides: null, std: 'both', cooldown_s: 0, enabled: true });
    const e = engine();
    await e.reload();
    // the store write held until the test lets it go
    const insert = store.insertEvents.bind(store);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    store.insertEvents = async (ev) => {
      await gate;
      return insert(ev);
    };
    const batch = [rec('fine'), rec('boom 1'), rec('boom 2')];
    e.push(batch);
    let answered = false;
    const seen: number[] = [];
    const done = e.stored.when(batch[2]!.seq).then(async (v) => {
      answered = true;
      seen.push((await store.queryEvents({})).events.length);
      return v;
    });
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    release();
    const ok = await done;
    expect([ok, seen]).toEqual([true, [2]]);
  });

  it('a failed store write answers false; records after it that store fine answer true', async () => {
    await store.createRule({ name: 'boom', pattern: 'boom', severity: 'error', source: null, overrides: null, std: 'both', cooldown_s: 0, enabled: true });
    const e = engine();
    await e.reload();
    const insert = store.insertEvents.bind(store);
    let fail = true;
    store.insertEvents = (ev) => (fail ? ((fail = false), Promise.reject(new Error('disk full'))) : insert(ev));
    const a = [rec('boom a')];
    e.push(a);
    const first = e.stored.when(a[0]!.seq);
    await e.flush();
    const b = [rec('boom b')];
    e.push(b);
    expect([await first, await e.stored.when(b[0]!.seq)]).toEqual([false, true]);
  });

  it('without rules a record is done at once', async () => {
    const e = engine();
    await e.reload();
    const a = [rec('x')];
    e.push(a);
    expect(e.stored.seq).toBe(a[0]!.seq);
    expect(await e.stored.when(a[0]!.seq)).toBe(true);
  });
});
