/** Each transform on its own, its config checks by key path, and a plan's state across a restart and a reload. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../core/record.js';
import { transformSchema, type TransformConfig } from './config.js';
import { applySteps, compileSteps, TransformPlan, type PlanHooks } from './plan.js';
import { Dedupe, Throttle } from './stateful.js';
import { Sessions } from './sessions.js';

const T0 = 1_700_000_000_000;
let n = 0;
function rec(message: string, over: Partial<LogRecord> = {}): LogRecord {
  n++;
  return { seq: 0, time: T0 + n, received: T0 + n, source: 'src', stream: 'app', origin: { kind: 'test' }, message, fields: {}, ...over };
}
const cfg = (c: Record<string, unknown>): TransformConfig => transformSchema.parse(c);

function hooks() {
  const drops: Record<string, number> = {};
  const emitted: LogRecord[] = [];
  const h: PlanHooks = { drop: (reason, k) => (drops[reason] = (drops[reason] ?? 0) + k), emit: (rs) => void emitted.push(...rs) };
  return { h, drops, emitted };
}

describe('stateless transforms', () => {
  it('drop: `in` over a field, `matches` over the message; the rest pass in order', () => {
    const steps = compileSteps([cfg({ type: 'drop', field: 'fields.app', in: ['noisy'] }), cfg({ type: 'drop', field: 'message', matches: '^health' })]);
    const rs = [rec('a', { fields: { app: 'noisy' } }), rec('healthcheck ok'), rec('b', { fields: { app: 'web' } }), rec('c')];
    expect(applySteps(steps, rs)).toBe(2);
    expect(rs.map((r) => r.message)).toEqual(['b', 'c']);
  });

  it('route: the selected records move to the configured stream, the others stay', () => {
    const rs = [rec('x', { level: 'error' }), rec('y', { level: 'info' })];
    applySteps(compileSteps([cfg({ type: 'route', field: 'level', in: ['error', 'critical'], stream: 'errors' })]), rs);
    expect(rs.map((r) => r.stream)).toEqual(['errors', 'app']);
  });

  it('extract: the first candidate that yields a value wins (a chain of fallbacks)', () => {
    const steps = compileSteps([
      cfg({ type: 'extract', into: 'attacker', from: [{ field: 'fields.src_ip' }, { field: 'message', matches: 'from (?P<v>\\d+\\.\\d+\\.\\d+\\.\\d+)' }, { field: 'origin.peer' }] }),
    ]);
    const rs = [rec('login', { fields: { src_ip: '10.0.0.1' } }), rec('failed from 192.168.1.9 port 22'), rec('no address here', { origin: { kind: 'test', peer: '172.16.0.3' } }), rec('nothing')];
    applySteps(steps, rs);
    expect(rs.map((r) => r.fields.attacker)).toEqual(['10.0.0.1', '192.168.1.9', '172.16.0.3', undefined]);
  });

  it('redact: every match of every pattern, in the message and in a field; a record sharing the frozen empty fields gets its own', () => {
    const steps = compileSteps([
      cfg({ type: 'redact', matches: ['password=\\S+', '\\b\\d{16}\\b'] }),
      cfg({ type: 'redact', field: 'fields.auth.token', matches: ['.+'] }),
    ]);
    const frozen = Object.freeze({}) as Record<string, unknown>;
    const rs = [rec('user=a password=hunter2 card 4111111111111111 and password=x'), rec('plain', { fields: { auth: { token: 'abc' } } }), rec('none', { fields: frozen })];
    applySteps(steps, rs);
    expect(rs[0]!.message).toBe('user=a [REDACTED] card [REDACTED] and [REDACTED]');
    expect(rs[1]!.fields).toEqual({ auth: { token: '[REDACTED]' } });
    expect(rs[2]!.fields).toEqual({});
  });
});

describe('config', () => {
  it('names what is wrong: a bad RE2, both `in` and `matches`, a bad path, a group-less extract pattern', () => {
    const bad = [
      { type: 'drop', field: 'message', matches: '(unclosed' },
      { type: 'drop', field: 'message', in: ['a'], matches: 'a' },
      { type: 'drop', field: 'nowhere', in: ['a'] },
      { type: 'extract', into: 'ip', from: [{ field: 'message', matches: '\\d+' }] },
      { type: 'redact', field: 'level', matches: ['x'] },
      { type: 'dedupe', keys: ['message'], window: '0s' },
    ];
    for (const b of bad) expect(transformSchema.safeParse(b).success, JSON.stringify(b)).toBe(false);
    expect(transformSchema.safeParse({ type: 'drop', field: 'message', matches: '(unclosed' }).error!.issues[0]!.path).toEqual(['matches']);
  });
});

describe('stateful transforms', () => {
  it('dedupe: the first of a key in the window passes, repeats drop, the window reopens after it; `only` limits it', () => {
    const d = new Dedupe(cfg({ type: 'dedupe', keys: ['fields.ip', 'message'], window: '60s', only: { field: 'level', in: ['warn'] } }) as never);
    const at = (t: number, msg: string, ip: string, level: 'warn' | 'info' = 'warn') => d.pass(rec(msg, { time: T0 + t, fields: { ip }, level }));
    expect([at(0, 'scan', '1.1.1.1'), at(1000, 'scan', '1.1.1.1'), at(2000, 'scan', '2.2.2.2'), at(59_999, 'scan', '1.1.1.1'), at(60_000, 'scan', '1.1.1.1'), at(61_000, 'scan', '1.1.1.1')]).toEqual([true, false, true, false, true, false]);
    // not selected by `only`: never deduplicated
    expect([at(0, 'x', '9', 'info'), at(1, 'x', '9', 'info')]).toEqual([true, true]);
  });

  it('dedupe: max_keys forgets the least recently seen key (counted), so that key passes again', () => {
    const d = new Dedupe(cfg({ type: 'dedupe', keys: ['message'], window: '1h', max_keys: 2 }) as never);
    const p = (m: string) => d.pass(rec(m, { time: T0 }));
    expect([p('a'), p('b'), p('a'), p('c')]).toEqual([true, true, false, true]); // c evicts b (a was seen later)
    expect(d.counters.evicted).toBe(1);
    expect([p('a'), p('b')]).toEqual([false, true]);
  });

  it('dedupe: 100k distinct keys through max_keys 10k: the state stays at 10k keys and the 90k evictions are counted', () => {
    const d = new Dedupe(cfg({ type: 'dedupe', keys: ['fields.k'], window: '1h', max_keys: 10_000 }) as never);
    let passed = 0;
    for (let i = 0; i < 100_000; i++) if (d.pass(rec('m', { time: T0, fields: { k: i } }))) passed++;
    expect(passed).toBe(100_000);
    expect(d.size).toBe(10_000);
    expect(d.counters.evicted).toBe(90_000);
    // the 10k most recent are still remembered
    expect(d.pass(rec('m', { time: T0, fields: { k: 99_999 } }))).toBe(false);
    expect(d.pass(rec('m', { time: T0, fields: { k: 0 } }))).toBe(true);
  });

  it('throttle: `rate` per `per` per key, refilled by arrival time', () => {
    const t = new Throttle(cfg({ type: 'throttle', keys: ['fields.user'], rate: 2, per: '1s' }) as never);
    const p = (ms: number, user: string) => t.pass(rec('m', { received: T0 + ms, fields: { user } }));
    expect([p(0, 'a'), p(1, 'a'), p(2, 'a'), p(3, 'b'), p(500, 'a'), p(900, 'a'), p(1500, 'a')]).toEqual([true, true, false, true, true, false, true]);
  });

  it('sessions: closed on idle, on max and at flush, with count, times, duration and distinct collected values', () => {
    const s = new Sessions(cfg({ type: 'sessions', keys: ['fields.ip'], idle: '30s', max: '10m', collect: ['fields.port'], max_values: 2 }) as never, 'src', 'app');
    const out: LogRecord[] = [];
    const emit = (r: LogRecord) => void out.push(r);
    const see = (ms: number, ip: string, port: number) => s.observe(rec('conn', { time: T0 + ms, received: T0 + ms, fields: { ip, port } }), emit);
    see(0, 'a', 22);
    see(1000, 'a', 80);
    see(1500, 'b', 22);
    see(2000, 'a', 22);
    see(3000, 'a', 443); // a third distinct port: past max_values
    s.tick(T0 + 32_000, emit); // b idle since 1500: closed; a (since 3000) not yet
    expect(out.length).toBe(1);
    s.tick(T0 + 33_000, emit);
    expect(out.map((r) => (r.fields.session as { keys: unknown }).keys)).toEqual([{ 'fields.ip': 'b' }, { 'fields.ip': 'a' }]);
    expect(out[1]!.fields.session).toMatchObject({ count: 4, first: new Date(T0).toISOString(), last: new Date(T0 + 3000).toISOString(), duration_ms: 3000, collected: { 'fields.port': ['22', '80'] }, reason: 'idle' });
    expect(out[1]!).toMatchObject({ stream: 'app', source: 'src', origin: { kind: 'session' } });
    out.length = 0;
    see(100_000, 'c', 1);
    see(100_000 + 600_000, 'c', 1); // lasted max: closed, a new one starts with this record
    expect(out.map((r) => (r.fields.session as { reason: string; count: number }).reason)).toEqual(['max']);
    s.flush(T0 + 800_000, emit);
    expect(out.map((r) => (r.fields.session as { reason: string; count: number }).reason)).toEqual(['max', 'shutdown']);
    expect(s.open).toBe(0);
  });
});

describe('plan', () => {
  const list = (): TransformConfig[] => [
    cfg({ type: 'redact', matches: ['secret=\\S+'] }),
    cfg({ type: 'dedupe', keys: ['message'], window: '1h' }),
    cfg({ type: 'sessions', keys: ['fields.user'], idle: '1h' }),
  ];

  it('splits the list: the leading stateless ones cross to a thread, the rest runs at commit and counts by reason', () => {
    const { h, drops } = hooks();
    const p = new TransformPlan('src', 'app', [...list(), cfg({ type: 'drop', field: 'message', in: ['bye'] })], h);
    expect(p.threaded.map((c) => c.type)).toEqual(['redact']);
    expect(p.hasMain).toBe(true);
    const rs = [rec('hi secret=1', { fields: { user: 'u' } }), rec('hi secret=2', { fields: { user: 'u' } }), rec('bye')];
    p.applyThreaded(rs);
    const got = p.applyMain(rs);
    expect(got.records.map((r) => r.message)).toEqual(['hi [REDACTED]']);
    expect(drops).toEqual({ dedupe: 1, drop: 1 });
    p.close(false);
  });

  it('a restart loads the saved state: a repeat inside the window is still dropped and an open session still counts', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-plan-'));
    const a = hooks();
    const p1 = new TransformPlan('src', 'app', list(), a.h, dir);
    p1.applyMain([rec('once', { fields: { user: 'u' } })]);
    p1.close(false); // a reload or a stop without flush: saved, not emitted
    expect(a.emitted).toEqual([]);
    const b = hooks();
    const p2 = new TransformPlan('src', 'app', list(), b.h, dir);
    expect(p2.applyMain([rec('once', { fields: { user: 'u' } }), rec('twice', { fields: { user: 'u' } })]).records.map((r) => r.message)).toEqual(['twice']);
    expect(b.drops).toEqual({ dedupe: 1 });
    p2.close(true);
    expect(b.emitted.map((r) => (r.fields.session as { count: number; reason: string }))).toMatchObject([{ count: 2, reason: 'shutdown' }]);
    // a plan for a changed dedupe (another window) starts empty: state is filed under the config
    const c = hooks();
    const changed = [list()[0]!, cfg({ type: 'dedupe', keys: ['message'], window: '2h' })];
    const p3 = new TransformPlan('src', 'app', changed, c.h, dir);
    expect(p3.applyMain([rec('once')]).records.map((r) => r.message)).toEqual(['once']);
    p3.close(false);
  });

  it('a reload hands unchanged stateful transforms to the new plan and flushes the sessions of the changed ones', () => {
    const a = hooks();
    const p1 = new TransformPlan('src', 'app', list(), a.h);
    p1.applyMain([rec('m', { fields: { user: 'u' } })]);
    const next = [list()[0]!, list()[1]!, cfg({ type: 'sessions', keys: ['fields.user'], idle: '2h' })];
    const p2 = new TransformPlan('src', 'app', next, a.h, undefined, p1);
    expect(a.emitted.map((r) => (r.fields.session as { reason: string }).reason)).toEqual(['shutdown']); // the old sessions transform's
    expect(p2.applyMain([rec('m', { fields: { user: 'u' } })]).records).toEqual([]); // the dedupe kept its key
    p2.close(false);
  });
});

describe('Lru', () => {
  it('evicts the least recently used: a get or a set moves a key to the end; delete in the middle keeps the order', async () => {
    const { Lru } = await import('./lru.js');
    const l = new Lru<number>(3);
    l.set('a', 1);
    l.set('b', 2);
    l.set('c', 3);
    l.get('a'); // order b, c, a
    expect(l.set('d', 4)).toEqual(['b', 2]);
    l.set('c', 30); // order a, d, c
    l.delete('d');
    expect([...l.entries()]).toEqual([['a', 1], ['c', 30]]);
    expect(l.oldest()).toEqual(['a', 1]);
    l.set('e', 5);
    expect(l.set('f', 6)).toEqual(['a', 1]);
    expect(l.size).toBe(3);
  });
});
