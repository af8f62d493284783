/**
 * The forward stage against a scripted central on loopback: gzip'd wire NDJSON
 * with one Idempotency-Key per batch kept across retries, retry on 503 and
 * 429 (Retry-After), a permanent 400 to the dead-letter file, the SSRF
 * guard, and on_full "pause" / "drop_oldest".
 */
import http from 'node:http';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../core/record.js';
import { forwardSchema } from './config.js';
import { ForwardStage } from './forward.js';
import { HttpTransport, type ForwardTransport, type SendResult } from './transport.js';

interface Req { key: string; encoding: string | undefined; auth: string | undefined; lines: string[] }

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c();
});

/** A central that answers each request with the next scripted status (then 200), and records what came. */
async function central(script: { status: number; headers?: Record<string, string> }[] = []) {
  const got: Req[] = [];
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8');
      got.push({ key: String(req.headers['idempotency-key']), encoding: req.headers['content-encoding'], auth: req.headers.authorization, lines: text.split('\n').filter(Boolean) });
      const next = script.shift() ?? { status: 200 };
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
      res.end(next.status === 200 ? '{"accepted":1}' : `{"error":"scripted ${next.status}"}`);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  open.push(() => new Promise((r) => srv.close(() => r())));
  return { got, port };
}

function stage(port: number, extra: Record<string, unknown> = {}, dataDir = mkdtempSync(path.join(tmpdir(), 'sluice-fwd-'))) {
  const drops: Record<string, number> = {};
  const logs: string[] = [];
  const cfg = forwardSchema.parse({ url: `http://127.0.0.1:${port}/api/ingest?source=edge`, token: 'tok-0123456789abcdef', allow_hosts: [`127.0.0.1:${port}`], batch_age: '20ms', backoff_base: '10ms', backoff_max: '50ms', ...extra });
  const st = new ForwardStage(cfg, { name: 'f', dataDir, drop: (s, r, n) => (drops[`${s}/${r}`] = (drops[`${s}/${r}`] ?? 0) + n), log: (m) => logs.push(m) });
  st.start();
  open.push(() => st.stop(Date.now() + 500));
  return { st, drops, logs, dataDir };
}

let seq = 0;
const recs = (n: number, stream = 'app'): LogRecord[] => Array.from({ length: n }, () => ({ seq: ++seq, time: 1_700_000_000_000, received: 1_700_000_000_000, source: 's', stream, origin: { kind: 'test' }, message: `line ${seq}`, fields: {} }));

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe('ForwardStage', () => {
  it('sends gzip\'d wire NDJSON with the token; a 503 and a 429 are retried under the same Idempotency-Key, in order', async () => {
    const c = await central([{ status: 503 }, { status: 429, headers: { 'retry-after': '0' } }]);
    const { st } = stage(c.port, { batch_records: 100 });
    const rs = recs(250);
    st.push(rs);
    await until(() => st.counters.batches_sent === 3, 'three batches acknowledged');
    expect(c.got.map((g) => g.key.split('-').pop())).toEqual(['1', '1', '1', '2', '3']);
    expect(new Set(c.got.map((g) => g.key.split('-').slice(0, -1).join('-'))).size).toBe(1); // one agent id
    expect(c.got.every((g) => g.encoding === 'gzip' && g.auth === 'Bearer tok-0123456789abcdef')).toBe(true);
    const delivered = c.got.slice(2).flatMap((g) => g.lines.map((l) => JSON.parse(l) as { seq: number; message: string }));
    expect(delivered.map((r) => r.seq)).toEqual(rs.map((r) => r.seq));
    expect(delivered[0]).toMatchObject({ message: rs[0]!.message, source: 's', stream: 'app', origin: { kind: 'test' } });
    expect(st.counters).toMatchObject({ retries: 2, records_sent: 250 });
    expect(st.status()).toMatchObject({ spool_batches: 0, spool_bytes: 0 });
  });

  it('a 400 is permanent: the batch goes to the dead-letter file with the answer, counted, and the next one is sent', async () => {
    const c = await central([{ status: 400 }]);
    const { st, drops, dataDir, logs } = stage(c.port, { batch_records: 10, gzip: false });
    st.push(recs(20));
    await until(() => st.counters.batches_sent === 1, 'the second batch');
    expect(st.counters.dead_lettered).toBe(1);
    expect(drops['forward/rejected']).toBe(10);
    const dead = path.join(dataDir, 'spool', 'f', 'dead');
    const files = readdirSync(dead).sort();
    expect(files).toEqual(['1.json', '1.ndjson']);
    expect(readFileSync(path.join(dead, '1.ndjson'), 'utf8').trim().split('\n')).toHaveLength(10);
    expect(JSON.parse(readFileSync(path.join(dead, '1.json'), 'utf8'))).toMatchObject({ status: 400, records: 10, response: '{"error":"scripted 400"}' });
    expect(logs.some((l) => l.includes('refused with HTTP 400'))).toBe(true);
  });

  it('only the configured streams are forwarded', async () => {
    const c = await central();
    const { st } = stage(c.port, { streams: ['keep'] });
    st.push([...recs(3, 'keep'), ...recs(4, 'other')]);
    await until(() => st.counters.records_sent === 3, 'the kept stream');
    expect(c.got.flatMap((g) => g.lines.map((l) => (JSON.parse(l) as { stream: string }).stream))).toEqual(['keep', 'keep', 'keep']);
  });

  it('the SSRF guard: a loopback central needs allow_hosts', () => {
    const cfg = forwardSchema.parse({ url: 'http://127.0.0.1:9/api/ingest?source=x' });
    expect(() => new ForwardStage(cfg, { name: 'f', dataDir: mkdtempSync(path.join(tmpdir(), 'sluice-fwd-')), drop: () => undefined, log: () => undefined })).toThrow(/loopback/);
  });

  it('on_full = "pause": past spool_max push answers false, and onDrain fires once the central took the spool', async () => {
    const c = await central(Array.from({ length: 3 }, () => ({ status: 503 })));
    const { st } = stage(c.port, { batch_records: 50, gzip: false, spool_max: 4000 });
    let more = true;
    for (let i = 0; i < 20 && more; i++) {
      more = st.push(recs(50));
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => !st.push([]), 'the spool full');
    let drained = false;
    st.onDrain(() => (drained = true));
    await until(() => drained, 'drain');
    await until(() => (st.status().spool_batches as number) === 0, 'everything sent');
    expect(st.counters.dropped_records).toBe(0);
  });

  it('on_full = "drop_oldest": whole oldest batches go, counted with their records; what is missing equals the count', async () => {
    const c = await central(Array.from({ length: 20 }, () => ({ status: 503 })));
    const { st, drops } = stage(c.port, { batch_records: 50, gzip: false, spool_max: 8000, on_full: 'drop_oldest', backoff_base: '20ms', backoff_max: '20ms' });
    const all = recs(1000);
    for (let i = 0; i < all.length; i += 50) {
      expect(st.push(all.slice(i, i + 50))).toBe(true);
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => (st.status().spool_batches as number) === 0 && st.counters.records_sent + st.counters.dropped_records === 1000, 'sent or dropped');
    const seqs = new Set(c.got.filter((_, i) => i >= 20).flatMap((g) => g.lines.map((l) => (JSON.parse(l) as { seq: number }).seq)));
    expect(st.counters.dropped_records).toBeGreaterThan(0);
    expect(drops['forward/spool_full']).toBe(st.counters.dropped_records);
    expect(all.filter((r) => !seqs.has(r.seq)).length).toBe(st.counters.dropped_records);
  });

  it('a restart sends what the spool kept, first, under the same keys', async () => {
    const c = await central(Array.from({ length: 1000 }, () => ({ status: 503 })));
    const first = stage(c.port, { batch_records: 10, gzip: false });
    first.st.push(recs(30));
    await until(() => (first.st.status().spool_batches as number) === 3, 'three spooled');
    await first.st.stop(Date.now() + 50);
    const keys = [...new Set(c.got.map((g) => g.key))];
    const c2 = await central();
    const second = stage(c2.port, { batch_records: 10, gzip: false }, first.dataDir);
    await until(() => second.st.counters.batches_sent === 3, 'the spool sent');
    expect(second.st.counters.recovered_batches).toBe(3);
    expect(c2.got.map((g) => g.key)).toEqual([...keys, ...[2, 3].map((i) => keys[0]!.replace(/-1$/, `-${i}`))].slice(0, 3));
    expect(existsSync(path.join(first.dataDir, 'spool', 'f', 'acked.json'))).toBe(true);
  });

  it('the open batch is journaled before push returns: after a crash the next start seals it under its reserved id', async () => {
    const c = await central();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sluice-fwd-'));
    const crashed = stage(c.port, { batch_age: '1h', url: `http://127.0.0.1:${c.port}/never` }, dataDir); // its batch never seals while it runs
    const rs = recs(5);
    crashed.st.push(rs);
    // the journal holds them now (a SIGKILL here would leave exactly this on disk)
    const journal = readFileSync(path.join(dataDir, 'spool', 'f', 'open.journal'));
    expect(journal.subarray(8).toString('utf8').trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual(rs.map((r) => r.seq));
    const next = stage(c.port, {}, dataDir);
    await until(() => next.st.counters.records_sent === 5, 'the journaled batch sent');
    expect(next.st.counters.recovered_batches).toBe(1);
    expect(c.got.map((g) => g.key.split('-').pop())).toEqual([String(Number(journal.readBigUInt64BE(0)))]);
  });

  it('the next batch goes to the transport to prepare (compress) while the one before it is on its way', async () => {
    const events: string[] = [];
    const answers: (() => void)[] = [];
    const transport: ForwardTransport = {
      target: 'scripted',
      peer: 'the central',
      prepare: (b) => events.push(`prepare ${b.key.split('-').pop()}`),
      send: (b) => {
        events.push(`send ${b.key.split('-').pop()} (${b.records})`);
        return new Promise<SendResult>((r) => answers.push(() => r({ ok: true, status: 200, retryable: false, error: null, snippet: '', latencyMs: 1 })));
      },
      close: () => undefined,
    };
    const cfg = forwardSchema.parse({ url: 'http://127.0.0.1:9/api/ingest?source=edge', allow_hosts: ['127.0.0.1:9'], batch_records: 10, batch_age: '1h' });
    const st = new ForwardStage(cfg, { name: 'f', dataDir: mkdtempSync(path.join(tmpdir(), 'sluice-fwd-')), drop: () => undefined, log: () => undefined, transport });
    st.start();
    // three full batches spooled before the sender's first turn (the 31st record seals the third)
    st.push(recs(31));
    open.push(() => st.stop(Date.now() + 50));
    await until(() => answers.length === 1, 'the first send');
    // batch 2 is being prepared while batch 1 waits for its answer; batch 3 not yet
    expect(events).toEqual(['send 1 (10)', 'prepare 2']);
    answers.shift()!();
    await until(() => answers.length === 1, 'the second send');
    expect(events).toEqual(['send 1 (10)', 'prepare 2', 'send 2 (10)', 'prepare 3']);
    answers.shift()!();
    await until(() => answers.length === 1, 'the third send');
    answers.shift()!();
    await until(() => st.counters.batches_sent === 3, 'all three acknowledged');
    expect(events.slice(4)).toEqual(['send 3 (10)']);
  });

  it('HTTP: only gzip has work to do ahead (without it the sender does not read the next batch early)', () => {
    const cfg = (gzip: boolean) => forwardSchema.parse({ url: 'http://127.0.0.1:9/api/ingest?source=edge', allow_hosts: ['127.0.0.1:9'], gzip });
    expect(new HttpTransport(cfg(false)).prepare).toBeUndefined();
    expect(typeof new HttpTransport(cfg(true)).prepare).toBe('function');
  });
});
