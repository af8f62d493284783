/**
 * The forward stage against a scripted transport (no network): batches
 * sealed by count and bytes, status, how a refusal shows in health and
 * last_answer (retryable or for good, HTTP or not), the open batch sealed
 * at stop, the journal a crash left (sealed, dropped when already spooled,
 * cut at its last whole line), and the agent id kept across restarts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { waitFor } from '../../../test/helpers/fake-pipeline.js';
import { forwardStage, OK, recs, scripted } from '../../../test/helpers/forward-stage.js';
import type { ForwardTransport, OutgoingBatch } from './transport.js';
import { Spool } from './spool.js';
import { Hub } from '../../hub/hub.js';
import { runJob } from '../../parse/worker.js';
import { entryJson } from '../../wire/block.js';
import type { EncodedBatch } from '../../wire/encoded.js';

/** Five records as a parse thread writes them (`digits` reserved for their seqs; 0: tails only). */
function encodedBatch(digits: number): EncodedBatch {
  const text = ['{"level":"error","msg":"zero ü"}', 'one', '{"msg":"two","k":"v"}', 'three ✓', 'four'].join('\n') + '\n';
  const res = runJob({ id: 1, items: [Buffer.from(text)], maxLineBytes: 1 << 20, format: 'auto', now: 1_700_000_000_000, source: 's', stream: 'a', origin: '{"kind":"t"}', seqDigits: digits }, null);
  return { kind: 'encoded', buf: Buffer.from(res.buf.buffer, res.buf.byteOffset, res.buf.length), ends: res.ends, msg: res.msg, times: res.times, levels: res.levels, digits, received: 1_700_000_000_000, source: 's', stream: 'a', origin: { kind: 't' } };
}

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c();
});

const stage = (t: ForwardTransport, extra: Record<string, unknown> = {}, dataDir?: string) => forwardStage(open, t, extra, dataDir);

const lines = (b: OutgoingBatch) => b.ndjson.toString().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { seq: number }).seq);

describe('ForwardStage with a scripted transport', () => {
  it('seals by batch_records; the open batch waits; status shows spool, open batch, average send time and the transport\'s counters', async () => {
    const s = scripted(() => ({ published: 7 }));
    const { st } = stage(s.t, { batch_records: 10 });
    expect(st.status()).toMatchObject({ name: 'f', url: 'scripted://central', spool_bytes: 0, spool_batches: 0, spool_records: 0, spool_max: 1024 ** 3, oldest_unacked_s: null, open_batch_records: 0, avg_send_ms: null, transport: { published: 7 }, state: 'running' });
    const rs = recs(25);
    expect(st.push(rs)).toBe(true);
    await waitFor(() => s.sent.length === 1, 'the first send');
    const st1 = st.status();
    expect(st1).toMatchObject({ spool_batches: 2, spool_records: 20, open_batch_records: 5 });
    expect(st1.oldest_unacked_s).toBeGreaterThanOrEqual(0);
    expect(st1.spool_bytes).toBeGreaterThan(0);
    expect(lines(s.sent[0]!)).toEqual(rs.slice(0, 10).map((r) => r.seq));
    await s.answer({ ...OK, latencyMs: 3 });
    await s.answer({ ...OK, latencyMs: 4.5 });
    await waitFor(() => st.counters.batches_sent === 2, 'two acknowledged');
    expect(lines(s.sent[1]!)).toEqual(rs.slice(10, 20).map((r) => r.seq));
    expect(st.status()).toMatchObject({ spool_batches: 0, spool_records: 0, oldest_unacked_s: null, avg_send_ms: 3.75, counters: { batches_sent: 2, records_sent: 20, send_ms_total: 7.5 } });
    expect(st.counters.bytes_sent).toBe(s.sent[0]!.ndjson.length + s.sent[1]!.ndjson.length);
  });

  it('a transport that prepares ahead: each batch is read from the spool once, and the bytes prepared are the bytes sent', async () => {
    const s = scripted();
    const prepared: OutgoingBatch[] = [];
    const t: ForwardTransport = { ...s.t, prepare: (b) => void prepared.push(b) };
    const reads = vi.spyOn(Spool.prototype, 'read');
    try {
      const { st } = stage(t, { batch_records: 2 });
      const rs = recs(7);
      st.push(rs); // three sealed batches, one record open
      for (let i = 0; i < 3; i++) await s.answer(OK);
      await waitFor(() => st.counters.batches_sent === 3, 'three acknowledged');
      expect(s.sent.map(lines)).toEqual([rs.slice(0, 2), rs.slice(2, 4), rs.slice(4, 6)].map((b) => b.map((r) => r.seq)));
      expect(prepared.map(lines)).toEqual(s.sent.slice(1).map(lines));
      // the batch prepared ahead went out with the same buffer
      expect(s.sent[1]!.ndjson).toBe(prepared[0]!.ndjson);
      expect(reads).toHaveBeenCalledTimes(3);
    } finally {
      reads.mockRestore();
    }
  });

  for (const [digits, first] of [[0, 1], [1, 1], [3, 1], [3, 100]] as const) {
    it(`an encoded batch (seq digits ${digits}, seqs from ${first}): the records' bytes as the hub has them, sealed by count like records`, async () => {
      const b = encodedBatch(digits);
      const hub = new Hub({ seqStart: first - 1, defaults: { replay: 100, replayBytes: 1 << 20 }, streams: {}, drop: () => {} });
      expect(hub.publish(b)).toBe(first);
      const want = hub.records('a', 0, 10).map((e) => entryJson(e));
      expect(want.map((w) => (JSON.parse(w) as { seq: number }).seq)).toEqual([0, 1, 2, 3, 4].map((i) => first + i));
      const s = scripted();
      const { st } = stage(s.t, { batch_records: 2 });
      expect(st.pushEncoded(b, first)).toBe(true);
      expect(st.status().open_batch_records).toBe(1);
      await s.answer(OK);
      await s.answer(OK);
      await waitFor(() => st.counters.batches_sent === 2, 'two sent');
      await st.stop(Date.now() + 1000);
      expect(s.sent.map((x) => x.ndjson.toString())).toEqual([want.slice(0, 2), want.slice(2, 4), want.slice(4)].map((w) => w.join('\n') + '\n'));
    });
  }

  it('seals by batch_bytes: a record that would pass it starts the next batch', async () => {
    const s = scripted();
    const { st } = stage(s.t, { batch_bytes: 600, gzip: false });
    const rs = recs(6, 'x'.repeat(150)); // ~250 bytes a line: two fit in 600, three do not
    st.push(rs);
    await waitFor(() => s.sent.length === 1, 'a send');
    expect(lines(s.sent[0]!)).toEqual(rs.slice(0, 2).map((r) => r.seq));
    expect(st.status().open_batch_records).toBe(2);
  });

  it('a retryable refusal: degraded with the HTTP status and the answer, last_answer kept, retried under the same key, then running again', async () => {
    const s = scripted();
    const { st } = stage(s.t, { batch_records: 2 });
    st.push(recs(3)); // the third record seals the first two
    await s.answer({ ok: false, status: 503, retryable: true, error: 'HTTP 503', snippet: 'busy', latencyMs: 1 });
    await waitFor(() => s.sent.length === 2, 'the retry');
    expect(s.sent[1]!.key).toBe(s.sent[0]!.key);
    expect(st.counters.retries).toBe(1);
    expect(st.health.state).toBe('degraded');
    expect(st.health.lastError).toMatchObject({ code: 'http_503', message: 'cannot deliver to the central (HTTP 503: busy): retrying' });
    expect(st.status().last_answer).toMatchObject({ status: 503, snippet: 'busy' });
    await s.answer(OK);
    await waitFor(() => st.counters.batches_sent === 1, 'the acknowledgement');
    expect(st.health.state).toBe('running');
  });

  it('a network error is named by its errno, a timeout as timeout, anything else send_failed', async () => {
    const s = scripted();
    const { st } = stage(s.t, { batch_records: 1 });
    st.push(recs(2));
    const cases: [string, string][] = [
      ['connect ECONNREFUSED 10.0.0.1:80', 'ECONNREFUSED'],
      ['timeout: no answer within 5 ms', 'timeout'],
      ['socket hang up', 'send_failed'],
    ];
    for (const [error, code] of cases) {
      await s.answer({ ok: false, status: null, retryable: true, error, snippet: '', latencyMs: 1 });
      await waitFor(() => st.health.lastError?.code === code, code);
      expect(st.health.lastError!.message).toBe(`cannot deliver to the central (${error}): retrying`);
    }
    await s.answer(OK);
  });

  it('a refusal for good without an HTTP status: dead-lettered, said without a status, and sending goes on', async () => {
    const s = scripted();
    const { st, logs, drops, dir } = stage(s.t, { batch_records: 2 });
    st.push(recs(5));
    await s.answer({ ok: false, status: null, retryable: false, error: 'too large', snippet: 'a record is larger than max_payload', latencyMs: 1 });
    await s.answer(OK);
    await waitFor(() => st.counters.batches_sent === 1, 'the next batch');
    expect(st.counters.dead_lettered).toBe(1);
    expect(drops['forward/rejected']).toBe(2);
    expect(logs.find((l) => l.includes('refused'))).toMatch(/^forward:f: batch 1 \(2 records\) refused: a record is larger than max_payload; kept in .*dead$/);
    expect(st.health.lastError).toMatchObject({ code: 'send_failed', message: 'the central refused a batch for good (too large): kept in the dead-letter directory' });
    const note = JSON.parse(readFileSync(path.join(dir, 'dead', '1.json'), 'utf8')) as Record<string, unknown>;
    expect(note).toMatchObject({ id: 1, records: 2, status: null, response: 'a record is larger than max_payload' });
  });

  it('stop seals the open batch into the spool and waits until the deadline for the sender; what is left is sent at the next start', async () => {
    const s = scripted();
    const first = stage(s.t, { batch_records: 100 });
    const rs = recs(3);
    first.st.push(rs);
    expect(first.st.status().open_batch_records).toBe(3);
    const stopping = first.st.stop(Date.now() + 30);
    await Promise.all([stopping, first.st.stop(Date.now())]); // a second call waits for the same stop
    expect(first.st.health.state).toBe('stopped');
    expect(s.sent.map(lines)).toEqual([rs.map((r) => r.seq)]); // sent, never answered
    const again = scripted();
    const second = stage(again.t, { batch_records: 100 }, first.dataDir);
    expect(second.report).toMatchObject({ batches: 1, records: 3 });
    await again.answer(OK);
    await waitFor(() => second.st.counters.records_sent === 3, 'the batch sent again');
    expect(again.sent[0]!.key).toBe(s.sent[0]!.key);
  });

  it('the journal a crash left: sealed when its id is new, dropped when that batch reached the spool, cut at its last whole line', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sluice-fwds-'));
    const dir = path.join(dataDir, 'spool', 'f');
    // a spool whose last batch is id 4, and a journal for id 4 (sealed before the crash): dropped
    const sp = new Spool(dir, { fsync: 'off', fsyncIntervalMs: 1000 });
    sp.open();
    sp.append(Buffer.from('{"seq":1}\n'), 1, false, Date.now(), 4);
    sp.close();
    const journal = (id: number, text: string) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(id));
      writeFileSync(path.join(dir, 'open.journal'), Buffer.concat([b, Buffer.from(text)]));
    };
    journal(4, '{"seq":1}\n');
    const s1 = scripted();
    const a = stage(s1.t, {}, dataDir);
    expect(a.report).toMatchObject({ batches: 1, records: 1 });
    expect(readFileSync(path.join(dir, 'open.journal')).length).toBe(0);
    await a.st.stop(Date.now());
    open.pop();
    // a new id: sealed with its whole lines only (a torn last line is not a record)
    journal(9, '{"seq":2}\n{"seq":3}\n{"seq":4,"mess');
    const s2 = scripted();
    const b = stage(s2.t, {}, dataDir);
    expect(b.report).toMatchObject({ batches: 2, records: 3 });
    await s2.answer(OK);
    await s2.answer(OK);
    await waitFor(() => s2.sent.length === 2, 'both sent');
    expect(s2.sent.map((x) => [x.key.split('-').pop(), x.records])).toEqual([['4', 1], ['9', 2]]);
    expect(s2.sent[1]!.ndjson.toString()).toBe('{"seq":2}\n{"seq":3}\n');
    await b.st.stop(Date.now());
    open.pop();
    // an id but no whole line, or nothing after the id: nothing to seal
    for (const text of ['{"seq":5', '']) {
      journal(20, text);
      const s3 = scripted();
      const c = stage(s3.t, {}, dataDir);
      expect(c.report.batches).toBe(0);
      await c.st.stop(Date.now());
      open.pop();
    }
  });

  it('a damaged frame the spool skipped at start: counted (frames, bytes, a spool_corrupt drop) and said', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sluice-fwds-'));
    const dir = path.join(dataDir, 'spool', 'f');
    const sp = new Spool(dir, { fsync: 'off', fsyncIntervalMs: 1000 });
    sp.open();
    const bad = sp.append(Buffer.from('{"seq":1}\n'), 1, false);
    sp.append(Buffer.from('{"seq":2}\n'), 1, false);
    sp.close();
    const seg = path.join(dir, 'seg-0000000000000001.spool');
    const buf = readFileSync(seg);
    buf[bad.off] ^= 0xff; // its magic
    writeFileSync(seg, buf);
    const { st, drops, logs, report } = stage(scripted().t, {}, dataDir);
    expect(report).toMatchObject({ batches: 1, corrupt_frames: 1, corrupt_bytes: bad.bytes });
    expect(st.counters).toMatchObject({ recovered_batches: 1, corrupt_frames: 1, corrupt_bytes: bad.bytes });
    expect(drops).toEqual({ 'forward/spool_corrupt': 1 });
    expect(logs).toContain(`forward:f: the spool had 1 damaged frame(s), ${bad.bytes} bytes skipped; 1 good batch(es) kept`);
  });

  it('the agent id is random once and kept; a damaged one is replaced', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sluice-fwds-'));
    const keyOf = async () => {
      const s = scripted();
      const x = stage(s.t, { batch_records: 1 }, dataDir);
      x.st.push(recs(2));
      await s.answer(OK);
      await waitFor(() => x.st.counters.batches_sent === 1, 'sent');
      await x.st.stop(Date.now());
      open.pop();
      return s.sent[0]!.key;
    };
    const k1 = await keyOf();
    expect(k1).toMatch(/^[0-9a-f]{24}-\d+$/);
    const agent = k1.slice(0, k1.lastIndexOf('-'));
    expect(readFileSync(path.join(dataDir, 'spool', 'f', 'agent-id'), 'utf8')).toBe(agent + '\n');
    expect((await keyOf()).startsWith(agent + '-')).toBe(true);
    writeFileSync(path.join(dataDir, 'spool', 'f', 'agent-id'), 'not-hex\n');
    const k3 = await keyOf();
    expect(k3.startsWith(agent + '-')).toBe(false);
    expect(k3).toMatch(/^[0-9a-f]{24}-\d+$/);
  });

  it('on_full = "pause": push answers false at spool_max; onDrain is called at once when there is room', async () => {
    const s = scripted();
    const { st } = stage(s.t, { batch_records: 1, spool_max: 1 });
    let called = 0;
    st.onDrain(() => called++);
    expect(called).toBe(1);
    expect(st.push(recs(2))).toBe(false); // the second record sealed the first: the spool is past 1 byte
    st.onDrain(() => called++);
    expect(called).toBe(1);
    await s.answer(OK);
    await waitFor(() => called === 2, 'drain');
  });
});
