/**
 * The socket source over a real Unix socket: records land exactly as sent;
 * bad input of every kind is counted by reason and leaves the source
 * serving; producer status drops reach sluice_dropped_total{stage="producer"};
 * the socket file is handled safely at start; and back-pressure pauses the
 * producer instead of dropping.
 */
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CollectingPipeline, sleep, waitFor } from '../../../test/helpers/fake-pipeline.js';
import { openMany } from '../../../test/helpers/open-many.js';
import { ParseStage } from '../../parse/stage.js';
import { socketSourceSchema, type SocketSourceInput } from './config.js';
import { encodeFrame } from './frames.js';
import { SocketSource } from './source.js';

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

function tmp(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sl-sock-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function setup(extra: Partial<SocketSourceInput> = {}, pipeline = new CollectingPipeline()) {
  const dir = tmp();
  const sock = path.join(dir, 'in.sock');
  const cfg = socketSourceSchema.parse({ name: 'audit', type: 'socket', path: sock, ...extra });
  const src = new SocketSource(cfg, { stage: new ParseStage(pipeline) });
  cleanup.push(() => src.stop());
  await src.start(pipeline);
  return { src, pipeline, sock, dir };
}

/** Connect, write `bytes`, and resolve once the source closed the connection or `end` was sent and acknowledged. */
function connect(sock: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock, () => resolve(c));
    c.once('error', reject);
    cleanup.push(() => void c.destroy());
  });
}

const counters = (src: SocketSource) => src.status().counters;

describe('config', () => {
  it('defaults and strictness', () => {
    const c = socketSourceSchema.parse({ name: 's', type: 'socket', path: '/tmp/x.sock' });
    expect(c).toMatchObject({ mode: 0o660, max_frame_bytes: 1024 * 1024, max_connections: 256 });
    expect(socketSourceSchema.parse({ name: 's', type: 'socket', path: '/x', mode: '0600' }).mode).toBe(0o600);
    expect(socketSourceSchema.parse({ name: 's', type: 'socket', path: '/x', mode: 0o640 }).mode).toBe(0o640);
    expect(() => socketSourceSchema.parse({ name: 's', type: 'socket', path: '/x', mode: '999' })).toThrow();
    expect(() => socketSourceSchema.parse({ name: 's', type: 'socket', path: '/x', bogus: 1 })).toThrow();
    expect(() => socketSourceSchema.parse({ name: 's', type: 'socket', path: '/x', max_frame_bytes: '16MiB' })).toThrow();
    expect(() => socketSourceSchema.parse({ name: 's', type: 'socket', path: '/' + 'x'.repeat(120) })).toThrow();
  });
});

describe('SocketSource', () => {
  it('keeps message, level, time and fields exactly as sent (tags 1 and 2), with a socket origin', async () => {
    const { src, pipeline, sock } = await setup();
    const fields = { host: 'h1', msg: 'not the message', level: 'nope', time: 'x', ts: 5, nested: { a: [1, 'b', null] }, log: { level: 'error' } };
    const c = await connect(sock);
    c.write(encodeFrame(1, JSON.stringify({ message: 'one', level: 'warn', time: '2026-12-06T01:02:03.456Z', fields })));
    c.write(encodeFrame(2, JSON.stringify([{ message: 'two', time: 1765000000123 }, { message: '{"msg":"json inside"}' }])));
    await waitFor(() => pipeline.records.length === 3, 'three records');
    const [a, b, d] = pipeline.records;
    expect(a).toMatchObject({ source: 'audit', stream: 'audit', message: 'one', level: 'warn', time: Date.parse('2026-12-06T01:02:03.456Z'), origin: { kind: 'socket', path: sock } });
    expect(a!.fields).toEqual(fields);
    expect(b).toMatchObject({ message: 'two', time: 1765000000123, fields: {} });
    expect(b!.level).toBeUndefined();
    expect(d!.message).toBe('{"msg":"json inside"}');
    expect(counters(src)).toMatchObject({ frames: 2, records: 3, connections_opened: 1 });
  });

  it('socket mode is applied', async () => {
    const { sock } = await setup({ mode: '0640' });
    expect(statSync(sock).mode & 0o777).toBe(0o640);
  });

  it('without a mode in its config the socket file is 0660', async () => {
    const { sock } = await setup();
    expect(statSync(sock).isSocket()).toBe(true);
    expect(statSync(sock).mode & 0o777).toBe(0o660);
  });

  it('bad JSON and bad records skip the frame or record, count by reason, and keep the connection', async () => {
    const { src, pipeline, sock } = await setup();
    const c = await connect(sock);
    c.write(encodeFrame(1, '{not json'));
    c.write(encodeFrame(1, '{"level":"info"}'));
    c.write(encodeFrame(1, '{"message":"x","extra":1}'));
    c.write(encodeFrame(2, '[{"message":"ok1"},{"message":5},{"message":"ok2","level":"loud"}]'));
    c.write(encodeFrame(1, Buffer.concat([Buffer.from('{"message":"bad utf8 '), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])));
    c.write(encodeFrame(1, '{"message":"after"}'));
    await waitFor(() => pipeline.records.length === 3, 'three good records');
    expect(pipeline.messages).toEqual(['ok1', 'bad utf8 \ufffd\ufffd', 'after']);
    expect(counters(src)).toMatchObject({ bad_json: 1, no_message: 2, bad_record: 2, repaired_utf8: 1, connections_closed: 0 });
    expect(pipeline.drops).toEqual(expect.arrayContaining([{ stage: 'socket', reason: 'bad_json', n: 1 }, { stage: 'socket', reason: 'no_message', n: 1 }]));
    expect(c.destroyed).toBe(false);
  });

  it('an unknown tag, an oversize frame (10 MB) and binary garbage close that connection, counted; the source keeps serving', async () => {
    const { src, pipeline, sock } = await setup({ max_frame_bytes: '64KiB' });
    const closed = (c: net.Socket) => new Promise<void>((r) => (c.destroyed ? r() : c.once('close', () => r())));

    const a = await connect(sock);
    a.on('error', () => undefined);
    a.write(Buffer.concat([encodeFrame(1, '{"message":"before"}'), encodeFrame(7, 'zzz'), encodeFrame(1, '{"message":"never"}')]));
    await closed(a);

    const b = await connect(sock);
    b.on('error', () => undefined);
    // a 10 MB frame (its header says 10,485,760: past the 64 KiB cap, refused before its payload is held)
    const big = encodeFrame(1, Buffer.alloc(10 * 1024 * 1024, 0x61));
    expect(big.readUInt32BE(0) & 0xffffff).toBe(10 * 1024 * 1024);
    b.write(big);
    await closed(b);

    const g = await connect(sock);
    g.on('error', () => undefined);
    g.write(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02]));
    await closed(g);

    const good = await connect(sock);
    good.write(encodeFrame(1, '{"message":"after"}'));
    await waitFor(() => pipeline.messages.includes('after'), 'good input after the bad');
    expect(pipeline.messages).toEqual(['before', 'after']);
    expect(counters(src)).toMatchObject({ unknown_tag: 2, oversize: 1 });
    expect(pipeline.drops).toEqual(expect.arrayContaining([{ stage: 'socket', reason: 'oversize', n: 1 }, { stage: 'socket', reason: 'unknown_tag', n: 1 }]));
  });

  it('a truncated frame at connection close is counted', async () => {
    const { src, sock } = await setup();
    const c = await connect(sock);
    c.end(encodeFrame(1, '{"message":"cut"}').subarray(0, 9));
    await waitFor(() => counters(src).truncated_frame === 1, 'truncated_frame');
  });

  it('1,000 connections opened and dropped, past max_connections: counted, and the source still serves', async () => {
    const { src, pipeline, sock } = await setup({ max_connections: 50 });
    // in waves of 100 (a Unix socket's listen backlog refuses a burst past it on the client side)
    for (let wave = 0; wave < 10; wave++) {
      const opened = await openMany(sock, 100);
      const seen = (wave + 1) * 100;
      await waitFor(() => counters(src).connections_opened + counters(src).too_many_connections >= seen, `wave ${wave} seen`);
      for (const c of opened) c.destroy();
      await waitFor(() => src.status().connections === 0, 'all closed');
    }
    expect(counters(src).connections_opened + counters(src).too_many_connections).toBe(1000);
    expect(counters(src).too_many_connections).toBe(500);
    const good = await connect(sock);
    good.write(encodeFrame(1, '{"message":"still here"}'));
    await waitFor(() => pipeline.messages.includes('still here'), 'good input');
    expect(counters(src).connections_closed).toBe(counters(src).connections_opened - 1);
  });

  it('tag 3 adds the producer drops to sluice_dropped_total{stage="producer"}, with bounded reasons', async () => {
    const { src, pipeline, sock } = await setup();
    const c = await connect(sock);
    c.write(encodeFrame(3, JSON.stringify({ dropped: { buffer_full: 7, channel_full: 2, zero: 0 } })));
    c.write(encodeFrame(3, JSON.stringify({ dropped: { 'bad reason with spaces': 1, neg: -1 } })));
    c.write(encodeFrame(3, '{"nope":1}'));
    await waitFor(() => counters(src).status_frames === 2 && counters(src).bad_status === 2, 'status frames');
    const producer = pipeline.drops.filter((d) => d.stage === 'producer');
    expect(producer).toEqual([
      { stage: 'producer', reason: 'buffer_full', n: 7 },
      { stage: 'producer', reason: 'channel_full', n: 2 },
      { stage: 'producer', reason: 'other', n: 1 },
    ]);
    expect(counters(src).producer_dropped).toBe(10);
  });

  it('removes a stale socket file; refuses a regular file and a live socket', async () => {
    const dir = tmp();
    const copy = path.join(dir, 'stale.sock');
    // a stale socket file, as a killed process leaves it
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(copy)}, () => process.kill(process.pid, 'SIGKILL'))`], { stdio: 'ignore', timeout: 10_000 });
    expect(statSync(copy).isSocket()).toBe(true);
    const pipeline = new CollectingPipeline();
    const stage = new ParseStage(pipeline);
    const s1 = new SocketSource(socketSourceSchema.parse({ name: 'a', type: 'socket', path: copy }), { stage });
    cleanup.push(() => s1.stop());
    await s1.start(pipeline);
    expect(s1.status().counters.stale_removed).toBe(1);

    // a live socket (s1 answers on it): refused
    const s2 = new SocketSource(socketSourceSchema.parse({ name: 'b', type: 'socket', path: copy }), { stage });
    await expect(s2.start(pipeline)).rejects.toThrow(/another process is listening on it/);

    const file = path.join(dir, 'regular');
    writeFileSync(file, 'keep me');
    const s3 = new SocketSource(socketSourceSchema.parse({ name: 'c', type: 'socket', path: file }), { stage });
    await expect(s3.start(pipeline)).rejects.toThrow(/is a regular file; refusing to remove it/);
    expect(statSync(file).isFile()).toBe(true);

    await s1.stop();
    expect(existsSync(copy)).toBe(false);
  });

  it('back-pressure: while the pipeline refuses, reads pause and the producer blocks; nothing is dropped', async () => {
    const pipeline = new CollectingPipeline();
    pipeline.refuse = true;
    const { src, sock } = await setup({}, pipeline);
    const c = await connect(sock);
    const frame = encodeFrame(1, JSON.stringify({ message: 'x'.repeat(1000) }));
    const total = 20_000; // ~20 MB: far more than a Unix socket's kernel buffers hold
    let written = 0;
    // write until the producer is blocked: a write waits for 'drain' and none comes
    for (;;) {
      while (written < total && c.write(frame)) written++;
      if (written >= total) break;
      written++; // the write that returned false was queued
      const drained = await Promise.race([new Promise<boolean>((r) => c.once('drain', () => r(true))), sleep(500).then(() => false)]);
      if (!drained || written >= total) break;
    }
    expect(written).toBeLessThan(total);
    expect(src.status().paused).toBe(true);
    const seen = pipeline.records.length;
    expect(counters(src).paused).toBeGreaterThanOrEqual(1);
    expect(seen).toBeLessThan(written); // the source stopped reading: the rest waits in the producer's buffers
    // the pipeline drains: everything arrives, in order, nothing dropped
    const rest = (async () => {
      if (c.writableNeedDrain) await new Promise((r) => c.once('drain', r));
      while (written < total) {
        if (!c.write(frame)) await new Promise((r) => c.once('drain', r));
        written++;
      }
    })();
    pipeline.refuse = false;
    pipeline.drain();
    await rest;
    await waitFor(() => pipeline.records.length === total, `all ${total} records`, 30_000);
    expect(pipeline.drops).toEqual([]);
  });
});
