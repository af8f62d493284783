/**
 * The Docker source against a fake engine (test/helpers/fake-docker.ts), for
 * what a real engine will not produce: broken framing on one container must
 * be counted and must not disturb the others; and exact resume at
 * timestamps shared by several lines.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DockerCheckpointStore, parseDockerCheckpoint, type DockerCheckpointDoc } from './checkpoint.js';
import { dockerSourceSchema } from './config.js';
import { DockerSource } from './source.js';
import { negotiateVersion } from './client.js';
import { containerSelector } from './discovery.js';
import { CollectingPipeline, waitFor } from '../../../test/helpers/docker-collect.js';
import { FakeDocker, frame, type FakeContainer } from '../../../test/helpers/fake-docker.js';
import { ParsePool } from '../../parse/pool.js';

const T1 = '2026-11-23T13:46:10.509069713Z';
const T2 = '2026-11-23T13:46:10.509069714Z';
const T3 = '2026-11-23T13:46:11Z';
const id = (n: number) => String(n).padStart(64, 'a');

function loadDoc(dir: string): DockerCheckpointDoc {
  const r = new DockerCheckpointStore(dir, 'fake').load();
  if (r.kind !== 'ok') throw new Error(`no checkpoint: ${r.kind}`);
  return r.doc;
}

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

async function setup() {
  const fake = new FakeDocker();
  await fake.listen();
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-fd-'));
  cleanup.push(() => fake.close(), () => rmSync(dir, { recursive: true, force: true }));
  const make = async (pipeline = new CollectingPipeline()) => {
    const cfg = dockerSourceSchema.parse({ name: 'fake', type: 'docker', socket: `unix://${fake.socket}`, reconcile_interval: '1h' });
    const src = new DockerSource(cfg, { dataDir: dir });
    cleanup.push(() => src.stop());
    await src.restore(pipeline);
    await src.start(pipeline);
    await src.ready();
    return { src, pipeline };
  };
  return { fake, dir, make };
}

describe('config', () => {
  it('defaults the socket from DOCKER_HOST and accepts unix:// paths', () => {
    const c = dockerSourceSchema.parse({ name: 'd', type: 'docker', socket: 'unix:///run/x.sock' });
    expect(c).toMatchObject({ socket: '/run/x.sock', std: 'both', reconcile_interval: 30_000, max_line_bytes: 1024 * 1024, from: 'start' });
    expect(() => dockerSourceSchema.parse({ name: 'd', type: 'docker', bogus: 1 })).toThrow();
    expect(() => dockerSourceSchema.parse({ name: 'd', type: 'docker', std: 'stdin' })).toThrow();
  });

  it('describes every key', () => {
    // The shared keys (name, stream, format, max_line_bytes) are described in config/common.ts.
    const shared = new Set(['name', 'stream', 'format', 'max_line_bytes']);
    for (const [k, v] of Object.entries(dockerSourceSchema.shape)) if (!shared.has(k)) expect(v.description, k).toBeTruthy();
    expect(dockerSourceSchema.description).toBeTruthy();
  });

  it('negotiates the API version', () => {
    expect(negotiateVersion('1.41', '1.12')).toBe('1.41');
    expect(negotiateVersion('1.51', '1.24')).toBe('1.45');
    expect(negotiateVersion('1.19')).toBeUndefined();
    expect(negotiateVersion('x')).toBeUndefined();
  });

  it('selects by labels and name globs', () => {
    const sel = containerSelector({ include_labels: { a: '1' }, include_names: ['web-*', 'api'], exclude_names: ['web-old*'] });
    expect(sel('web-1', { a: '1' })).toBe(true);
    expect(sel('api', { a: '1', b: '2' })).toBe(true);
    expect(sel('web-1', { a: '2' })).toBe(false);
    expect(sel('web-old-1', { a: '1' })).toBe(false);
    expect(sel('db', { a: '1' })).toBe(false);
  });
});

describe('broken log streams (fake engine)', () => {
  it('counts each anomaly, keeps the tail alive or ends it cleanly, and leaves other tails alone', async () => {
    const { fake, make } = await setup();
    const ok = (s: string) => frame(1, `${T1} ${s}\n`);
    const good = Array.from({ length: 200 }, (_, i) => ({ std: ((i % 2) + 1) as 1 | 2, ts: T1, content: `good ${i}\n` }));
    fake.add({ id: id(1), name: 'good', running: false, messages: good });
    // A header announcing 1 GiB: counted, and the stream is rescanned for the next frame.
    fake.add({ id: id(2), name: 'huge', running: false, raw: Buffer.concat([ok('h1'), frame(1, Buffer.alloc(0), 1024 ** 3), ok('h2')]) });
    // The stream ends in the middle of a frame.
    fake.add({ id: id(3), name: 'cut', running: false, raw: Buffer.concat([ok('c1'), ok('c2').subarray(0, 20)]) });
    // An unknown stream byte.
    fake.add({ id: id(4), name: 'unknown', running: false, raw: Buffer.concat([ok('u1'), frame(9, `${T1} u-bad\n`), ok('u2')]) });
    // Garbage bytes, then a good frame.
    fake.add({ id: id(5), name: 'garbage', running: false, raw: Buffer.concat([Buffer.from('\xde\xad\xbe\xef not docker at all\n\0\0\0', 'latin1'), ok('g1')]) });
    // A frame without a timestamp prefix: kept as content, counted.
    fake.add({ id: id(6), name: 'nots', running: false, raw: frame(2, 'no timestamp here\n') });
    // Listed as running, but stopped by the time each stream ends.
    for (const c of fake.containers.values()) c.listed = true;
    const { src, pipeline } = await make();
    await waitFor('every tail to end', () => (src.status().containers as unknown[]).length === 0 && src.status().counters.containers_stopped === 6);
    const by = (name: string) => pipeline.messages((r) => r.origin.container_name === name);
    expect(by('good')).toEqual(good.map((g) => g.content.trim()));
    expect(by('huge')).toEqual(['h1', 'h2']);
    expect(by('cut')).toEqual(['c1']);
    expect(by('unknown')).toEqual(['u1', 'u2']);
    expect(by('garbage')).toEqual(['g1']);
    expect(by('nots')).toEqual(['no timestamp here']);
    const c = src.status().counters;
    expect(c.oversize_frames).toBe(1);
    expect(c.truncated_frames).toBe(1);
    expect(c.bad_frames).toBe(2);
    expect(c.bad_timestamps).toBe(1);
    expect(pipeline.drops.get('docker/oversize_frame')).toBe(1);
    expect(pipeline.drops.get('docker/bad_frame')).toBe(2);
    expect(pipeline.drops.get('docker/truncated_frame')).toBe(1);
  });

  it('cuts a line at max_line_bytes and counts it', async () => {
    const fake = new FakeDocker();
    await fake.listen();
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-fd-'));
    cleanup.push(() => fake.close(), () => rmSync(dir, { recursive: true, force: true }));
    // Five 16 KiB pieces of one 80 KiB line, as the engine sends them, against a 32 KiB cap.
    const piece = 'x'.repeat(16 * 1024);
    fake.add({
      id: id(7),
      name: 'long',
      running: false,
      listed: true,
      messages: [...Array.from({ length: 5 }, () => ({ std: 1 as const, ts: T1, content: piece })), { std: 1, ts: T1, content: '\n' }, { std: 1, ts: T2, content: 'after\n' }],
    });
    const cfg = dockerSourceSchema.parse({ name: 'fake', type: 'docker', socket: fake.socket, max_line_bytes: '32KiB' });
    const src = new DockerSource(cfg, { dataDir: dir });
    cleanup.push(() => src.stop());
    const pipeline = new CollectingPipeline();
    await src.start(pipeline);
    await waitFor('after', () => pipeline.messages().includes('after'));
    expect(pipeline.records).toHaveLength(2);
    expect(pipeline.records[0]!.message.startsWith('x'.repeat(32 * 1024))).toBe(true);
    expect(pipeline.records[0]!.message.length).toBeLessThan(33 * 1024);
    expect(src.status().counters.truncated_lines).toBe(1);
  });
});

describe('a backlog and the parse threads (fake engine)', () => {
  it('a history read back-to-back gathers over several reads into batches the threads take, in order', async () => {
    // The fake writes the whole log at once: the source finds a read waiting at every turn, as it does
    // reading a real engine's history when the engine keeps ahead (on a loaded machine it may not).
    const fake = new FakeDocker();
    await fake.listen();
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-fd-'));
    const pool = new ParsePool(2);
    cleanup.push(() => fake.close(), () => rmSync(dir, { recursive: true, force: true }), () => pool.close());
    const N = 30_000;
    const text = (i: number): string => `backlog line ${i} with some words to make it longer`;
    fake.add({ id: id(9), name: 'backlog', running: false, listed: true, messages: Array.from({ length: N }, (_, i) => ({ std: 1 as const, ts: T1, content: text(i) + '\n' })) });
    const cfg = dockerSourceSchema.parse({ name: 'fake', type: 'docker', socket: fake.socket });
    const src = new DockerSource(cfg, { dataDir: dir, parsePool: pool });
    cleanup.push(() => src.stop());
    const pipeline = new CollectingPipeline();
    await src.start(pipeline);
    await waitFor(`${N} records`, () => pipeline.records.length >= N, 30_000);
    expect(pipeline.messages()).toEqual(Array.from({ length: N }, (_, i) => text(i)));
    // one read is at most 64 KiB, under the stage's threshold for a thread: only gathered reads get there
    expect(pipeline.encodedPushes).toBeGreaterThan(0);
    expect(pipeline.pushes).toBeLessThan(N / 500);
  });
});

describe('resume at shared timestamps (fake engine)', () => {
  it('skips exactly the lines already accepted at the checkpoint timestamp', async () => {
    const { fake, dir, make } = await setup();
    const all = [
      { std: 1 as const, ts: T1, content: 'm1\n' },
      { std: 2 as const, ts: T1, content: 'm2\n' },
      { std: 1 as const, ts: T1, content: 'm3\n' },
      { std: 1 as const, ts: T2, content: 'm4\n' },
      { std: 2 as const, ts: T2, content: 'm5\n' },
      { std: 1 as const, ts: T3, content: 'm6\n' },
    ];
    // Phase 1: the container has written m1, m2 (both at T1); the stream stays open.
    const c = { id: id(8), name: 'same', running: true, hold: true, messages: all.slice(0, 2) };
    fake.add(c);
    const a = await make();
    await waitFor('m1, m2', () => a.pipeline.records.length === 2);
    await a.src.stop();
    const doc = loadDoc(dir);
    const K = '2026-11-23T13:46:10509069713';
    expect(doc.containers[id(8)]).toEqual({ key: K, n: 2, stdout: { key: K, n: 1 }, stderr: { key: K, n: 1 }, name: 'same' });
    expect(doc.seq).toBe(2);

    // Phase 2: everything is there; a new source resumes since T1 and skips the 2 seen at T1.
    c.messages = all.slice(0, 4);
    const b = await make();
    await waitFor('m4', () => b.pipeline.messages().includes('m4'));
    expect(b.pipeline.messages()).toEqual(['m3', 'm4']);
    // The last batch before the restart was re-published with its seqs (crash replay).
    expect(b.pipeline.replayed.map((r) => [r.seq, r.message])).toEqual([[1, 'm1'], [2, 'm2']]);
    expect(fake.logRequests.at(-1)).toContain('since=1795441570.509069713');
    expect(b.pipeline.records[0]!.seq).toBe(3);
    // The stream breaks (engine restart) while the container runs: reconnect, nothing repeated.
    c.messages = all;
    fake.endStreams();
    await waitFor('m6', () => b.pipeline.messages().includes('m6'), 10_000);
    expect(b.pipeline.messages()).toEqual(['m3', 'm4', 'm5', 'm6']);
    expect(b.src.status().counters.reconnects).toBeGreaterThanOrEqual(1);
    expect(b.src.status().counters.resume_skipped).toBe(2 + 1);
  });

  it('resumes from a checkpoint written before per-std positions existed (container-wide skip)', async () => {
    const { fake, dir, make } = await setup();
    fake.add({ id: id(10), name: 'old', running: true, hold: true, messages: [{ std: 1, ts: T1, content: 'm1\n' }, { std: 2, ts: T1, content: 'm2\n' }, { std: 1, ts: T2, content: 'm3\n' }] });
    mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
    const K = '2026-11-23T13:46:10509069713';
    writeFileSync(path.join(dir, 'checkpoints', 'docker-fake.json'), JSON.stringify({ version: 1, seq: 2, containers: { [id(10)]: { key: K, n: 2, name: 'old' } } }));
    const { pipeline } = await make();
    await waitFor('m3', () => pipeline.messages().includes('m3'));
    expect(pipeline.records.map((r) => [r.seq, r.message])).toEqual([[3, 'm3']]);
  });

  it('stops reading a container while the pipeline holds, and resumes on drain', async () => {
    const { fake, make } = await setup();
    const many = Array.from({ length: 50_000 }, (_, i) => ({ std: 1 as const, ts: T1, content: `line ${i}\n` }));
    fake.add({ id: id(9), name: 'flood', running: true, hold: true, messages: many });
    const p = new CollectingPipeline();
    p.afterPush = (x) => x.hold();
    await make(p);
    await waitFor('first batch', () => p.pushes >= 1);
    const held = p.records.length;
    expect(held).toBeLessThan(50_000);
    // Nothing more is pushed while held (the socket is paused): give the loop a few turns.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(p.pushes).toBe(1);
    p.afterPush = undefined;
    p.release();
    await waitFor('all lines', () => p.records.length === 50_000);
    expect(p.messages().at(-1)).toBe('line 49999');
  });
});

describe('a long line pending on one std stream while the other advances', () => {
  it('resumes from where that line started, so a reconnect loses none of it and repeats nothing', async () => {
    const { fake, dir, make } = await setup();
    const piece = 'L'.repeat(16 * 1024);
    // stdout: the first 16 KiB piece of a long line (stamped T1); stderr: a whole line at T2.
    const c = { id: id(30), name: 'long', running: true, hold: true, messages: [{ std: 1 as const, ts: T1, content: piece }, { std: 2 as const, ts: T2, content: 'e1\n' }] };
    fake.add(c);
    const a = await make();
    await waitFor('e1', () => a.pipeline.records.length === 1);
    // The position is T2 (stderr), but the pending stdout line started at T1.
    expect(loadDoc(dir).containers[c.id]).toMatchObject({ key: '2026-11-23T13:46:10509069714', n: 1, pending: '2026-11-23T13:46:10509069713' });
    // The connection breaks (engine restart) while the line is still being written.
    fake.endStreams();
    await waitFor('the reconnect', () => a.src.status().counters.reconnects >= 1 && fake.logRequests.length >= 2);
    expect(fake.logRequests.at(-1)).toContain('since=1795441570.509069713');
    // The rest of the long line: the engine stamps every piece with the first piece's time.
    fake.append(c.id, { std: 1, ts: T1, content: 'tail\n' }, { std: 2, ts: T3, content: 'e2\n' }, { std: 1, ts: T3, content: 'o2\n' });
    await waitFor('o2', () => a.pipeline.messages().includes('o2'));
    expect(a.pipeline.messages()).toEqual(['e1', piece + 'tail', 'e2', 'o2']);
    expect(loadDoc(dir).containers[c.id]).toMatchObject({ key: '2026-11-23T13:46:11000000000', n: 2 });
    expect(loadDoc(dir).containers[c.id]!.pending).toBeUndefined();
    // A restart replays the batch that completed the long line, in full.
    await a.src.stop();
    const b = await make();
    expect(b.src.status().counters).toMatchObject({ replayed: 3, replay_mismatch: 0 });
    expect(b.pipeline.replayed.map((r) => r.message)).toEqual([piece + 'tail', 'e2', 'o2']);
  });
});

describe('a container started again as its tail ends (fake engine)', () => {
  it('is followed again, with no event: the source looks once more after the tail ended', async () => {
    const { fake, make } = await setup();
    const c: FakeContainer = { id: id(30), name: 'again', running: true, hold: true, messages: [{ std: 1, ts: T1, content: 'first run\n' }] };
    fake.add(c);
    const { src, pipeline } = await make();
    await waitFor('first run', () => pipeline.messages().includes('first run'));
    // It stops: the tail's stream ends and its inspect says "not running"; right after that answer the
    // container runs again (the start event the engine would send went to the ending tail: none here)
    c.running = false;
    c.onInspect = (x) => {
      x.onInspect = undefined;
      x.running = true;
      x.messages!.push({ std: 1, ts: T3, content: 'second run\n' });
    };
    fake.endLogs(c.id);
    await waitFor('second run', () => pipeline.messages().includes('second run'), 10_000);
    expect(pipeline.messages()).toEqual(['first run', 'second run']);
    expect(src.status().counters.containers_started).toBe(2);
  });
});

describe('crash replay of the last batch (fake engine)', () => {
  const T4 = '2026-11-23T13:46:12Z';
  const T5 = '2026-11-23T13:46:13Z';
  const msg = (content: string, ts: string, std: 1 | 2 = 1) => ({ std, ts, content: `${content}\n` });
  const slots = (dir: string) => [path.join(dir, 'checkpoints', 'docker-fake.json'), path.join(dir, 'checkpoints', 'docker-fake.json.b')];
  /** The checkpoint files as they are now (both slots). */
  const snapshot = (dir: string) => slots(dir).map((f) => (existsSync(f) ? readFileSync(f) : undefined));
  /** Put the checkpoint files back as they were: what a SIGKILL right before a checkpoint write leaves. */
  const putBack = (dir: string, snap: Array<Buffer | undefined>) =>
    slots(dir).forEach((f, i) => (snap[i] ? writeFileSync(f, snap[i]) : rmSync(f, { force: true })));

  /** Source `a` reads m1, m2 (one batch, seqs 1-2), then m3 (stderr), m4 (a second batch, seqs 3-4). */
  async function twoBatches() {
    const env = await setup();
    const c = { id: id(20), name: 'crash', running: true, hold: true, messages: [msg('m1', T1), msg('m2', T2)] };
    env.fake.add(c);
    const a = await env.make();
    await waitFor('batch 1', () => a.pipeline.records.length === 2);
    const afterFirst = snapshot(env.dir);
    env.fake.append(c.id, msg('m3', T3, 2), msg('m4', T4));
    await waitFor('batch 2', () => a.pipeline.records.length === 4);
    expect(a.pipeline.pushes).toBe(2);
    await a.src.stop();
    const K2 = '2026-11-23T13:46:10509069714';
    expect(loadDoc(env.dir).last).toEqual({ id: c.id, from: { key: K2, n: 1, stdout: { key: K2, n: 1 } }, count: 2, to: '2026-11-23T13:46:12000000000', seqFirst: 3, seqLast: 4 });
    return { ...env, c, a, afterFirst };
  }

  it('a crash after the checkpoint write: the last batch comes back with its seqs, reading resumes after it', async () => {
    const { fake, c, a, make } = await twoBatches();
    const b = await make();
    expect(b.pipeline.replayed.map((r) => [r.seq, r.message, r.origin.std])).toEqual([[3, 'm3', 'stderr'], [4, 'm4', 'stdout']]);
    // Rebuilt exactly as first built (apart from the receive time).
    const strip = (r: (typeof a.pipeline.records)[number]) => ({ ...r, received: 0 });
    expect(b.pipeline.replayed.map(strip)).toEqual(a.pipeline.records.slice(2).map(strip));
    // The re-read: not following, from the position before the batch.
    expect(fake.logRequests.filter((q) => q.includes('follow=0'))).toEqual(['crash?timestamps=1&follow=0&stdout=1&stderr=1&since=1795441570.509069714']);
    fake.append(c.id, msg('m5', T5));
    await waitFor('m5', () => b.pipeline.records.length === 1);
    expect(b.pipeline.records.map((r) => [r.seq, r.message])).toEqual([[5, 'm5']]);
    expect(b.src.status().counters).toMatchObject({ replayed: 2, replay_skipped: 0, replay_mismatch: 0, lines: 1 });
  });

  it('a crash before the checkpoint write: the batch before is replayed and the lost one is read again with the same seqs', async () => {
    const { dir, a, make, afterFirst } = await twoBatches();
    putBack(dir, afterFirst);
    const b = await make();
    expect(b.pipeline.replayed.map((r) => [r.seq, r.message])).toEqual([[1, 'm1'], [2, 'm2']]);
    await waitFor('m3, m4 again', () => b.pipeline.records.length === 2);
    expect(b.pipeline.records.map((r) => [r.seq, r.message])).toEqual(a.pipeline.records.slice(2).map((r) => [r.seq, r.message]));
  });

  it('the engine no longer gives the same batch: counted, nothing re-published, its seqs stay used', async () => {
    const { fake, c, make } = await twoBatches();
    // The log lost its newest line (say, a truncated json-file): the re-read comes up short.
    c.messages = c.messages.slice(0, 3);
    const b = await make();
    expect(b.pipeline.replayed).toEqual([]);
    expect(b.src.status().counters).toMatchObject({ replayed: 0, replay_mismatch: 1, replay_skipped: 0 });
    fake.append(c.id, msg('m5', T5));
    await waitFor('m5', () => b.pipeline.messages().includes('m5'));
    expect(b.pipeline.records.at(-1)!.seq).toBeGreaterThan(4);
  });

  it('the same number of lines with other timestamps (older logs rotated away) is a mismatch too', async () => {
    const { c, make } = await twoBatches();
    c.messages = [msg('m1', T1), msg('m2', T2), msg('x3', T3), msg('x4', T5)];
    const b = await make();
    expect(b.pipeline.replayed).toEqual([]);
    expect(b.src.status().counters.replay_mismatch).toBe(1);
  });

  it('the container is gone: counted as skipped, the seqs stay used', async () => {
    const { fake, c, make } = await twoBatches();
    fake.containers.delete(c.id);
    fake.add({ id: id(21), name: 'other', running: true, hold: true, messages: [msg('o1', T5)] });
    const b = await make();
    expect(b.pipeline.replayed).toEqual([]);
    expect(b.src.status().counters).toMatchObject({ replay_skipped: 1, replay_mismatch: 0 });
    await waitFor('o1', () => b.pipeline.records.length === 1);
    expect(b.pipeline.records[0]!.seq).toBe(5);
  });

  it('replays a TTY container and a batch that started the container (no position before it)', async () => {
    const { fake, dir, make } = await setup();
    const c = { id: id(22), name: 'tty', tty: true, running: true, hold: true, messages: [msg('t1', T1), msg('t2', T1)] };
    fake.add(c);
    const a = await make();
    await waitFor('t1, t2', () => a.pipeline.records.length === 2);
    await a.src.stop();
    expect(loadDoc(dir).last).toMatchObject({ from: null, count: 2, seqFirst: 1, seqLast: 2 });
    const b = await make();
    expect(b.pipeline.replayed.map((r) => [r.seq, r.message])).toEqual([[1, 't1'], [2, 't2']]);
  });
});

describe('checkpoint store', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tmp = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'sluice-dck-'));
    dirs.push(d);
    return d;
  };
  const K1 = '2026-11-23T13:46:10509069713';
  const K2 = '2026-11-23T13:46:11000000000';
  const last = { id: id(1), from: { key: K1, n: 1, stderr: { key: K1, n: 1 } }, count: 3, to: K2, seqFirst: 8, seqLast: 10 };

  it('writes two slots alternately in place and loads the newest', () => {
    const dir = tmp();
    const s = new DockerCheckpointStore(dir, 'fake');
    expect(s.load()).toEqual({ kind: 'none' });
    s.commit(id(1), { key: K1, n: 1, name: 'a' }, 7, null);
    s.commit(id(1), { key: K2, n: 1, name: 'a' }, 10, last);
    s.close();
    expect(existsSync(s.path)).toBe(true);
    expect(existsSync(s.path + '.b')).toBe(true);
    const r = new DockerCheckpointStore(dir, 'fake').load();
    expect(r).toEqual({ kind: 'ok', doc: { version: 1, seq: 10, containers: { [id(1)]: { key: K2, n: 1, name: 'a' } }, last } });
  });

  it('falls back to the older slot when the newest was torn by a crash', () => {
    const dir = tmp();
    const s = new DockerCheckpointStore(dir, 'fake');
    s.commit(id(1), { key: K1, n: 1, name: 'a' }, 7, null);
    s.commit(id(1), { key: K2, n: 1, name: 'a' }, 10, last);
    s.close();
    // The second write landed in slot .b; tear it.
    const b = readFileSync(s.path + '.b');
    writeFileSync(s.path + '.b', b.subarray(0, b.length >> 1));
    const r = new DockerCheckpointStore(dir, 'fake').load();
    expect(r.kind === 'ok' && r.doc.seq).toBe(7);
    expect(r.kind === 'ok' && r.doc.last).toBe(null);
  });

  it('reads documents written before `last` existed, and refuses bad ones', () => {
    const dir = tmp();
    const s = new DockerCheckpointStore(dir, 'fake');
    mkdirSync(path.dirname(s.path), { recursive: true });
    writeFileSync(s.path, JSON.stringify({ version: 1, seq: 4, containers: { [id(1)]: { key: K1, n: 2, name: 'a' } } }));
    const r = s.load();
    expect(r.kind === 'ok' && r.doc).toEqual({ version: 1, seq: 4, containers: { [id(1)]: { key: K1, n: 2, name: 'a' } }, last: null });
    expect(() => parseDockerCheckpoint({ version: 1, seq: 4, containers: {}, last: { ...last, count: 2 } })).toThrow(/last/);
    expect(() => parseDockerCheckpoint({ version: 1, seq: 4, containers: {}, last: { ...last, from: { key: 'yesterday', n: 1 } } })).toThrow(/last/);
    expect(() => parseDockerCheckpoint({ version: 1, seq: 4, containers: { [id(1)]: { key: K1, n: 1, name: 'a', pending: K2 } }, last: null })).toThrow(/entry/);
    expect(() => parseDockerCheckpoint({ version: 1, seq: 4, containers: { [id(1)]: { key: K1, n: 1, name: 'a', stdout: { key: K1 } } }, last: null })).toThrow(/entry/);
    expect(() => parseDockerCheckpoint({ version: 1, seq: 4, containers: {}, last: { ...last, since: '12; rm' } })).toThrow(/last/);
    writeFileSync(s.path, '{"version":1,"seq":-1,"containers":{}}');
    expect(new DockerCheckpointStore(dir, 'fake').load().kind).toBe('corrupt');
  });

  it('forgets a destroyed container and its last batch', () => {
    const dir = tmp();
    const s = new DockerCheckpointStore(dir, 'fake');
    s.commit(id(1), { key: K2, n: 1, name: 'a' }, 10, last);
    s.remove(id(1));
    s.close();
    const r = new DockerCheckpointStore(dir, 'fake').load();
    expect(r.kind === 'ok' && r.doc).toEqual({ version: 1, seq: 10, containers: {}, last: null });
  });
});

describe('state and its reason', () => {
  it('names the errno, not a word of the socket path that looks like one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-fd-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const socket = path.join(dir, 'EXAMPLE', 'EACCES-ETIRVT', 'docker.sock');
    const cfg = dockerSourceSchema.parse({ name: 'fake', type: 'docker', socket: `unix://${socket}`, reconcile_interval: '1h' });
    const src = new DockerSource(cfg, { dataDir: dir });
    cleanup.push(() => src.stop());
    await src.start(new CollectingPipeline());
    await waitFor('the error state', () => src.status().state === 'error');
    expect(src.status().last_error).toMatchObject({ code: 'ENOENT' });
  });

  it('is error with ENOENT while the engine socket is absent, and running again (recovered) once the engine listens', async () => {
    const fake = new FakeDocker(); // not listening yet: its socket does not exist
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-fd-'));
    cleanup.push(() => fake.close(), () => rmSync(dir, { recursive: true, force: true }));
    const cfg = dockerSourceSchema.parse({ name: 'fake', type: 'docker', socket: `unix://${fake.socket}`, reconcile_interval: '1h' });
    const src = new DockerSource(cfg, { dataDir: dir });
    const seen: string[] = [];
    src.health.observe((_who, e) => e.type === 'state' && seen.push(`${e.from}->${e.to}${e.problem ? ` ${e.problem.code}` : ''}`));
    cleanup.push(() => src.stop());
    await src.start(new CollectingPipeline());
    await waitFor('the error state', () => src.status().state === 'error');
    const st = src.status();
    expect(st.last_error).toMatchObject({ code: 'ENOENT' });
    expect(st.last_error!.message).toContain(`cannot reach the Docker engine at ${fake.socket}: no such socket`);
    await fake.listen();
    await waitFor('running once the engine answers', () => src.status().state === 'running', 10_000);
    expect(seen).toEqual(['stopped->starting', 'starting->error ENOENT', 'error->running']);
    expect(src.status().last_error).toMatchObject({ code: 'ENOENT' }); // kept: the last failure stays visible
  });
});
