/**
 * Live SSE over real HTTP against a real daemon tailing a real file:
 * headers, ids, resume with Last-Event-ID (exactly the missed records, in
 * order), resume past the ring (a `gap` first), ?since=, filters, backfill.
 *
 * A resume is tested after the daemon has *read* the missed lines (the
 * source's `records` counter in /api/status says so): they can then only come
 * from the replay ring, never live. Nothing waits on time: "no more records"
 * is checked with a marker line appended last (a client gets records in seq
 * order, so anything before the marker has arrived once the marker has).
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeaders, startDaemon, stopAll, tempDir, waitFor, type DaemonHandle, fileSourceToml } from '../helpers/daemon.js';
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

/** The file source `name`'s `records` counter: records it pushed to the hub (read, parsed, given seqs). */
async function pushed(name: string): Promise<number> {
  const st = (await (await fetch(`${d.url}/api/status`, { headers: authHeaders })).json()) as { sources: { name: string; counters: { records: number } }[] };
  return st.sources.find((s) => s.name === name)!.counters.records;
}

/** Append `n` lines to `to` and wait until the daemon has read all of them (not until a client got them). */
async function appendRead(n: number, source = 'app', to = file, fmt?: (i: number) => string): Promise<number[]> {
  const before = await pushed(source);
  const nums = append(n, fmt, to);
  await waitFor(async () => (await pushed(source)) >= before + n, `the daemon to read ${n} lines of ${source}`);
  return nums;
}

/** Append one marker line and wait until `c` has it: every record before it has then arrived. */
async function marker(c: SseClient, to = file, fmt = (k: number) => `marker ${k}`): Promise<string> {
  const [i] = append(1, fmt, to);
  const m = fmt(i!);
  await c.waitFor(() => c.logs().some((r) => r.message === m), `the marker "${m}"`);
  return m;
}

const messages = (c: SseClient): string[] => c.logs().map((r) => r.message);
const plain = (nums: number[]): string[] => nums.map((i) => `plain line ${i}`);

function expectContiguous(seqs: number[], first: number): void {
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => first + i));
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

  it('resumes with Last-Event-ID after missing 500 records the daemon has already read: exactly those, from the ring, before anything live', async () => {
    const c = new SseClient(`${d.url}/api/streams/app/sse`, authHeaders);
    await c.connect();
    append(10);
    await c.waitFor(() => c.logs().length >= 10, 'first records');
    c.disconnect();
    const lastId = c.lastId!;
    // read (seqs given, in the ring) while no client is connected
    const missed = await appendRead(500);
    const c2 = new SseClient(`${d.url}/api/streams/app/sse`, authHeaders);
    await c2.connect(lastId);
    // a record published after the resume: it must come after every missed one
    const m = await marker(c2);
    c2.disconnect();
    expect(c2.gaps()).toEqual([]);
    expect(messages(c2)).toEqual([...plain(missed), m]);
    expectContiguous(c2.logs().map((r) => r.seq), Number(lastId) + 1);
    expect(c2.events.filter((e) => e.event === 'log').map((e) => Number(e.id))).toEqual(c2.logs().map((r) => r.seq));
  });

  it('Last-Event-ID wins over ?since= (a reconnecting EventSource keeps its URL)', async () => {
    const c = new SseClient(`${d.url}/api/streams/app/sse`, authHeaders);
    await c.connect();
    append(3);
    await c.waitFor(() => c.logs().length >= 3, 'first records');
    c.disconnect();
    const firstSeq = c.logs()[0]!.seq;
    const lastId = c.lastId!;
    const missed = await appendRead(20);
    // the URL still says where it first started; the header says what it has seen since
    const c2 = new SseClient(`${d.url}/api/streams/app/sse?since=${firstSeq - 1}`, authHeaders);
    await c2.connect(lastId);
    const m = await marker(c2);
    c2.disconnect();
    expect(c2.gaps()).toEqual([]);
    expect(messages(c2)).toEqual([...plain(missed), m]);
  });

  it('resumes one stream with ?since=: the missed records from the ring, then live', async () => {
    const c = new SseClient(`${d.url}/api/streams/app/sse`, authHeaders);
    await c.connect();
    append(1);
    await c.waitFor(() => c.logs().length >= 1, 'one record');
    c.disconnect();
    const lastId = c.lastId!;
    const missed = await appendRead(150);
    const c2 = new SseClient(`${d.url}/api/streams/app/sse?since=${lastId}`, authHeaders);
    await c2.connect();
    const m = await marker(c2);
    c2.disconnect();
    expect(c2.gaps()).toEqual([]);
    expect(messages(c2)).toEqual([...plain(missed), m]);
    expectContiguous(c2.logs().map((r) => r.seq), Number(lastId) + 1);
  });

  it('resumes the all-streams view with ?since=', async () => {
    const first = new SseClient(`${d.url}/api/tail/sse`, authHeaders);
    await first.connect();
    append(1);
    await first.waitFor(() => first.logs().length >= 1, 'one record');
    first.disconnect();
    const lastId = first.lastId!;
    const missed = await appendRead(200);
    const c = new SseClient(`${d.url}/api/tail/sse?since=${lastId}`, authHeaders);
    await c.connect();
    const m = await marker(c);
    c.disconnect();
    expect(c.gaps()).toEqual([]);
    expect(messages(c)).toEqual([...plain(missed), m]);
    expectContiguous(c.logs().map((r) => r.seq), Number(lastId) + 1);
  });

  it('resuming past the ring gets a gap with the missed count, then what the ring has', async () => {
    const c = new SseClient(`${d.url}/api/streams/small/sse`, authHeaders);
    await c.connect();
    append(1, undefined, smallFile);
    await c.waitFor(() => c.logs().length >= 1, 'one record');
    c.disconnect();
    const lastId = Number(c.lastId);
    const missed = await appendRead(500, 'small', smallFile);
    const c2 = new SseClient(`${d.url}/api/streams/small/sse`, authHeaders);
    await c2.connect(String(lastId));
    const m = await marker(c2, smallFile);
    c2.disconnect();
    expect(c2.events.find((e) => e.event !== 'log')?.event).toBe('gap');
    expect(c2.events[0]!.event).toBe('gap'); // the notice comes first
    expect(c2.gaps()).toEqual([{ missed: 200 }]);
    // what the ring still has (its newest 300), then live
    expect(messages(c2)).toEqual([...plain(missed.slice(200)), m]);
  });

  it('filters by level, q and re, and rejects a bad RE2 with 400', async () => {
    const c = new SseClient(`${d.url}/api/streams/app/sse?level=error&q=disk&re=${encodeURIComponent('id=(\\d+)$')}`, authHeaders);
    await c.connect();
    const nums = append(30, (i) => (i % 3 === 0 ? `ERROR disk full id=${i}` : i % 3 === 1 ? `ERROR network down id=${i}` : `INFO disk ok id=${i}`));
    const m = await marker(c, file, (k) => `ERROR disk marker id=${k}`); // passes every filter
    c.disconnect();
    expect(c.logs().every((r) => r.level === 'error' && r.message.includes('disk'))).toBe(true);
    expect(messages(c)).toEqual([...nums.filter((i) => i % 3 === 0).map((i) => `ERROR disk full id=${i}`), m]);
    const bad = await fetch(`${d.url}/api/streams/app/sse?re=(unclosed`, { headers: authHeaders });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('SLUICE_ERR_FILTER_INVALID');
    const unknown = await fetch(`${d.url}/api/streams/nope/sse`, { headers: authHeaders });
    expect(unknown.status).toBe(404);
  });

  it('backfills from the ring with /api/records', async () => {
    const nums = await appendRead(3);
    const recs = ((await (await fetch(`${d.url}/api/records?stream=app&limit=3`, { headers: authHeaders })).json()) as { records: { message: string; seq: number }[] }).records;
    expect(recs.map((r) => r.message)).toEqual(nums.map((i) => `plain line ${i}`));
    const after = ((await (await fetch(`${d.url}/api/records?stream=app&since=${recs[0]!.seq}`, { headers: authHeaders })).json()) as { records: typeof recs }).records;
    expect(after.map((r) => r.seq)).toEqual([recs[1]!.seq, recs[2]!.seq]);
  });
});
