/**
 * The Docker source against a fake engine (test/helpers/fake-docker.ts), for
 * what a real engine will not produce: broken framing on one container must
 * be counted and must not disturb the others; and exact resume at
 * timestamps shared by several lines.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dockerSourceSchema } from './config.js';
import { DockerSource } from './source.js';
import { negotiateVersion } from './client.js';
import { containerSelector } from './discovery.js';
import { CollectingPipeline, waitFor } from '../../../test/helpers/docker-collect.js';
import { FakeDocker, frame } from '../../../test/helpers/fake-docker.js';

const T1 = '2026-11-23T13:46:10.509069713Z';
const T2 = '2026-11-23T13:46:10.509069714Z';
const T3 = '2026-11-23T13:46:11Z';
const id = (n: number) => String(n).padStart(64, 'a');

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
    const doc = JSON.parse(readFileSync(path.join(dir, 'checkpoints', 'docker-fake.json'), 'utf8'));
    expect(doc.containers[id(8)]).toEqual({ key: '2026-11-23T13:46:10509069713', n: 2, name: 'same' });
    expect(doc.seq).toBe(2);

    // Phase 2: everything is there; a new source resumes since T1 and skips the 2 seen at T1.
    c.messages = all.slice(0, 4);
    const b = await make();
    await waitFor('m4', () => b.pipeline.messages().includes('m4'));
    expect(b.pipeline.messages()).toEqual(['m3', 'm4']);
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
