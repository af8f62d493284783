/**
 * Scale-out on NATS JetStream with real processes: nats-servers of the
 * test's own, agents (role = "agent": a file source, records published
 * through the spool) and servers (role = "server": the shared durable
 * consumer). Numbered lines are tallied on the servers' live streams (SSE).
 * - every line reaches the server exactly once;
 * - the agent SIGKILLed mid-publish, and with a batch still open: every line once;
 * - the agent's whole spool published again (a crash after JetStream
 *   acknowledged but before the spool learnt it, for every batch): JetStream
 *   answers every part as a duplicate (Nats-Msg-Id), every line once;
 * - NATS stopped and started again: the agent holds, the server reconnects;
 * - a three-node JetStream cluster losing the agent's node: every line once;
 * - two servers on one PostgreSQL store, every message delivered again
 *   (the consumer deleted): no second event (events keyed by record);
 * - one of two servers frozen (SIGSTOP) while it holds fetched messages,
 *   then SIGKILLed: the other gets them after ack_wait (redelivered), every
 *   line and every event is handled; what both showed is counted and bounded.
 */
import { appendFileSync, cpSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { ADMIN, authHeaders, fileSourceToml, freePort, launch, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { SseClient } from '../helpers/sse.js';
import { NATS_SERVER, startNats, startNatsCluster, stopAllNats, type NatsHandle } from '../helpers/nats.js';

afterAll(() => {
  stopAll();
  stopAllNats();
});

const N = Number(process.env.SLUICE_BUS_LINES ?? 50_000);
const PG_URL = process.env.SLUICE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A database of the test's own on the test PostgreSQL (undefined when it cannot be reached), dropped by `drop`. */
async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
  try {
    await admin.connect();
  } catch {
    return undefined;
  }
  const name = `sluice_bus_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function server(dir: string, name: string, port: number, natsUrl: string, bus = ''): Promise<DaemonHandle> {
  const cfg = path.join(dir, `${name}.toml`);
  writeFileSync(
    cfg,
    `role = "server"\ndata_dir = "${dir}/${name}"\n[bus]\nkind = "nats"\nurl = "${natsUrl}"\n${bus}\n[[streams]]\nname = "app"\nreplay = ${N + 10_000}\nreplay_bytes = "512MiB"\n\n[limits]\nmemory = "2GiB"\n\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "${ADMIN}"\n`,
  );
  return launch(cfg, port);
}

async function agent(dir: string, port: number, natsUrl: string, log: string, publish = 'batch_age = "100ms"', bus = ''): Promise<DaemonHandle> {
  const cfg = path.join(dir, 'agent.toml');
  writeFileSync(
    cfg,
    `role = "agent"\ndata_dir = "${dir}/agent"\n${fileSourceToml('app', log)}\n[bus]\nkind = "nats"\nurl = "${natsUrl}"\n${bus}\n[bus.publish]\n${publish}\nbackoff_base = "50ms"\nbackoff_max = "500ms"\n\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "${ADMIN}"\n`,
  );
  return launch(cfg, port);
}

interface Status {
  sources: { name: string; counters: Record<string, number> }[];
  forward: { name: string; spool_batches: number; spool_records: number; open_batch_records: number; counters: Record<string, number>; transport?: Record<string, number> }[];
}

async function status(d: DaemonHandle): Promise<Status> {
  return (await (await fetch(`${d.url}/api/status`, { headers: authHeaders })).json()) as Status;
}

/** Lines the agent's file source has read. */
async function agentRead(a: DaemonHandle): Promise<number> {
  return (await status(a)).sources.find((s) => s.name === 'app')!.counters.records!;
}

async function publisher(a: DaemonHandle) {
  return (await status(a)).forward.find((f) => f.name === 'bus')!;
}

/** The agent has published everything it read: nothing spooled, no batch open. */
async function agentIdle(a: DaemonHandle): Promise<boolean> {
  const p = await publisher(a);
  return p.spool_batches === 0 && p.open_batch_records === 0;
}

async function busCounters(s: DaemonHandle): Promise<Record<string, number>> {
  return (await status(s)).sources.find((x) => x.name === 'bus')!.counters;
}

function lines(from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += `line ${i} ${'x'.repeat(40)}\n`;
  return s;
}

/** Line numbers seen by SSE clients (of one server or several), and how many times each. */
function tally(...clients: SseClient[]): { distinct: number; dup: number } {
  const seen = new Map<number, number>();
  for (const c of clients) {
    for (const r of c.logs()) {
      const m = /^line (\d+) /.exec(r.message);
      if (m) seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
    }
  }
  let dup = 0;
  for (const n of seen.values()) if (n > 1) dup += n - 1;
  return { distinct: seen.size, dup };
}

/** JetStream has nothing left for the servers: no message pending, none delivered and unacknowledged. */
async function consumerDone(nats: NatsHandle): Promise<boolean> {
  let nc;
  try {
    nc = await connect({ servers: nats.url });
    const i = await (await jetstreamManager(nc)).consumers.info('sluice-records', 'sluice-servers');
    return i.num_pending === 0 && i.num_ack_pending === 0;
  } catch {
    return false; // (a cluster electing a leader answers nothing for a moment)
  } finally {
    await nc?.close();
  }
}

/** Everything published was taken and acknowledged by `s`, and its live client got every record it pushed. */
async function settled(nats: NatsHandle, s: DaemonHandle, sse: SseClient): Promise<void> {
  await waitFor(async () => (await consumerDone(nats)) && sse.events.length === (await busCounters(s)).records, 'the consumer drained and the live client caught up', 60_000, 100);
}

async function sseOf(d: DaemonHandle): Promise<SseClient> {
  const c = new SseClient(`${d.url}/api/streams/app/sse`, authHeaders);
  await c.connect();
  return c;
}

describe.skipIf(NATS_SERVER === undefined)('bus: agents and servers on JetStream', () => {
  it('N numbered lines reach the server exactly once, with the agent\'s source, stream and origin', async () => {
    const nats = await startNats();
    const dir = tempDir();
    const log = path.join(dir, 'app.log');
    writeFileSync(log, '');
    const s = await server(dir, 's1', await freePort(), nats.url);
    const sse = await sseOf(s);
    const a = await agent(dir, await freePort(), nats.url, log);
    appendFileSync(log, lines(0, N));
    await sse.waitFor(() => sse.events.length >= N, `${N} records at the server`, 120_000);
    await waitFor(async () => (await agentIdle(a)), 'the agent spool empty');
    expect(tally(sse)).toEqual({ distinct: N, dup: 0 });
    const first = sse.logs()[0]!;
    expect(first).toMatchObject({ source: 'app', stream: 'app', origin: { kind: 'file', path: log, agent: expect.stringMatching(/^[0-9a-f]+$/), agent_seq: expect.any(Number) } });
    expect((await busCounters(s)).records).toBe(N);
    expect((await publisher(a)).counters.records_sent).toBe(N);
    const am = await (await fetch(`${a.url}/metrics`)).text();
    expect(am).toContain(`sluice_forward_events_total{forward="bus",counter="records_sent"} ${N}`);
    expect(am).toContain('sluice_forward_spool_bytes{forward="bus"} 0');
    const sm = await (await fetch(`${s.url}/metrics`)).text();
    expect(sm).toMatch(new RegExp(`sluice_source_events_total\\{source="bus",type="nats",counter="records"\\} ${N}\\b`));
    // the agent has no rules or store: its API has no /api/rules
    expect((await fetch(`${a.url}/api/rules`, { headers: authHeaders })).status).toBe(404);
    sse.disconnect();
    expect(await a.stop()).toBe(0);
    expect(await s.stop()).toBe(0);
    await nats.stop();
  }, 240_000);

  it('the agent SIGKILLed mid-publish and restarted: every line once', async () => {
    const nats = await startNats();
    const dir = tempDir();
    const log = path.join(dir, 'app.log');
    writeFileSync(log, '');
    const s = await server(dir, 's1', await freePort(), nats.url);
    const sse = await sseOf(s);
    const aPort = await freePort();
    let a = await agent(dir, aPort, nats.url, log, 'batch_age = "50ms"\nbatch_records = 1000');
    appendFileSync(log, lines(0, N));
    await sse.waitFor(() => sse.events.length >= N / 5, 'a fifth at the server', 60_000);
    await a.kill9();
    expect(tally(sse).distinct).toBeLessThan(N); // killed mid-stream
    a = await agent(dir, aPort, nats.url, log, 'batch_age = "50ms"\nbatch_records = 1000');
    await sse.waitFor(() => sse.events.length >= N, `${N} records at the server`, 120_000);
    await waitFor(async () => (await agentIdle(a)), 'the agent spool empty');
    await settled(nats, s, sse);
    expect(tally(sse)).toEqual({ distinct: N, dup: 0 });
    sse.disconnect();
    expect(await a.stop()).toBe(0);
    expect(await s.stop()).toBe(0);
    await nats.stop();
  }, 240_000);

  it('the agent SIGKILLed with a batch still open (its records checkpointed by the source): the journal brings them back', async () => {
    const nats = await startNats();
    const dir = tempDir();
    const log = path.join(dir, 'app.log');
    writeFileSync(log, '');
    const s = await server(dir, 's1', await freePort(), nats.url);
    const sse = await sseOf(s);
    const aPort = await freePort();
    // full batches of 7,000 go at once; the last 2,000 lines stay in the open batch (sealed only by age: never, here)
    const M = 16_000;
    let a = await agent(dir, aPort, nats.url, log, 'batch_age = "1h"\nbatch_records = 7000\nbatch_bytes = "64MiB"');
    appendFileSync(log, lines(0, M));
    await sse.waitFor(() => sse.events.length >= 14_000, 'the two full batches at the server', 60_000);
    await waitFor(async () => (await agentRead(a)) === M, 'every line read by the agent');
    await a.kill9();
    expect(sse.events.length).toBe(14_000);
    a = await agent(dir, aPort, nats.url, log);
    await sse.waitFor(() => sse.events.length >= M, `${M} records at the server`, 60_000);
    await settled(nats, s, sse);
    expect(tally(sse)).toEqual({ distinct: M, dup: 0 });
    sse.disconnect();
    expect(await a.stop()).toBe(0);
    expect(await s.stop()).toBe(0);
    await nats.stop();
  }, 120_000);

  it('the agent\'s whole spool published again after JetStream acknowledged it (a crash before the spool learnt it): every part a duplicate, every line once', async () => {
    const M = 20_000;
    const dir = tempDir();
    const log = path.join(dir, 'app.log');
    writeFileSync(log, '');
    const natsPort = await freePort(); // no NATS there yet: the agent spools every batch
    const url = `nats://127.0.0.1:${natsPort}`;
    const aPort = await freePort();
    const publish = 'batch_age = "50ms"\nbatch_records = 1000\nfsync = "batch"';
    let a = await agent(dir, aPort, url, log, publish);
    appendFileSync(log, lines(0, M));
    await waitFor(async () => (await publisher(a)).spool_records === M, 'every line spooled', 60_000);
    await a.kill9();
    // the agent's state with all of it unacknowledged: its spool and its file checkpoint
    const saved = path.join(dir, 'agent-saved');
    cpSync(path.join(dir, 'agent'), saved, { recursive: true });
    const nats = await startNats({ port: natsPort });
    const s = await server(dir, 's1', await freePort(), url);
    const sse = await sseOf(s);
    a = await agent(dir, aPort, url, log, publish);
    await waitFor(async () => (await agentIdle(a)), 'the spool published', 60_000);
    const first = (await publisher(a)).transport!;
    expect(first.duplicates).toBe(0);
    await a.kill9();
    // back to the state before: the same batches, under the same ids, sent again
    rmSync(path.join(dir, 'agent'), { recursive: true });
    cpSync(saved, path.join(dir, 'agent'), { recursive: true });
    a = await agent(dir, aPort, url, log, publish);
    await waitFor(async () => (await agentIdle(a)), 'the spool published again', 60_000);
    expect((await publisher(a)).transport).toEqual({ published: 0, duplicates: first.published });
    await settled(nats, s, sse);
    expect(tally(sse)).toEqual({ distinct: M, dup: 0 });
    sse.disconnect();
    expect(await a.stop()).toBe(0);
    expect(await s.stop()).toBe(0);
    await nats.stop();
  }, 240_000);

  it('NATS stopped while the agent reads and started again: the agent holds (spool), the server reconnects, every line once', async () => {
    let nats = await startNats();
    const dir = tempDir();
    const log = path.join(dir, 'app.log');
    writeFileSync(log, '');
    const s = await server(dir, 's1', await freePort(), nats.url);
    const sse = await sseOf(s);
    // a publish timeout far above the wait allowed below: a send stuck on the lost connection would show
    const a = await agent(dir, await freePort(), nats.url, log, 'batch_age = "50ms"\nbatch_records = 1000\ntimeout = "30s"');
    appendFileSync(log, lines(0, N / 2));
    await sse.waitFor(() => sse.events.length >= N / 2, 'the first half at the server', 60_000);
    await nats.stop();
    appendFileSync(log, lines(N / 2, N));
    await waitFor(async () => (await agentRead(a)) === N, 'the second half read by the agent while NATS is away', 60_000);
    await waitFor(async () => (await publisher(a)).counters.retries > 0 && (await publisher(a)).spool_records > 0, 'the agent holding it in its spool, retrying', 60_000);
    expect(sse.events.length).toBe(N / 2);
    // the same port and store directory: the stream and the durable consumer are still there
    nats = await startNats({ port: nats.port, dir: nats.dir });
    const t0 = Date.now();
    await waitFor(async () => (await agentIdle(a)), 'the agent spool published', 120_000);
    const t1 = Date.now();
    await sse.waitFor(() => sse.events.length >= N, `${N} records at the server`, 120_000);
    console.log(`NATS back: the agent's spool published after ${t1 - t0} ms, every record at the server after ${Date.now() - t0} ms`);
    // a send in flight when the connection went, or started while it was away, fails at once and is retried:
    // the spool goes out within the reconnect and a few backoffs (500 ms each), not after the 30 s publish timeout
    expect(t1 - t0).toBeLessThan(15_000);
    await waitFor(async () => (await agentIdle(a)), 'the agent spool empty');
    await settled(nats, s, sse);
    expect(tally(sse)).toEqual({ distinct: N, dup: 0 });
    sse.disconnect();
    expect(await a.stop()).toBe(0);
    expect(await s.stop()).toBe(0);
    await nats.stop();
  }, 240_000);

  it('a three-node JetStream cluster (replicas = 3) losing the node the agent publishes through: every line once', async () => {
    const nodes = await startNatsCluster(3);
    const dir = tempDir();
    const log = path.join(dir, 'app.log');
    writeFileSync(log, '');
    const s = await server(dir, 's1', await freePort(), nodes.map((n) => n.url).join(','), 'replicas = 3');
    const sse = await sseOf(s);
    // the agent knows only the first node; the cluster tells its client the others
    const a = await agent(dir, await freePort(), nodes[0]!.url, log, 'batch_age = "50ms"\nbatch_records = 1000\ntimeout = "30s"', 'replicas = 3');
    appendFileSync(log, lines(0, N / 2));
    await sse.waitFor(() => sse.events.length >= N / 2, 'the first half at the server', 60_000);
    await nodes[0]!.kill9();
    appendFileSync(log, lines(N / 2, N));
    await sse.waitFor(() => sse.events.length >= N, `${N} records at the server`, 120_000);
    await waitFor(async () => (await agentIdle(a)), 'the agent spool empty');
    await settled(nodes[1]!, s, sse);
    const c = await busCounters(s);
    // an acknowledgement the dead node's consumer leader had not replicated comes back as a redelivery to this
    // server: answered like the first delivery, not pushed again
    console.log(`three-node cluster, n1 killed: server ${JSON.stringify(c)}, agent ${JSON.stringify((await publisher(a)).transport)} with ${(await publisher(a)).counters.retries} retries`);
    expect(c.repeats_skipped).toBe(c.redelivered);
    expect(tally(sse)).toEqual({ distinct: N, dup: 0 });
    sse.disconnect();
    expect(await a.stop()).toBe(0);
    expect(await s.stop()).toBe(0);
    for (const n of nodes) await n.stop();
  }, 240_000);

  it('servers sharing a PostgreSQL store: every record delivered again (the consumer lost) makes no second event', async (ctx) => {
    const db = await freshDatabase();
    if (db === undefined) return ctx.skip();
    onTestFinished(() => db.drop());
    const M = 20_000;
    const nats = await startNats();
    const dir = tempDir();
    const log = path.join(dir, 'app.log');
    writeFileSync(log, '');
    const store = `[store]\nkind = "postgres"\nurl = "${db.url}"\n[rules]\nbucket_capacity = 1000000`;
    const s1 = await server(dir, 's1', await freePort(), nats.url, store);
    const r = await fetch(`${s1.url}/api/rules`, { method: 'POST', headers: { ...authHeaders, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'tenth', pattern: '^line \\d*0 ', severity: 'info' }) });
    expect(r.status).toBe(201);
    const sse1 = await sseOf(s1);
    const a = await agent(dir, await freePort(), nats.url, log, 'batch_age = "50ms"\nbatch_records = 1000');
    appendFileSync(log, lines(0, M));
    await sse1.waitFor(() => sse1.events.length >= M, `${M} records at s1`, 60_000);
    await settled(nats, s1, sse1);
    const events = async () => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      const { rows } = await c.query<{ message: string }>('SELECT message FROM events');
      await c.end();
      return rows.map((x) => Number(/^line (\d+) /.exec(x.message)![1]));
    };
    expect((await events()).length).toBe(M / 10);
    sse1.disconnect();
    expect(await s1.stop()).toBe(0);
    // the consumer and its acknowledgements lost: JetStream delivers every message again, to s2
    const nc = await connect({ servers: nats.url });
    await (await jetstreamManager(nc)).consumers.delete('sluice-records', 'sluice-servers');
    await nc.close();
    const s2 = await server(dir, 's2', await freePort(), nats.url, store);
    const sse2 = await sseOf(s2);
    await sse2.waitFor(() => sse2.events.length >= M, `${M} records again at s2`, 60_000);
    await settled(nats, s2, sse2);
    const ev = await events();
    expect(ev.length).toBe(M / 10);
    expect(new Set(ev).size).toBe(M / 10);
    const st = (await (await fetch(`${s2.url}/api/status`, { headers: authHeaders })).json()) as { rules: { hits: number; events_written: number; events_repeated: number } };
    expect(st.rules).toMatchObject({ hits: M / 10, events_written: 0, events_repeated: M / 10 });
    sse2.disconnect();
    expect(await a.stop()).toBe(0);
    expect(await s2.stop()).toBe(0);
    await nats.stop();
  }, 240_000);

  it('servers sharing a PostgreSQL store: a rule or trigger changed through one server is in force on the other within a second', async (ctx) => {
    const db = await freshDatabase();
    if (db === undefined) return ctx.skip();
    onTestFinished(() => db.drop());
    const nats = await startNats();
    const dir = tempDir();
    const store = `[store]\nkind = "postgres"\nurl = "${db.url}"\n[triggers]\nallow_hosts = ["127.0.0.1"]`;
    const s1 = await server(dir, 's1', await freePort(), nats.url, store);
    const s2 = await server(dir, 's2', await freePort(), nats.url, store);
    const st = async (d: DaemonHandle) => (await (await fetch(`${d.url}/api/status`, { headers: authHeaders })).json()) as { rules: { snapshot: { rules: number } }; dispatcher: { triggers: number }; bus_control: { sent: number; applied: number; listening: boolean } };
    // both listen for notices before the change is made
    await waitFor(async () => (await st(s1)).bus_control.listening && (await st(s2)).bus_control.listening, 'both servers on the control subject');
    const post = (d: DaemonHandle, route: string, body: unknown) => fetch(`${d.url}${route}`, { method: 'POST', headers: { ...authHeaders, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await st(s2)).rules.snapshot.rules).toBe(0);
    const t0 = Date.now();
    expect((await post(s1, '/api/rules', { name: 'boom', pattern: 'boom', severity: 'error' })).status).toBe(201);
    await waitFor(async () => (await st(s2)).rules.snapshot.rules === 1, 'the rule in force on s2', 5_000, 20);
    const ruleMs = Date.now() - t0;
    const t1 = Date.now();
    expect((await post(s1, '/api/triggers', { name: 'hook', url: 'http://127.0.0.1:9/hook', filter: {} })).status).toBe(201);
    await waitFor(async () => (await st(s2)).dispatcher.triggers === 1, 'the trigger in force on s2', 5_000, 20);
    const triggerMs = Date.now() - t1;
    console.log(`a change through s1 in force on s2 after: rule ${ruleMs} ms, trigger ${triggerMs} ms`);
    expect(ruleMs).toBeLessThan(1_000);
    expect(triggerMs).toBeLessThan(1_000);
    expect((await st(s1)).bus_control).toMatchObject({ sent: 2 });
    expect((await st(s2)).bus_control).toMatchObject({ applied: 2 });
    expect(await s1.stop()).toBe(0);
    expect(await s2.stop()).toBe(0);
    await nats.stop();
  }, 120_000);

  it('one of two servers frozen (SIGSTOP) while it holds fetched messages, then SIGKILLed: the other gets them after ack_wait, every line handled', async () => {
    const nats = await startNats();
    const dir = tempDir();
    const log = path.join(dir, 'app.log');
    writeFileSync(log, '');
    const FETCH = 4;
    const BATCH = 200;
    const bus = `ack_wait = "2s"\nfetch_batch = ${FETCH}\n[rules]\nbucket_capacity = 1000000`;
    const s1 = await server(dir, 's1', await freePort(), nats.url, bus);
    const s2 = await server(dir, 's2', await freePort(), nats.url, bus);
    // a rule on each server (each has its own store here): every tenth line is an event
    for (const srv of [s1, s2]) {
      const r = await fetch(`${srv.url}/api/rules`, { method: 'POST', headers: { ...authHeaders, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'tenth', pattern: '^line \\d*0 ', severity: 'info' }) });
      expect(r.status).toBe(201);
    }
    const sse1 = await sseOf(s1);
    const sse2 = await sseOf(s2);
    const a = await agent(dir, await freePort(), nats.url, log, `batch_age = "20ms"\nbatch_records = ${BATCH}`);
    // the load: lines written in chunks, so messages keep coming while s1 is frozen
    let written = 0;
    const writer = setInterval(() => {
      if (written >= N) return;
      appendFileSync(log, lines(written, written + 250));
      written += 250;
    }, 20);
    try {
      await waitFor(() => sse1.events.length >= N / 10 && sse2.events.length > 0, 'both servers consuming', 60_000);
      s1.proc.kill('SIGSTOP');
      // what s1 had fetched (and what JetStream gave its open pull) stays unacknowledged: after ack_wait it goes to s2
      await waitFor(async () => (await busCounters(s2)).redelivered! > 0, 'messages s1 held delivered again to s2', 60_000, 100);
      await s1.kill9();
      await waitFor(() => written >= N, 'every line written', 60_000);
    } finally {
      clearInterval(writer);
    }
    await waitFor(async () => (await agentRead(a)) === N && (await agentIdle(a)), 'the agent done', 120_000);
    await settled(nats, s2, sse2);
    const both = tally(sse1, sse2);
    const c2 = await busCounters(s2);
    // what the two live streams showed: s1's lines up to its freeze, s2's the rest and what s1 held;
    // a line twice is one s1 pushed (and showed) whose acknowledgement never left it (frozen, then killed)
    console.log(`two servers, s1 frozen then killed: s1 showed ${tally(sse1).distinct} lines, s2 ${tally(sse2).distinct} (${c2.redelivered} messages redelivered to it); together ${both.distinct} distinct of ${N}, ${both.dup} shown twice`);
    expect(both.distinct).toBe(N);
    expect(tally(sse2).dup).toBe(0);
    // at least once: at most what s1 could hold unacknowledged (its fetch) can be shown by both
    expect(both.dup).toBeLessThanOrEqual(FETCH * BATCH);
    // events: a message is acknowledged once its events are stored, so what s1 had not stored came to s2 again;
    // an event stored twice is one s1 stored whose acknowledgement never left it (event keys are not built yet)
    const events = new Map<number, number>();
    for (const name of ['s1', 's2']) {
      const db = new Database(path.join(dir, name, 'sluice.db'), { readonly: true });
      for (const { message } of db.prepare('SELECT message FROM events').all() as { message: string }[]) {
        const n = Number(/^line (\d+) /.exec(message)![1]);
        events.set(n, (events.get(n) ?? 0) + 1);
      }
      db.close();
    }
    const twice = [...events.values()].filter((n) => n > 1).length;
    console.log(`events: ${events.size} distinct of ${N / 10}, ${twice} stored by both servers`);
    expect(events.size).toBe(N / 10);
    expect(twice).toBeLessThanOrEqual((FETCH * BATCH) / 10);
    sse1.disconnect();
    sse2.disconnect();
    expect(await a.stop()).toBe(0);
    expect(await s2.stop()).toBe(0);
    await nats.stop();
  }, 240_000);
});
