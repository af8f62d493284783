/**
 * HTTP ingest through the real route, auth hook and error mapping (fastify
 * inject, no port): records exactly as sent, bad records listed by line,
 * gzip/deflate and their caps, tokens, back-pressure as 429 + Retry-After,
 * and Idempotency-Keys across a new source instance on the same data_dir.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { CollectingPipeline } from '../../../test/helpers/fake-pipeline.js';
import { prepareApp } from '../../api/server.js';
import { registerAuth } from '../../api/auth.js';
import { registerIngestRoute } from '../../api/routes/ingest.js';
import { ParsePool } from '../../parse/pool.js';
import { NDJSON_CHUNK } from '../records/lane.js';
import { ParseStage } from '../../parse/stage.js';
import { httpSourceSchema, type HttpSourceInput } from './config.js';
import { IngestRegistry } from './registry.js';
import { HttpSource } from './source.js';

const ADMIN = 'admin-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const PUSH = 'push-token-0123456789abcdef';

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

async function setup(extra: Partial<HttpSourceInput> = {}, o: { dir?: string; pipeline?: CollectingPipeline; pool?: ParsePool } = {}) {
  const dir = o.dir ?? mkdtempSync(path.join(tmpdir(), 'sl-http-'));
  if (!o.dir) cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const pipeline = o.pipeline ?? new CollectingPipeline();
  const registry = new IngestRegistry();
  const cfg = httpSourceSchema.parse({ name: 'push', type: 'http', token: PUSH, ...extra });
  const src = new HttpSource(cfg, { dataDir: dir, stage: new ParseStage(pipeline, o.pool), registry });
  await src.start(pipeline);
  cleanup.push(() => src.stop());
  const app: FastifyInstance = Fastify();
  prepareApp(app);
  registerAuth(app, { adminToken: ADMIN, viewerToken: VIEWER, ingestToken: (n) => registry.get(n)?.tokenDigest });
  registerIngestRoute(app, registry);
  await app.ready();
  cleanup.push(() => app.close());
  const post = (body: string | Buffer, headers: Record<string, string> = {}, source = 'push', token = PUSH) =>
    app.inject({ method: 'POST', url: `/api/ingest?source=${source}`, payload: body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson', ...headers } });
  return { src, pipeline, app, post, dir, registry };
}

describe('config', () => {
  it('defaults, strictness, a short token refused', () => {
    const c = httpSourceSchema.parse({ name: 'p', type: 'http' });
    expect(c).toMatchObject({ max_body_bytes: 16 * 1024 * 1024, max_inflated_bytes: 64 * 1024 * 1024, idempotency_window: 86_400_000, idempotency_max_keys: 100_000 });
    expect(() => httpSourceSchema.parse({ name: 'p', type: 'http', token: 'short' })).toThrow();
    expect(() => httpSourceSchema.parse({ name: 'p', type: 'http', bogus: 1 })).toThrow();
  });
});

describe('readBody', () => {
  it('refuses a body cut short (the client went away): its complete lines are not ingested as if it were whole', async () => {
    const { PassThrough } = await import('node:stream');
    const { readBody } = await import('./body.js');
    const cut = Object.assign(new PassThrough(), { complete: false });
    cut.end('{"message":"a whole line"}\n{"mess');
    await expect(readBody(cut, 1000)).rejects.toMatchObject({ code: 'SLUICE_ERR_INGEST_ABORTED' });
    const whole = Object.assign(new PassThrough(), { complete: true });
    whole.end('{"message":"a"}\n');
    expect((await readBody(whole, 1000)).toString()).toBe('{"message":"a"}\n');
  });
});

describe('POST /api/ingest', () => {
  it('NDJSON and a JSON array: message, level, time and fields exactly as sent, origin http with the peer', async () => {
    const { post, pipeline } = await setup();
    const fields = { host: 'h', msg: 'field, not message', level: 'not a level', time: 'x', ts: 1, service: 's', nested: { deep: [1, { a: null }] } };
    const nd = [JSON.stringify({ message: 'one', level: 'error', time: '2026-12-06T01:02:03.004+01:00', fields }), '', JSON.stringify({ message: 'two', time: 1765000000000 })].join('\r\n');
    const r1 = await post(nd);
    expect(r1.statusCode).toBe(200);
    expect(r1.json()).toEqual({ accepted: 2 });
    const r2 = await post(JSON.stringify([{ message: '  three  ' }]), { 'content-type': 'application/json' });
    expect(r2.json()).toEqual({ accepted: 1 });
    const [a, b, c] = pipeline.records;
    expect(a).toMatchObject({ source: 'push', stream: 'push', message: 'one', level: 'error', time: Date.parse('2026-12-06T00:02:03.004Z'), origin: { kind: 'http', peer: '127.0.0.1' } });
    expect(a!.fields).toEqual(fields);
    expect(a!.host).toBeUndefined();
    expect(a!.app).toBeUndefined();
    expect(b).toMatchObject({ message: 'two', time: 1765000000000, fields: {} });
    expect(c!.message).toBe('  three  ');
  });

  it('bad records are refused by line with the reason and counted; the good ones of the request are accepted', async () => {
    const { post, pipeline, src } = await setup();
    const body = ['{"message":"ok"}', '{nope', '{"msg":"no message key"}', '{"message":"x","time":"yesterday"}', '{"message":"x","level":"loud"}', '{"message":"x","user":"h"}', '[1]', '{"message":"ok2","fields":[]}'].join('\n');
    const r = await post(body);
    expect(r.statusCode).toBe(200);
    const j = r.json();
    expect(j).toMatchObject({ accepted: 1, rejected: 7 });
    expect(j.errors.map((e: { line: number; reason: string }) => [e.line, e.reason])).toEqual([
      [2, 'bad_json'],
      [3, 'no_message'],
      [4, 'bad_record'],
      [5, 'bad_record'],
      [6, 'bad_record'],
      [7, 'bad_record'],
      [8, 'bad_record'],
    ]);
    expect(j.errors[2].error).toMatch(/RFC 3339/);
    expect(pipeline.messages).toEqual(['ok']);
    expect(src.status().counters).toMatchObject({ bad_json: 1, no_message: 1, bad_record: 5 });
    expect(pipeline.drops).toEqual(expect.arrayContaining([{ stage: 'http', reason: 'bad_record', n: 5 }]));
    // nothing acceptable: 400 with the same listing; an array body lists items
    const none = await post('[{"message":1},{"message":"x","extra":true}]');
    expect(none.statusCode).toBe(400);
    expect(none.json().error.code).toBe('SLUICE_ERR_INGEST_BAD_BODY');
    expect(none.json().error.details.errors.map((e: { item: number }) => e.item)).toEqual([1, 2]);
    expect((await post('')).statusCode).toBe(400);
    expect((await post('[not json')).statusCode).toBe(400);
  });

  it('binary garbage and invalid UTF-8 are counted; good input afterwards arrives', async () => {
    const { post, pipeline, src } = await setup();
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff));
    expect((await post(garbage)).statusCode).toBe(400);
    const bad = Buffer.concat([Buffer.from('{"message":"caf'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]);
    expect((await post(bad)).json()).toEqual({ accepted: 1 });
    expect(pipeline.messages[0]).toBe('caf\ufffd(');
    expect(src.status().counters.repaired_utf8).toBe(2);
    expect((await post('{"message":"after"}')).json()).toEqual({ accepted: 1 });
  });

  it('gzip and deflate (zlib and raw) are inflated; a gzip bomb gets 413 and nothing of it is ingested', async () => {
    const { post, pipeline, src } = await setup({ max_inflated_bytes: '1MiB' });
    const lines = Array.from({ length: 100 }, (_, i) => JSON.stringify({ message: `m${i}` })).join('\n');
    expect((await post(zlib.gzipSync(lines), { 'content-encoding': 'gzip' })).json()).toEqual({ accepted: 100 });
    expect((await post(zlib.deflateSync(lines), { 'content-encoding': 'deflate' })).json()).toEqual({ accepted: 100 });
    expect((await post(zlib.deflateRawSync(lines), { 'content-encoding': 'deflate' })).json()).toEqual({ accepted: 100 });
    // valid records first, then 64 MiB of padding: a bomb that would half-ingest if parsed as it inflates
    const bomb = zlib.gzipSync(Buffer.concat([Buffer.from('{"message":"bomb"}\n'), Buffer.alloc(64 * 1024 * 1024, 0x20)]));
    expect(bomb.length).toBeLessThan(128 * 1024);
    const r = await post(bomb, { 'content-encoding': 'gzip' });
    expect(r.statusCode).toBe(413);
    expect(r.json().error.code).toBe('SLUICE_ERR_INGEST_TOO_LARGE');
    expect(pipeline.messages.includes('bomb')).toBe(false);
    expect(src.status().counters.too_large).toBe(1);
    expect((await post('x', { 'content-encoding': 'br' })).statusCode).toBe(415);
    expect((await post(Buffer.from('not gzip'), { 'content-encoding': 'gzip' })).statusCode).toBe(400);
    expect((await post('{"message":"after"}')).json()).toEqual({ accepted: 1 });
  });

  it('a body past max_body_bytes gets 413, also without Content-Length', async () => {
    const { app, post, pipeline } = await setup({ max_body_bytes: 1000 });
    const big = JSON.stringify({ message: 'x'.repeat(2000) });
    expect((await post(big)).statusCode).toBe(413);
    const { Readable } = await import('node:stream');
    const chunked = await app.inject({ method: 'POST', url: '/api/ingest?source=push', payload: Readable.from([Buffer.from(big)]), headers: { authorization: `Bearer ${PUSH}`, 'content-type': 'application/x-ndjson' } });
    expect(chunked.statusCode).toBe(413);
    expect(pipeline.records).toHaveLength(0);
  });

  it('max_body_bytes is the source\'s own: a 20 MiB body passes when it allows it (the API\'s 16 MiB JSON limit does not apply)', async () => {
    const { post } = await setup({ max_body_bytes: '32MiB' });
    const line = JSON.stringify({ message: 'x'.repeat(1000) }) + '\n';
    const body = line.repeat(Math.ceil((20 * 1024 * 1024) / line.length));
    expect((await post(body)).json()).toEqual({ accepted: Math.ceil((20 * 1024 * 1024) / line.length) });
  });

  it('tokens: the source token or the admin token post; the viewer gets 403; another source token or none 401; the token is never in status', async () => {
    const { post, src, pipeline } = await setup();
    expect((await post('{"message":"a"}')).statusCode).toBe(200);
    expect((await post('{"message":"b"}', {}, 'push', ADMIN)).statusCode).toBe(200);
    expect((await post('{"message":"c"}', {}, 'push', VIEWER)).statusCode).toBe(403);
    expect((await post('{"message":"d"}', {}, 'other', PUSH)).statusCode).toBe(401);
    expect((await post('{"message":"e"}', {}, 'other', ADMIN)).statusCode).toBe(404);
    expect((await post('{"message":"f"}', {}, 'push', 'wrong-token-0123456789')).statusCode).toBe(401);
    expect(pipeline.messages).toEqual(['a', 'b']);
    expect(JSON.stringify(src.status())).not.toContain(PUSH);
  });

  it('back-pressure: while the pipeline pushes back requests get 429 with Retry-After and nothing is ingested', async () => {
    const pipeline = new CollectingPipeline();
    pipeline.refuse = true;
    const { post, src } = await setup({}, { pipeline });
    expect((await post('{"message":"first"}')).json()).toEqual({ accepted: 1 }); // accepted; the pipeline asks to wait
    const busy = await post('{"message":"second"}');
    expect(busy.statusCode).toBe(429);
    expect(busy.headers['retry-after']).toBe('1');
    expect(busy.json().error.code).toBe('SLUICE_ERR_INGEST_BUSY');
    expect(pipeline.messages).toEqual(['first']);
    expect(src.status().counters.busy).toBe(1);
    pipeline.drain();
    await new Promise((r) => setImmediate(r));
    expect((await post('{"message":"second"}')).json()).toEqual({ accepted: 1 });
    expect(pipeline.messages).toEqual(['first', 'second']);
  });

  it('runs the source\'s transforms: stateless (redact) and stateful (dedupe), in order', async () => {
    const { post, pipeline, src } = await setup({ transforms: [{ type: 'redact', matches: ['secret=\\S+'] }, { type: 'dedupe', keys: ['message'], window: '1m' }] } as Partial<HttpSourceInput>);
    expect((await post('{"message":"login secret=hunter2"}\n{"message":"login secret=other"}\n{"message":"bye"}')).json()).toEqual({ accepted: 3 });
    expect(pipeline.messages).toEqual(['login [REDACTED]', 'bye']);
    expect(src.status().counters.transform_dropped).toBe(1);
  });

  it('Idempotency-Key: a repeat is answered as the first time and ingested once, also by a new instance on the same data_dir', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sl-http-idem-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await setup({}, { dir });
    const body = '{"message":"once"}\n{"message":"twice?","level":"bogus"}\n';
    const a = await first.post(body, { 'idempotency-key': 'batch-1' });
    expect(a.statusCode).toBe(200);
    const b = await first.post(body, { 'idempotency-key': 'batch-1' });
    expect(b.json()).toEqual(a.json());
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(first.pipeline.messages).toEqual(['once']);
    const other = await first.post('{"message":"other key"}', { 'idempotency-key': 'batch-2' });
    expect(other.json()).toEqual({ accepted: 1 });
    await first.src.stop();
    const file = path.join(dir, 'ingest', 'push.idempotency');
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const second = await setup({}, { dir });
    const c = await second.post(body, { 'idempotency-key': 'batch-1' });
    expect(c.statusCode).toBe(200);
    expect(c.json()).toEqual(a.json());
    expect(second.pipeline.records).toHaveLength(0);
    expect(second.src.status().counters.replayed).toBe(1);
    // a key the first instance never saw is ingested
    expect((await second.post(body, { 'idempotency-key': 'batch-3' })).json()).toMatchObject({ accepted: 1 });
    expect((await second.post(body, { 'idempotency-key': 'x'.repeat(300) })).statusCode).toBe(400);
  });
});

describe('a large NDJSON body in the parse threads', () => {
  /** ~1.6 MB: four chunks, a BOM first; bad lines (bad JSON, no message, a bad level) and blank lines throughout, forwarded wire records, non-ASCII. */
  function bigBody(): { text: string; bad: number[] } {
    const lines: string[] = [];
    const bad: number[] = [];
    for (let i = 1; lines.length < 6000; i++) {
      const n = lines.length + 1;
      if (i % 997 === 0) {
        lines.push('{"message": broken');
        bad.push(n);
      } else if (i % 1301 === 0) {
        lines.push('{"level":"info"}');
        bad.push(n);
      } else if (i % 1999 === 0) {
        lines.push(`{"message":"m${i}","level":"loud"}`);
        bad.push(n);
      } else if (i % 401 === 0) lines.push('');
      else if (i % 3 === 0) lines.push(JSON.stringify({ seq: i, time: '2026-12-06T01:02:03.456Z', source: 'app', stream: 'app', origin: { kind: 'file', path: '/var/log/app.log' }, host: 'edge-1', level: 'warn', message: `forwarded ${i} ${'x'.repeat(200)}`, fields: { i, ünï: 'çødé', nested: { a: [1, 2] } } }));
      else lines.push(JSON.stringify({ message: `plain ${i} ✓ ${'y'.repeat(200)}`, time: 1_765_000_000_000 + i, fields: { i } }));
    }
    // a BOM first: not part of the first record, inline or in the threads
    return { text: '\uFEFF' + lines.join('\n') + '\n', bad };
  }

  it('gives the answer and the records inline checking gives (bad lines by their line in the whole body), the threads doing the work', async () => {
    const { text, bad } = bigBody();
    expect(text.length).toBeGreaterThan(3 * NDJSON_CHUNK);
    const inline = await setup();
    const a = await inline.post(text);
    const pool = new ParsePool(2);
    cleanup.push(() => pool.close());
    const threaded = await setup({}, { pool });
    const b = await threaded.post(text);
        expect(b.statusCode).toBe(200);
    expect(pool.status().jobs).toBeGreaterThanOrEqual(4);
    expect(pool.status().failures).toBe(0);
    expect(threaded.pipeline.encoded.every(Boolean)).toBe(true);
    const answer = b.json() as { accepted: number; rejected: number; errors: { line: number; reason: string }[] };
    expect(answer).toEqual(a.json());
    expect(answer.rejected).toBe(bad.length);
    expect(answer.errors.map((e) => e.line)).toEqual(bad.slice(0, 10));
    // what a record says (a decoded one also carries its wire bytes)
    const strip = (p: CollectingPipeline) => p.records.map((r) => JSON.stringify([r.time, r.level, r.host, r.app, r.source, r.stream, r.origin.kind, r.origin.from, r.message, r.fields]));
    const [t, i] = [strip(threaded.pipeline), strip(inline.pipeline)];
    // the first record that differs (a diff of thousands of records is too large to print)
    const k = t.findIndex((x, j) => x !== i[j]);
    expect(k < 0 ? undefined : [k, t[k], i[k]]).toBeUndefined();
    expect(t.length).toBe(i.length);
    expect(threaded.pipeline.records).toHaveLength(answer.accepted);
    expect(threaded.src.status().counters).toMatchObject({ lines: answer.accepted, records: answer.accepted, bad_json: 6, no_message: 4 });
  });

  it('runs the source\'s transforms in the threads (stateless) and at commit (stateful)', async () => {
    const pool = new ParsePool(2);
    cleanup.push(() => pool.close());
    const { post, pipeline, src } = await setup({ transforms: [{ type: 'redact', matches: ['secret=\\S+'] }, { type: 'dedupe', keys: ['message'], window: '1m' }] } as Partial<HttpSourceInput>, { pool });
    const lines = Array.from({ length: 4000 }, (_, i) => JSON.stringify({ message: `login ${i % 2000} secret=hunter${i} ${'z'.repeat(300)}` }));
    expect((await post(lines.join('\n'))).json()).toEqual({ accepted: 4000 });
    expect(pool.status().jobs).toBeGreaterThan(0);
    expect(pipeline.records).toHaveLength(2000);
    expect(pipeline.messages.every((m) => m.includes('[REDACTED]') && !m.includes('hunter'))).toBe(true);
    expect(src.status().counters.transform_dropped).toBe(2000);
  });

  it('stopped while a keyed body is checked in a thread: its answer and its key agree, so a retry after a restart ingests nothing twice', async () => {
    const pool = new ParsePool(2);
    cleanup.push(() => pool.close());
    const dir = mkdtempSync(path.join(tmpdir(), 'sl-http-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await setup({}, { pool, dir });
    const { text } = bigBody();
    const jobs = pool.status().jobs;
    const answer = first.post(text, { 'idempotency-key': 'k-stop' });
    // the body is at the threads: stop the source before its commit
    for (let i = 0; i < 10_000 && pool.status().jobs === jobs; i++) await new Promise((r) => setImmediate(r));
    expect(pool.status().jobs).toBeGreaterThan(jobs);
    await first.src.stop();
    const a = await answer;
    const second = await setup({}, { pool, dir });
    const b = await second.post(text, { 'idempotency-key': 'k-stop' });
    if (a.statusCode === 200) {
      // accepted: the key was written with the records, and the retry is answered from it
      expect(first.pipeline.records).toHaveLength((a.json() as { accepted: number }).accepted);
      expect(b.headers['idempotent-replayed']).toBe('true');
      expect(second.pipeline.records).toHaveLength(0);
    } else {
      // refused: nothing of it was ingested, and the retry is
      expect(a.statusCode).toBe(503);
      expect(first.pipeline.records).toHaveLength(0);
      expect(b.statusCode).toBe(200);
    }
  });

  it('two requests with one Idempotency-Key at once: one is ingested, the other waits and is answered as it was', async () => {
    const pool = new ParsePool(2);
    cleanup.push(() => pool.close());
    const { post, pipeline, src } = await setup({}, { pool });
    const { text } = bigBody();
    const [a, b] = await Promise.all([post(text, { 'idempotency-key': 'k-1' }), post(text, { 'idempotency-key': 'k-1' })]);
    expect(a.statusCode).toBe(200);
    expect(b.json()).toEqual(a.json());
    expect([a.headers['idempotent-replayed'], b.headers['idempotent-replayed']].filter(Boolean)).toEqual(['true']);
    expect(pipeline.records).toHaveLength((a.json() as { accepted: number }).accepted);
    expect(src.status().counters.replayed).toBe(1);
  });
});
