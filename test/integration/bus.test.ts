/**
 * Scale-out on NATS JetStream with real processes, the agent's side and the
 * bus: nats-servers of the test's own, an agent (role = "agent": a file
 * source, records published through the spool) and a server (role =
 * "server"). Numbered lines are tallied on the server's live stream (SSE).
 * - every line reaches the server exactly once;
 * - the agent SIGKILLed mid-publish, and with a batch still open: every line once;
 * - the agent's whole spool published again (a crash after JetStream
 *   acknowledged but before the spool learnt it, for every batch): JetStream
 *   answers every part as a duplicate (Nats-Msg-Id), every line once;
 * - NATS stopped and started again: the agent holds, the server reconnects;
 * - a three-node JetStream cluster losing the agent's node: every line once.
 * The servers' side: bus-servers.test.ts.
 */
import { appendFileSync, cpSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authHeaders, freePort, stopAll, tempDir, waitFor } from '../helpers/daemon.js';
import { NATS_SERVER, startNats, startNatsCluster, stopAllNats } from '../helpers/nats.js';
import { N, agent, agentIdle, agentRead, busCounters, lines, publisher, server, settled, sseOf, tally } from '../helpers/bus.js';
import { requires } from '../helpers/requires.js';

afterAll(() => {
  stopAll();
  stopAllNats();
});

describe.skipIf(!requires('nats-server', NATS_SERVER !== undefined, 'apt-get install nats-server'))('bus: an agent and a server on JetStream', () => {
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
});
