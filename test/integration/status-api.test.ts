/**
 * What a real daemon reports about itself: GET /api/streams (names, sources,
 * tcp, records, first/last seq, clients), /api/status `parse` (with
 * `parse.native`) and `memory.client_buffers(_max)`, `sluice_live_clients{kind}`
 * in /metrics, and the `restart_required` part of a reload's answer (the
 * running value is kept until a restart).
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ADMIN, authHeaders, fileSourceToml, freePort, launch, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';
import { SseClient } from '../helpers/sse.js';

const handles: DaemonHandle[] = [];
afterAll(async () => {
  for (const h of handles) await h.stop();
  stopAll();
});

async function get<T>(d: DaemonHandle, p: string): Promise<T> {
  const r = await fetch(d.url + p, { headers: authHeaders });
  expect(r.status).toBe(200);
  return (await r.json()) as T;
}

async function start(dir: string, body: string, server = '', env?: NodeJS.ProcessEnv): Promise<DaemonHandle> {
  const port = await freePort();
  const cfg = path.join(dir, 'sluice.toml');
  writeFileSync(cfg, `data_dir = "${dir}/data"\n${body}\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "${ADMIN}"\n${server}`);
  const d = await launch(cfg, port, env);
  handles.push(d);
  return d;
}

interface StreamView { name: string; sources: string[]; tcp: string | null; records: number; first_seq: number | null; last_seq: number | null; clients: number }
interface Status {
  seq: number;
  streams: { name: string; ring: { size: number; capacity: number }; tcp: { clients: { buffered: number }[] } | null }[];
  parse: { threads: number; running: number; native?: string };
  memory: { client_buffers: number; client_buffers_max: number; budget: number };
}

const streamsOf = async (d: DaemonHandle) => (await get<{ streams: StreamView[] }>(d, '/api/streams')).streams;
const streamOf = async (d: DaemonHandle, name: string) => (await streamsOf(d)).find((s) => s.name === name);
const status = (d: DaemonHandle) => get<Status>(d, '/api/status');

function liveClients(metrics: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metrics.matchAll(/^sluice_live_clients\{kind="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}
const metricsText = async (d: DaemonHandle) => (await fetch(`${d.url}/metrics`)).text();

describe('status API', () => {
  let d: DaemonHandle;
  let dir: string;
  let tcpPort: number;
  const files: Record<string, string> = {};

  beforeAll(async () => {
    dir = tempDir();
    for (const n of ['a', 'b', 'c']) writeFileSync((files[n] = path.join(dir, `${n}.log`)), '');
    tcpPort = await freePort();
    d = await start(
      dir,
      `[limits]
memory = "64MiB"
parse_threads = 2
${fileSourceToml('a', files.a!, 'stream = "app"')}
${fileSourceToml('b', files.b!, 'stream = "app"')}
${fileSourceToml('c', files.c!, 'stream = "other"')}
[[streams]]
name = "app"
replay = 5
[[streams]]
name = "other"
tcp = "127.0.0.1:${tcpPort}"
[[streams]]
name = "empty"
`,
    );
  });

  it('GET /api/streams lists every stream with its sources, TCP output, record count, ring seqs and clients', async () => {
    const before = await streamsOf(d);
    expect(before.map((s) => s.name).sort()).toEqual(['app', 'empty', 'other']);
    expect(before.find((s) => s.name === 'app')).toEqual({ name: 'app', sources: ['a', 'b'], tcp: null, records: 0, first_seq: null, last_seq: null, clients: 0 });
    expect(before.find((s) => s.name === 'other')).toEqual({ name: 'other', sources: ['c'], tcp: `127.0.0.1:${tcpPort}`, records: 0, first_seq: null, last_seq: null, clients: 0 });
    expect(before.find((s) => s.name === 'empty')).toEqual({ name: 'empty', sources: [], tcp: null, records: 0, first_seq: null, last_seq: null, clients: 0 });

    // 4 lines from each source of "app" (its ring keeps 5), 2 on "other"
    appendFileSync(files.a!, 'a0\na1\na2\na3\n');
    await waitFor(async () => (await streamOf(d, 'app'))?.records === 4, 'a read');
    appendFileSync(files.b!, 'b0\nb1\nb2\nb3\n');
    appendFileSync(files.c!, 'c0\nc1\n');
    await waitFor(async () => (await streamOf(d, 'app'))?.records === 8 && (await streamOf(d, 'other'))?.records === 2, 'b and c read');
    const ring = (await get<{ records: { seq: number; message: string }[] }>(d, '/api/records?stream=app&limit=100')).records;
    expect(ring.map((r) => r.message)).toEqual(['a3', 'b0', 'b1', 'b2', 'b3']);
    const other = (await get<{ records: { seq: number }[] }>(d, '/api/records?stream=other')).records;
    const after = await streamsOf(d);
    expect(after.find((s) => s.name === 'app')).toMatchObject({ records: 8, first_seq: ring[0]!.seq, last_seq: ring[4]!.seq, clients: 0 });
    expect(after.find((s) => s.name === 'other')).toMatchObject({ records: 2, first_seq: other[0]!.seq, last_seq: other[1]!.seq });
    expect(after.find((s) => s.name === 'empty')).toMatchObject({ records: 0, first_seq: null, last_seq: null });

    // clients: an SSE client of "app", a TCP client of "other"; an all-streams client is no stream's
    const sse = new SseClient(`${d.url}/api/streams/app/sse`, authHeaders);
    await sse.connect();
    const tail = new SseClient(`${d.url}/api/tail/sse`, authHeaders);
    await tail.connect();
    const sock = net.connect(tcpPort, '127.0.0.1');
    sock.on('error', () => undefined);
    await waitFor(async () => (await streamOf(d, 'other'))?.clients === 1, 'the TCP client');
    await waitFor(async () => (await streamOf(d, 'app'))?.clients === 1, 'the SSE client');
    const withClients = await streamsOf(d);
    expect(Object.fromEntries(withClients.map((s) => [s.name, s.clients]))).toEqual({ app: 1, other: 1, empty: 0 });
    sse.disconnect();
    tail.disconnect();
    sock.destroy();
    await waitFor(async () => (await streamsOf(d)).every((s) => s.clients === 0), 'clients gone');
  });

  it('/api/status: parse.native and the parse threads; memory.client_buffers grows for a stalled client and is given back', async () => {
    const st = await status(d);
    expect(st.parse).toMatchObject({ threads: 2, running: 2, native: process.env.SLUICE_NATIVE_PARSE === '0' ? 'SLUICE_NATIVE_PARSE=0' : 'loaded' });
    expect(st.memory.budget).toBe(64 * 1024 * 1024);
    expect(st.memory.client_buffers_max).toBe(8 * 1024 * 1024); // limits.memory / 8
    expect(st.memory.client_buffers).toBe(0);

    // a TCP client of "other" that never reads: what its socket cannot take waits in its queue
    const stalled = net.connect(tcpPort, '127.0.0.1');
    stalled.on('error', () => undefined);
    onTestFinished(() => void stalled.destroy()); // gone even when an assertion fails, so the next test starts clean
    stalled.pause();
    await waitFor(async () => (await streamOf(d, 'other'))?.clients === 1, 'the stalled client');
    const pad = 'x'.repeat(1000);
    // ~24 MB: more than loopback socket buffers take, so part of it must queue in the daemon
    let s = '';
    for (let i = 0; i < 24_000; i++) s += `stall ${i} ${pad}\n`;
    appendFileSync(files.c!, s);
    const held = await waitFor(async () => {
      const x = await status(d);
      return x.memory.client_buffers > 0 ? x : undefined;
    }, 'client_buffers in use', 60_000);
    expect(held.memory.client_buffers).toBeLessThanOrEqual(held.memory.client_buffers_max);
    expect(held.streams.find((x) => x.name === 'other')!.tcp!.clients[0]!.buffered).toBeGreaterThan(0);
    stalled.destroy();
    await waitFor(async () => (await status(d)).memory.client_buffers === 0, 'client_buffers given back');
  }, 90_000);

  it('sluice_live_clients{kind}: 1 SSE and 1 TCP client while connected, 0 after they leave', async () => {
    expect(liveClients(await metricsText(d))).toEqual({ sse: 0, tcp: 0 });
    const sse = new SseClient(`${d.url}/api/tail/sse`, authHeaders);
    await sse.connect();
    const sock = net.connect(tcpPort, '127.0.0.1');
    sock.on('error', () => undefined);
    await waitFor(async () => (await streamOf(d, 'other'))?.clients === 1, 'the TCP client');
    expect(liveClients(await metricsText(d))).toEqual({ sse: 1, tcp: 1 });
    sse.disconnect();
    sock.destroy();
    await waitFor(async () => {
      const m = liveClients(await metricsText(d));
      return m.sse === 0 && m.tcp === 0;
    }, 'both gone from the gauge');
  });

  it('parse.native says SLUICE_NATIVE_PARSE=0 when the native writer is turned off', async () => {
    const dir2 = tempDir();
    const d2 = await start(dir2, `[limits]\nparse_threads = 1\n`, '', { SLUICE_NATIVE_PARSE: '0' });
    expect((await status(d2)).parse).toMatchObject({ threads: 1, running: 1, native: 'SLUICE_NATIVE_PARSE=0' });
    expect(await d2.stop()).toBe(0);
  });

  it('a reload that changes server.heartbeat and a ring size names them in restart_required, and the old values keep running', async () => {
    const dir3 = tempDir();
    const file = path.join(dir3, 'app.log');
    writeFileSync(file, '');
    const streams = (replay: number) => `[[streams]]\nname = "app"\nreplay = ${replay}\n`;
    const d3 = await start(dir3, `${fileSourceToml('app', file)}\n${streams(5)}`, 'heartbeat = "200ms"\n');
    const cfg = d3.configFile;
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('replay = 5', 'replay = 50').replace('heartbeat = "200ms"', 'heartbeat = "1h"'));
    const res = await fetch(`${d3.url}/api/config/reload`, { method: 'POST', headers: authHeaders });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { ok: boolean; changed: string[]; restart_required: string[] };
    expect(answer.ok).toBe(true);
    expect(answer.changed).toEqual([]);
    expect(answer.restart_required).toContain('streams.app.replay');
    expect(answer.restart_required).toContain('server');

    // the ring keeps its size: 5 records of 10
    appendFileSync(file, Array.from({ length: 10 }, (_, i) => `r${i}`).join('\n') + '\n');
    await waitFor(async () => (await streamOf(d3, 'app'))?.records === 10, '10 records');
    const recs = (await get<{ records: { message: string }[] }>(d3, '/api/records?stream=app&limit=100')).records;
    expect(recs.map((r) => r.message)).toEqual(['r5', 'r6', 'r7', 'r8', 'r9']);
    expect((await status(d3)).streams.find((s) => s.name === 'app')!.ring.capacity).toBe(5);

    // the heartbeat keeps its interval: a client connected after the reload is pinged every 200ms, not every hour
    let raw = '';
    const req = http.get(`${d3.url}/api/streams/app/sse`, { headers: authHeaders }, (r) => {
      r.setEncoding('utf8');
      r.on('data', (c: string) => (raw += c));
    });
    req.on('error', () => undefined);
    await waitFor(() => (raw.match(/^: ping$/gm) ?? []).length >= 2, 'two heartbeats at the running interval', 15_000);
    req.destroy();
    // a second reload still reports them: the running configuration is the old one
    const again = (await (await fetch(`${d3.url}/api/config/reload`, { method: 'POST', headers: authHeaders })).json()) as { restart_required: string[] };
    expect(again.restart_required).toEqual(expect.arrayContaining(['server', 'streams.app.replay']));
    expect(await d3.stop()).toBe(0);
  }, 60_000);
});
