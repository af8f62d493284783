/**
 * The forward stage's sending and journal at their edges (mutation
 * testing): the retry delays (doubling from backoff_base with jitter, capped
 * by backoff_max, a Retry-After capped too, the attempt count reset after a
 * success or a dead letter) on a fake clock; how a failed send is said; the
 * dead-letter files and log; the journal written push by push and only for
 * kept records, an id beyond 2^53 or a journal with no whole line after its
 * id not sealed; the agent id's shape; a record larger than the batch buffer.
 */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LogRecord } from '../../core/record.js';
import { waitFor } from '../../../test/helpers/fake-pipeline.js';
import { forwardStage, OK, recs, scripted } from '../../../test/helpers/forward-stage.js';
import { serializeRecord } from '../../wire/json.js';
import type { ForwardTransport, SendResult } from './transport.js';

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  for (const c of open.splice(0).reverse()) await c();
});

const RETRY: SendResult = { ok: false, status: 503, retryable: true, error: 'HTTP 503', snippet: 'busy', latencyMs: 1 };

const stage = (t: ForwardTransport, extra: Record<string, unknown> = {}, dataDir = mkdtempSync(path.join(tmpdir(), 'sluice-fwdm-'))) => forwardStage(open, t, extra, dataDir);

/** Let the sender run its promise chain (real immediates: only timers and Date are fake). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe('ForwardStage retry delays (fake clock)', () => {
  it('doubles from backoff_base with jitter in [half, whole], capped by backoff_max; Retry-After wins, capped too; reset after a success and after a dead letter', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // the jitter: 3/4 of the backoff
    const s = scripted();
    const { st } = stage(s.t, { batch_records: 1, backoff_base: '1s', backoff_max: '5s' });
    st.push(recs(4)); // three sealed batches, the fourth open
    await settle();
    expect(s.sent.length).toBe(1);
    /** Answer the send in flight, and check the next send comes exactly `ms` later. */
    const answerAndExpectRetryAfter = async (r: SendResult, ms: number) => {
      const before = s.sent.length;
      s.waiting.shift()!(r);
      await settle();
      await vi.advanceTimersByTimeAsync(ms - 1);
      await settle();
      expect(s.sent.length).toBe(before);
      await vi.advanceTimersByTimeAsync(1);
      await settle();
      expect(s.sent.length).toBe(before + 1);
    };
    await answerAndExpectRetryAfter(RETRY, 750); // 1s: 500 + 0.5 * 500
    await answerAndExpectRetryAfter(RETRY, 1500); // 2s
    await answerAndExpectRetryAfter(RETRY, 3000); // 4s
    await answerAndExpectRetryAfter(RETRY, 3750); // 8s capped at 5s
    await answerAndExpectRetryAfter({ ...RETRY, retryAfterMs: 2000 }, 2000);
    await answerAndExpectRetryAfter({ ...RETRY, retryAfterMs: 9000 }, 5000); // capped by backoff_max
    expect(st.counters.retries).toBe(6);
    expect(new Set(s.sent.map((b) => b.key)).size).toBe(1);
    // acknowledged: the next batch starts again from backoff_base
    s.waiting.shift()!(OK);
    await settle();
    expect(s.sent.length).toBe(8);
    await answerAndExpectRetryAfter(RETRY, 750);
    await answerAndExpectRetryAfter(RETRY, 1500);
    // refused for good: dead-lettered, and the next batch starts from backoff_base too
    s.waiting.shift()!({ ...RETRY, status: 400, retryable: false });
    await settle();
    expect(s.sent.length).toBe(11);
    expect(st.counters.dead_lettered).toBe(1);
    await answerAndExpectRetryAfter(RETRY, 750);
    s.waiting.shift()!(OK);
    await settle();
    const stopping = st.stop(Date.now());
    await vi.advanceTimersByTimeAsync(10);
    await stopping;
  });

  it('without jitter the delay is half the backoff (never less)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const s = scripted();
    const { st } = stage(s.t, { batch_records: 1, backoff_base: '1s', backoff_max: '5s' });
    st.push(recs(2));
    await settle();
    s.waiting.shift()!(RETRY);
    await settle();
    await vi.advanceTimersByTimeAsync(499);
    await settle();
    expect(s.sent.length).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(s.sent.length).toBe(2);
    s.waiting.shift()!(OK);
    await settle();
    const stopping = st.stop(Date.now());
    await vi.advanceTimersByTimeAsync(10);
    await stopping;
  });
});

describe('ForwardStage: how a failed send is said', () => {
  it('an HTTP status without an answer, a long answer cut at 200 characters, no error text at all', async () => {
    const s = scripted();
    const { st } = stage(s.t, { batch_records: 1 });
    st.push(recs(2));
    const cases: [SendResult, string, string][] = [
      [{ ...RETRY, status: 502, snippet: '' }, 'http_502', 'cannot deliver to the central (HTTP 502): retrying'],
      [{ ...RETRY, status: 503, snippet: 'x'.repeat(300) }, 'http_503', `cannot deliver to the central (HTTP 503: ${'x'.repeat(200)}): retrying`],
      [{ ...RETRY, status: null, error: null, snippet: '' }, 'send_failed', 'cannot deliver to the central (failed): retrying'],
      [{ ...RETRY, status: null, error: 'read ECONNRESET after timeout', snippet: '' }, 'ECONNRESET', 'cannot deliver to the central (read ECONNRESET after timeout): retrying'],
      [{ ...RETRY, status: null, error: 'no timeout here', snippet: '' }, 'send_failed', 'cannot deliver to the central (no timeout here): retrying'],
    ];
    for (const [r, code, message] of cases) {
      await waitFor(() => s.waiting.length > 0, 'a send');
      s.waiting.shift()!(r);
      await waitFor(() => st.status().last_answer !== undefined && st.health.lastError?.message === message, message);
      expect(st.health.lastError!.code).toBe(code);
    }
    await waitFor(() => s.waiting.length > 0, 'a send');
    s.waiting.shift()!(OK);
    await waitFor(() => st.counters.batches_sent === 1, 'sent');
    expect(st.health.state).toBe('running');
    expect(st.counters).toMatchObject({ records_sent: 1, bytes_sent: s.sent[0]!.ndjson.length, send_ms_total: 3, retries: 5 });
  });

  it('a dead letter: its files private, its log with the HTTP status and the answer cut at 200 characters', async () => {
    const s = scripted();
    const { st, logs, dir } = stage(s.t, { batch_records: 2 });
    st.push(recs(3));
    await waitFor(() => s.waiting.length > 0, 'a send');
    s.waiting.shift()!({ ok: false, status: 413, retryable: false, error: 'HTTP 413', snippet: 'y'.repeat(250), latencyMs: 1 });
    await waitFor(() => st.counters.dead_lettered === 1, 'the dead letter');
    const dead = path.join(dir, 'dead');
    expect(statSync(dead).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dead, '1.ndjson')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dead, '1.json')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(dead, '1.ndjson'))).toEqual(s.sent[0]!.ndjson);
    const note = JSON.parse(readFileSync(path.join(dead, '1.json'), 'utf8')) as Record<string, unknown>;
    expect(note).toMatchObject({ id: 1, records: 2, status: 413, response: 'y'.repeat(250) });
    expect(readFileSync(path.join(dead, '1.json'), 'utf8').endsWith('}\n')).toBe(true);
    expect(logs).toContain(`forward:f: batch 1 (2 records) refused with HTTP 413: ${'y'.repeat(200)}; kept in ${dead}`);
    expect(st.health.lastError).toMatchObject({ code: 'http_413', message: `the central refused a batch for good (HTTP 413: ${'y'.repeat(200)}): kept in the dead-letter directory` });
    // a second one goes beside it (the directory exists)
    st.push(recs(2));
    await waitFor(() => s.waiting.length > 0, 'a send');
    s.waiting.shift()!({ ok: false, status: 400, retryable: false, error: 'HTTP 400', snippet: 'no', latencyMs: 1 });
    await waitFor(() => st.counters.dead_lettered === 2, 'the second dead letter');
    expect(existsSync(path.join(dead, '2.ndjson'))).toBe(true);
    expect(logs.filter((l) => l.includes('could not spool'))).toEqual([]);
  });
});

describe('ForwardStage journal', () => {
  const journalOf = (dir: string) => readFileSync(path.join(dir, 'open.journal'));

  it('the open batch is journaled push by push after its id; records of other streams write nothing; a seal empties it', async () => {
    const s = scripted();
    const { st, dir } = stage(s.t, { streams: ['app'], batch_records: 3 });
    st.push(recs(2, 'line', 'other'));
    expect(existsSync(path.join(dir, 'open.journal'))).toBe(false);
    const a = recs(1), b = recs(1);
    st.push(a);
    st.push([...recs(1, 'line', 'other'), ...b]);
    const j = journalOf(dir);
    expect(statSync(path.join(dir, 'open.journal')).mode & 0o777).toBe(0o600);
    expect(Number(j.readBigUInt64BE(0))).toBe(1);
    expect(j.subarray(8).toString()).toBe(serializeRecord(a[0]!) + '\n' + serializeRecord(b[0]!) + '\n');
    st.push(recs(2)); // the fourth record seals the first three
    const j2 = journalOf(dir);
    expect(Number(j2.readBigUInt64BE(0))).toBe(2);
    expect(j2.subarray(8).toString().trim().split('\n')).toHaveLength(1);
    st.push(recs(1, 'line', 'other')); // nothing new for the journal
    expect(journalOf(dir).length).toBe(j2.length);
    await waitFor(() => s.waiting.length > 0, 'a send');
    s.waiting.shift()!(OK);
    await waitFor(() => st.counters.batches_sent === 1, 'sent');
    await st.stop(Date.now()); // seals the open batch: the journal is emptied
    expect(journalOf(dir).length).toBe(0);
  });

  it('a crash\'s journal whose id is past 2^53, or whose only newline is inside its id, is not sealed', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sluice-fwdm-'));
    const dir = path.join(dataDir, 'spool', 'f');
    mkdirSync(dir, { recursive: true });
    const journal = (id: bigint, text: string) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(id);
      writeFileSync(path.join(dir, 'open.journal'), Buffer.concat([b, Buffer.from(text)]));
    };
    for (const [id, text] of [[2n ** 60n, '{"seq":1}\n'], [10n, '{"seq":1}']] as const) {
      journal(id, text);
      const s = scripted();
      const x = stage(s.t, {}, dataDir);
      expect(x.report).toMatchObject({ batches: 0, records: 0 });
      expect(x.st.status().spool_batches).toBe(0);
      expect(journalOf(dir).length).toBe(0);
      await x.st.stop(Date.now());
      open.pop();
    }
    // a good one for contrast: id 10 with a whole line
    journal(10n, '{"seq":1}\n');
    const s = scripted();
    const x = stage(s.t, {}, dataDir);
    expect(x.report).toMatchObject({ batches: 1, records: 1 });
  });
});

describe('ForwardStage agent id and big records', () => {
  it('an agent id of 16 to 64 lowercase hex characters is kept; anything else is replaced', async () => {
    const cases: [string, boolean][] = [
      ['0123456789abcdef', true],
      ['0123456789abcdef'.repeat(4), true],
      ['0123456789abcde', false],
      ['0123456789abcdef'.repeat(4) + '0', false],
      ['0123456789ABCDEF', false],
      ['x0123456789abcdef', false],
      ['0123456789abcdefx', false],
    ];
    for (const [id, kept] of cases) {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'sluice-fwdm-'));
      const dir = path.join(dataDir, 'spool', 'f');
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'agent-id'), id + '\n');
      const s = scripted();
      const { st } = stage(s.t, { batch_records: 1 }, dataDir);
      st.push(recs(2));
      await waitFor(() => s.sent.length === 1, 'a send');
      const agent = s.sent[0]!.key.slice(0, s.sent[0]!.key.lastIndexOf('-'));
      expect([id, agent === id]).toEqual([id, kept]);
      if (!kept) {
        expect(agent).toMatch(/^[0-9a-f]{24}$/);
        expect(readFileSync(path.join(dir, 'agent-id'), 'utf8')).toBe(agent + '\n');
      }
      s.waiting.shift()!(OK);
      await st.stop(Date.now());
      open.pop();
    }
  });

  it('a new agent id is written private', () => {
    const { dir } = stage(scripted().t);
    expect(readFileSync(path.join(dir, 'agent-id'), 'utf8')).toMatch(/^[0-9a-f]{24}\n$/);
    expect(statSync(path.join(dir, 'agent-id')).mode & 0o777).toBe(0o600);
  });

  it('a record several times larger than the batch buffer is sent whole', async () => {
    const s = scripted();
    const { st } = stage(s.t, { batch_bytes: 1024, batch_records: 1 });
    const big = recs(1, 'z'.repeat(300 * 1024));
    st.push([...big, ...recs(1)]);
    await waitFor(() => s.sent.length === 1, 'a send');
    const got = JSON.parse(s.sent[0]!.ndjson.toString()) as { seq: number; message: string };
    expect(got).toMatchObject({ seq: big[0]!.seq, message: big[0]!.message });
    s.waiting.shift()!(OK);
  });
});

describe('ForwardStage spool limits and the sender', () => {
  const same = (n: number, from: number): LogRecord[] => Array.from({ length: n }, (_, i) => ({ seq: from + i, time: 1_700_000_000_000, received: 1_700_000_000_000, source: 's', stream: 'app', origin: { kind: 'test' }, message: 'same size', fields: {} }));

  it('on_full = "pause" never drops: past spool_max the sealed batches all stay', () => {
    const s = scripted();
    const { st, drops } = stage(s.t, { batch_records: 1, spool_max: 1 });
    expect(st.push(recs(4))).toBe(false); // three sealed in one push, before the sender took any
    expect(st.status().spool_batches).toBe(3);
    expect(st.counters).toMatchObject({ dropped_batches: 0, dropped_records: 0 });
    expect(drops).toEqual({});
  });

  it('on_full = "drop_oldest": nothing dropped below spool_max, push keeps answering true past it, whole batches counted', () => {
    const s = scripted();
    const { st, drops } = stage(s.t, { batch_records: 2, spool_max: '1MiB', on_full: 'drop_oldest' });
    expect(st.push(recs(5))).toBe(true);
    expect(drops).toEqual({});
    const t = scripted();
    const x = stage(t.t, { batch_records: 2, spool_max: 1, on_full: 'drop_oldest' });
    expect(x.st.push(recs(7))).toBe(true); // three batches sealed; each new one drops the one before
    expect(x.st.counters).toMatchObject({ dropped_batches: 2, dropped_records: 4 });
    expect(x.drops).toEqual({ 'forward/spool_full': 4 });
    expect(x.st.status().spool_batches).toBe(1);
  });

  it('pause: a spool of exactly spool_max bytes is full', () => {
    const probe = stage(scripted().t, { batch_records: 1 });
    probe.st.push(same(2, 1));
    const bytes = probe.st.status().spool_bytes;
    expect(bytes).toBeGreaterThan(0);
    const s = stage(scripted().t, { batch_records: 1, spool_max: bytes });
    expect(s.st.push(same(2, 1))).toBe(false);
    const t = stage(scripted().t, { batch_records: 1, spool_max: bytes + 1 });
    expect(t.st.push(same(2, 1))).toBe(true);
  });

  it('a batch sealed while a send is on its way is spooled (nothing to wake), and sent next', async () => {
    const s = scripted();
    const { st, drops } = stage(s.t, { batch_records: 1 });
    st.push(recs(2));
    await waitFor(() => s.waiting.length === 1, 'a send');
    st.push(recs(1)); // seals the second batch while the first is on its way
    expect(drops).toEqual({});
    expect(st.status().spool_batches).toBe(2);
    s.waiting.shift()!(OK);
    await waitFor(() => s.waiting.length === 1, 'the second send');
    s.waiting.shift()!(OK);
    await waitFor(() => st.counters.batches_sent === 2, 'both sent');
  });

  it('an answer that arrives after stop is not taken: the batch stays for the next start, under its key', async () => {
    const s = scripted();
    const first = stage(s.t, { batch_records: 1 });
    first.st.push(recs(2));
    await waitFor(() => s.waiting.length === 1, 'a send');
    await first.st.stop(Date.now());
    s.waiting.shift()!(OK);
    await new Promise((r) => setImmediate(r));
    expect(first.st.counters.batches_sent).toBe(0);
    const again = scripted();
    const second = stage(again.t, {}, first.dataDir);
    expect(second.report).toMatchObject({ batches: 2 });
    await waitFor(() => again.sent.length === 1, 'sent again');
    expect(again.sent[0]!.key).toBe(s.sent[0]!.key);
    again.waiting.shift()!(OK);
  });

  it('a new batch during a retry delay wakes the sender at once (fake clock)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const s = scripted();
    const { st } = stage(s.t, { batch_records: 1, backoff_base: '10s', backoff_max: '10s' });
    st.push(recs(2));
    await settle();
    s.waiting.shift()!(RETRY);
    await settle();
    expect(s.sent.length).toBe(1);
    st.push(recs(1)); // seals a second batch: the sender tries again now, not after its delay
    await settle();
    expect(s.sent.length).toBe(2);
    expect(s.sent[1]!.key).toBe(s.sent[0]!.key);
    s.waiting.shift()!(OK);
    await settle();
    s.waiting.shift()!(OK);
    await settle();
    expect(st.counters.batches_sent).toBe(2);
    const stopping = st.stop(Date.now());
    await vi.advanceTimersByTimeAsync(10);
    await stopping;
  });
});
