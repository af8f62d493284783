/**
 * Live SSE over real HTTP against a real daemon tailing a real file:
 * headers, ids, resume with Last-Event-ID (exactly the missed records, in
 * order), resume past the ring (a `gap` first), ?since=, filters, backfill.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeaders, startDaemon, stopAll, tempDir, type DaemonHandle, fileSourceToml } from '../helpers/daemon.js';
import { SseClient } from '../helpers/sse.js';

let d: DaemonHandle;
let file: string;
let smallFile: string;
let next = 0;

function append(n: number, fmt = (i: number) => `plain line ${i}`, to = file): number[] {
  const nums: number[] = [];
  let s = '';
  for (let i = 0; i < n; i++) {
    nums.push(next);
    s += fmt(next++) + '\n';
  }
  appendFileSync(to, s);
  return nums;
}

beforeAll(async () => {
  const dir = tempDir();
  file = path.join(dir, 'app.log');
  smallFile = path.join(dir, 'small.log');
  writeFileSync(file, '');
  writeFileSync(smallFile, '');
  d = await startDaemon(
    `data_dir = "${dir}/data"
${fileSourceToml('app', file)}
${fileSourceToml('small', smallFile)}
[[streams]]
name = "app"
replay = 2000

[[streams]]
name = "small"
replay = 300
`,
    { dir },
  );
});

afterAll(async () => {
  await d?.stop();
  stopAll();
});

describe('SSE', () => {
  it('sends the anti-buffering headers, ids and records', async () => {
    const c = new SseClient(`${d.url}/api/streams/app/sse`, authHeaders);
    await c.connect();
    expect(c.status).toBe(200);
    expect(c.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(c.headers['cache-control']).toBe('no-cache, no-transform');
    expect(c.headers['x-accel-buffering']).toBe('no');
    const nums = append(5);
    await c.waitFor(() => c.logs().length >= 5, '5 records');
    const logs = c.logs();
    expect(logs.map((r) => r.message)).toEqual(nums.map((i) => `plain line ${i}`));
    const ids = c.events.filter((e) => e.event === 'log').map((e) => Number(e.id));
    expect(ids).toEqual(logs.map((r) => r.seq));
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
    expect(logs[0]).toMatchObject({ source: 'app', stream: 'app', origin: { kind: 'file', path: file } });
    expect(logs[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    c.disconnect();
  });

  it('resumes with Last-Event-ID after missing 500 records: exactly the missed ones, in order', async () => {
    const c = new SseClient(`${d.url}/api/streams/app/sse`, authHeaders);
    await c.connect();
    append(10);
    await c.waitFor(() => c.logs().length >= 10, 'first records');
    c.disconnect();
    const lastId = c.lastId!;
    const missed = append(500);
    const c2 = new SseClient(`${d.url}/api/streams/app/sse`, authHeaders);
    await c2.connect(lastId);
    await c2.waitFor(() => c2.logs().length >= 500, '500 resumed records');
    await new Promise((r) => setTimeout(r, 100));
    expect(c2.gaps()).toEqual([]);
    expect(c2.logs().map((r) => r.message)).toEqual(missed.map((i) => `plain line ${i}`));
    expect(Number(c2.logs()[0]!.seq)).toBe(Number(lastId) + 1);
    c2.disconnect();
  });

  it('resumes the all-streams view with ?since=', async () => {
    const first = new SseClient(`${d.url}/api/tail/sse`, authHeaders);
    await first.connect();
    append(1);
    await first.waitFor(() => first.logs().length >= 1, 'one record');
    first.disconnect();
    const lastId = first.lastId!;
    const missed = append(200);
    const c = new SseClient(`${d.url}/api/tail/sse?since=${lastId}`, authHeaders);
    await c.connect();
    await c.waitFor(() => c.logs().length >= 200, 'resumed via ?since=');
    expect(c.logs().map((r) => r.message)).toEqual(missed.map((i) => `plain line ${i}`));
    c.disconnect();
  });

  it('resuming past the ring gets a gap with the missed count, then what the ring has', async () => {
    const c = new SseClient(`${d.url}/api/streams/small/sse`, authHeaders);
    await c.connect();
    append(1, undefined, smallFile);
    await c.waitFor(() => c.logs().length >= 1, 'one record');
    c.disconnect();
    const lastId = Number(c.lastId);
    const missed = append(500, undefined, smallFile);
    // wait until the daemon has them all (backfill shows the newest)
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = (await (await fetch(`${d.url}/api/records?stream=small&limit=1`, { headers: authHeaders })).json()) as { records: { message: string }[] };
      if (r.records[0]?.message === `plain line ${missed[missed.length - 1]}`) break;
      if (Date.now() > deadline) throw new Error('records not ingested');
      await new Promise((r) => setTimeout(r, 50));
    }
    const c2 = new SseClient(`${d.url}/api/streams/small/sse`, authHeaders);
    await c2.connect(String(lastId));
    await c2.waitFor(() => c2.logs().length >= 300, 'ring contents');
    expect(c2.events[0]!.event === 'gap' || c2.events.find((e) => e.event !== 'log')?.event === 'gap').toBe(true);
    expect(c2.gaps()).toEqual([{ missed: 200 }]);
    expect(c2.logs().map((r) => r.message)).toEqual(missed.slice(200).map((i) => `plain line ${i}`));
    c2.disconnect();
  });

  it('filters by level, q and re, and rejects a bad RE2 with 400', async () => {
    const c = new SseClient(`${d.url}/api/streams/app/sse?level=error&q=disk&re=${encodeURIComponent('id=(\\d+)$')}`, authHeaders);
    await c.connect();
    append(30, (i) => (i % 3 === 0 ? `ERROR disk full id=${i}` : i % 3 === 1 ? `ERROR network down id=${i}` : `INFO disk ok id=${i}`));
    await c.waitFor(() => c.logs().length >= 10, 'filtered records');
    await new Promise((r) => setTimeout(r, 200));
    expect(c.logs().every((r) => r.level === 'error' && r.message.includes('disk'))).toBe(true);
    expect(c.logs()).toHaveLength(10);
    c.disconnect();
    const bad = await fetch(`${d.url}/api/streams/app/sse?re=(unclosed`, { headers: authHeaders });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('SLUICE_ERR_FILTER_INVALID');
    const unknown = await fetch(`${d.url}/api/streams/nope/sse`, { headers: authHeaders });
    expect(unknown.status).toBe(404);
  });

  it('backfills from the ring with /api/records', async () => {
    const nums = append(3);
    const deadline = Date.now() + 10_000;
    let recs: { message: string; seq: number }[] = [];
    while (Date.now() < deadline) {
      recs = ((await (await fetch(`${d.url}/api/records?stream=app&limit=3`, { headers: authHeaders })).json()) as { records: typeof recs }).records;
      if (recs[2]?.message === `plain line ${nums[2]}`) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(recs.map((r) => r.message)).toEqual(nums.map((i) => `plain line ${i}`));
    const after = ((await (await fetch(`${d.url}/api/records?stream=app&since=${recs[0]!.seq}`, { headers: authHeaders })).json()) as { records: typeof recs }).records;
    expect(after.map((r) => r.seq)).toEqual([recs[1]!.seq, recs[2]!.seq]);
  });
});
