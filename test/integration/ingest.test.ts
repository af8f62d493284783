/**
 * Network ingest on a real daemon: HTTP ingest with an Idempotency-Key keeps
 * answering as the first time after a restart (also after SIGKILL) without
 * ingesting again; the framed Unix socket source takes records and producer
 * status, survives bad input, and both show their counters by reason in
 * /api/status and /metrics.
 */
import net from 'node:net';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN, authHeaders, freePort, launch, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';
import { encodeFrame } from '../../src/sources/socket/frames.js';

const PUSH = 'push-ingest-token-0123456789';
const handles: DaemonHandle[] = [];
afterAll(async () => {
  for (const h of handles) await h.stop();
  stopAll();
});

interface Rec { seq: number; message: string; level?: string; fields: Record<string, unknown>; origin: Record<string, unknown>; time: string }
interface SourceStatus { name: string; counters: Record<string, number>; [k: string]: unknown }

async function records(d: DaemonHandle, stream: string): Promise<Rec[]> {
  const r = await fetch(`${d.url}/api/records?stream=${stream}&limit=1000`, { headers: authHeaders });
  return ((await r.json()) as { records: Rec[] }).records;
}
async function source(d: DaemonHandle, name: string): Promise<SourceStatus> {
  const r = await fetch(`${d.url}/api/status`, { headers: authHeaders });
  return ((await r.json()) as { sources: SourceStatus[] }).sources.find((s) => s.name === name)!;
}
function post(d: DaemonHandle, body: string | Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${d.url}/api/ingest?source=push`, { method: 'POST', body, headers: { authorization: `Bearer ${PUSH}`, 'content-type': 'application/x-ndjson', ...headers } });
}

describe('a socket path that is not a stale socket', () => {
  it('stops the start with a message naming the source, the path and the code; the file is left alone', async () => {
    const dir = tempDir('sl-ingest-refuse-');
    const file = path.join(dir, 'not-a-socket');
    writeFileSync(file, 'keep me\n');
    const port = await freePort();
    const cfg = path.join(dir, 'sluice.toml');
    writeFileSync(cfg, `data_dir = "${dir}/data"\n[[sources]]\nname = "audit"\ntype = "socket"\npath = "${file}"\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "${ADMIN}"\n`);
    const err = await launch(cfg, port).then(
      (d) => {
        handles.push(d);
        return '';
      },
      (e: Error) => e.message,
    );
    expect(err).toMatch(/exited with 1/);
    expect(err).toMatch(/SLUICE_ERR_SOURCE_START: sources\.audit: cannot start the socket source: path \S+not-a-socket exists and is a regular file; refusing to remove it/);
    expect(statSync(file).isFile()).toBe(true);
  });
});

describe('network ingest on a real daemon', () => {
  const dir = tempDir('sl-ingest-');
  const sock = path.join(dir, 'in.sock');
  let cfg: string;
  let port: number;
  let d: DaemonHandle;

  it('starts with an http and a socket source', async () => {
    port = await freePort();
    cfg = path.join(dir, 'sluice.toml');
    writeFileSync(
      cfg,
      `data_dir = "${dir}/data"\n` +
        `[[sources]]\nname = "push"\ntype = "http"\ntoken = "${PUSH}"\nidempotency_window = "1h"\nmax_body_bytes = "1MiB"\nmax_inflated_bytes = "4MiB"\n` +
        `[[sources]]\nname = "audit"\ntype = "socket"\npath = "${sock}"\nmode = "0600"\nmax_frame_bytes = "64KiB"\n` +
        `[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "${ADMIN}"\n`,
    );
    d = await launch(cfg, port);
    handles.push(d);
    expect(statSync(sock).mode & 0o777).toBe(0o600);
  });

  it('HTTP: records as sent; a repeated Idempotency-Key is answered as the first time and ingested once', async () => {
    const body = JSON.stringify({ message: 'hello', level: 'warn', time: '2026-12-06T00:00:00.123Z', fields: { host: 'h', n: 1 } }) + '\n{"message":"second"}\n{"nope":1}\n';
    const a = await post(d, zlib.gzipSync(body), { 'content-encoding': 'gzip', 'idempotency-key': 'batch-A' });
    expect(a.status).toBe(200);
    const first = await a.json();
    expect(first).toMatchObject({ accepted: 2, rejected: 1 });
    const b = await post(d, zlib.gzipSync(body), { 'content-encoding': 'gzip', 'idempotency-key': 'batch-A' });
    expect(b.status).toBe(200);
    expect(await b.json()).toEqual(first);
    const recs = await records(d, 'push');
    expect(recs.map((r) => r.message)).toEqual(['hello', 'second']);
    expect(recs[0]).toMatchObject({ level: 'warn', time: '2026-12-06T00:00:00.123Z', fields: { host: 'h', n: 1 }, origin: { kind: 'http', peer: '127.0.0.1' } });
    expect((await source(d, 'push')).counters).toMatchObject({ replayed: 1, no_message: 1, bad_record: 0 });
    expect(JSON.stringify(await source(d, 'push'))).not.toContain(PUSH);
    // write-only: no read of the API shows it
    for (const p of ['/api/status', '/api/sources/push', '/api/streams', '/metrics']) {
      const r = await fetch(d.url + p, { headers: authHeaders });
      expect(r.status, p).toBe(200);
      expect(await r.text(), p).not.toContain(PUSH);
    }
  });

  it('socket: records, producer status, bad input by reason in /api/status and /metrics; good input afterwards arrives', async () => {
    const open = () => new Promise<net.Socket>((resolve, reject) => {
      const c = net.connect(sock, () => resolve(c));
      c.on('error', reject);
    });
    const bad = await open();
    bad.on('error', () => undefined);
    bad.write(Buffer.concat([encodeFrame(1, '{"message":"framed","fields":{"msg":"m"}}'), encodeFrame(1, '{broken'), encodeFrame(3, '{"dropped":{"buffer_full":3}}'), encodeFrame(9, 'x')]));
    await new Promise((r) => bad.once('close', r));
    const big = await open();
    big.on('error', () => undefined);
    big.write(Buffer.concat([Buffer.from([1, 0x10, 0, 0]), Buffer.alloc(1024, 0x61)])); // announces 1 MiB: past 64KiB
    await new Promise((r) => big.once('close', r));
    const good = await open();
    good.end(encodeFrame(2, '[{"message":"after"}]'));
    await waitFor(async () => (await records(d, 'audit')).some((r) => r.message === 'after'), 'good socket input');
    const recs = await records(d, 'audit');
    expect(recs.map((r) => r.message)).toEqual(['framed', 'after']);
    expect(recs[0]!.fields).toEqual({ msg: 'm' });
    const st = await source(d, 'audit');
    expect(st.counters).toMatchObject({ bad_json: 1, unknown_tag: 1, oversize: 1, status_frames: 1, producer_dropped: 3, records: 2, frames: 4 });
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toMatch(/^sluice_dropped_total\{stage="producer",reason="buffer_full"\} 3$/m);
    expect(metrics).toMatch(/^sluice_dropped_total\{stage="socket",reason="unknown_tag"\} 1$/m);
    expect(metrics).toMatch(/^sluice_source_events_total\{source="audit",type="socket",counter="oversize"\} 1$/m);
    expect(metrics).toMatch(/^sluice_source_events_total\{source="push",type="http",counter="replayed"\} 1$/m);
  });

  it('HTTP bad input: binary garbage, a 10 MB body, invalid UTF-8, a gzip bomb, 1,000 connections opened and dropped; counted, and good input still arrives', async () => {
    const before = (await source(d, 'push')).counters;
    const garbage = Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7919 + 13) & 0xff));
    expect((await post(d, garbage)).status).toBe(400);
    const big = await post(d, Buffer.alloc(10 * 1024 * 1024, 0x7b)).catch(() => undefined); // the server may close before reading it all
    if (big) expect(big.status).toBe(413);
    const utf8 = await post(d, Buffer.concat([Buffer.from('{"message":"bad '), Buffer.from([0xff, 0xc0, 0x80]), Buffer.from('"}\n')]));
    expect(await utf8.json()).toEqual({ accepted: 1 });
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    const b = await post(d, bomb, { 'content-encoding': 'gzip' });
    expect(b.status).toBe(413);
    expect(((await b.json()) as { error: { code: string } }).error.code).toBe('SLUICE_ERR_INGEST_TOO_LARGE');
    for (let wave = 0; wave < 10; wave++) {
      await Promise.all(
        Array.from({ length: 100 }, () => new Promise<void>((resolve) => {
          const c = net.connect(port, '127.0.0.1');
          c.on('connect', () => {
            c.write('POST /api/ingest?source=push HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"mess');
            c.destroy();
            resolve();
          });
          c.on('error', () => resolve());
        })),
      );
    }
    const good = await post(d, '{"message":"after the bad input"}');
    expect(await good.json()).toEqual({ accepted: 1 });
    const recs = await records(d, 'push');
    expect(recs.map((r) => r.message).slice(-2)).toEqual(['bad \ufffd\ufffd\ufffd', 'after the bad input']);
    const after = (await source(d, 'push')).counters;
    expect(after.too_large - before.too_large).toBe(2); // the 10 MB body (refused by its Content-Length, the client may see the close first) and the bomb
    expect(after.bad_request - before.bad_request).toBe(1);
    expect(after.repaired_utf8 - before.repaired_utf8).toBeGreaterThanOrEqual(2);
    expect((await fetch(`${d.url}/healthz`)).status).toBe(200);
  });

  it('after a restart, and after SIGKILL, the key is still answered as the first time and nothing is ingested again', async () => {
    const body = JSON.stringify({ message: 'hello', level: 'warn', time: '2026-12-06T00:00:00.123Z', fields: { host: 'h', n: 1 } }) + '\n{"message":"second"}\n{"nope":1}\n';
    await d.stop();
    d = await launch(cfg, port);
    handles.push(d);
    const again = await post(d, body, { 'idempotency-key': 'batch-A' });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toMatchObject({ accepted: 2, rejected: 1 });
    expect(await records(d, 'push')).toEqual([]);
    // a new key, answered, then the process killed: the key outlives it
    expect(await (await post(d, '{"message":"before kill"}', { 'idempotency-key': 'batch-B' })).json()).toEqual({ accepted: 1 });
    await d.kill9();
    d = await launch(cfg, port);
    handles.push(d);
    const b = await post(d, '{"message":"before kill"}', { 'idempotency-key': 'batch-B' });
    expect(await b.json()).toEqual({ accepted: 1 });
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(await records(d, 'push')).toEqual([]);
    expect(statSync(path.join(dir, 'data', 'ingest', 'push.idempotency')).mode & 0o777).toBe(0o600);
    // the socket source came back on its path (a stale file after SIGKILL is removed at start)
    expect((await source(d, 'audit')).counters.stale_removed).toBe(1);
  });
});
