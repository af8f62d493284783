/**
 * Scale-out on NATS JetStream with real processes, the servers' side:
 * - two servers on one PostgreSQL store, every message delivered again
 *   (the consumer deleted): no second event (events keyed by record);
 * - a rule or trigger changed through one server in force on the other
 *   within a second; also when the other was cut off from NATS as it was
 *   told, or the one changing it was;
 * - one of two servers frozen (SIGSTOP) while it holds fetched messages,
 *   then SIGKILLed: the other gets them after ack_wait (redelivered), every
 *   line and every event is handled, and the other's live client (the
 *   cluster's tail) shows every line once.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { authHeaders, freePort, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';
import { NATS_SERVER, startNats, stopAllNats } from '../helpers/nats.js';
import { N, agent, agentIdle, agentRead, busCounters, consumerDone, freshDatabase, lines, server, settled, sseOf, tally } from '../helpers/bus.js';
import { requires } from '../helpers/requires.js';
import { tcpLink } from '../helpers/tcp-link.js';

afterAll(() => {
  stopAll();
  stopAllNats();
});

describe.skipIf(!requires('nats-server', NATS_SERVER !== undefined, 'apt-get install nats-server'))('bus: servers on JetStream', () => {
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
    // from the ring's start: s2 consumes the redelivered messages as soon as it is up, before a live
    // client could connect (on a loaded machine a first batch or two were published before it did)
    const sse2 = await sseOf(s2, 0);
    await sse2.waitFor(() => sse2.events.length >= M, `${M} records again at s2`, 60_000);
    await settled(nats, s2, sse2);
    const ev = await events();
    expect(ev.length).toBe(M / 10);
    expect(new Set(ev).size).toBe(M / 10);
    const st = (await (await fetch(`${s2.url}/api/status`, { headers: authHeaders })).json()) as { rules: { hits: number; events_written: number; events_repeated: number } };
    // (each a repeat, decided in the store's transaction: not a hit, no token or cooldown spent)
    expect(st.rules).toMatchObject({ hits: 0, events_written: 0, events_repeated: M / 10 });
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

  it('a server cut off from NATS when a change is told reloads once it is back; a change made while cut off is told once it can be', async (ctx) => {
    const db = await freshDatabase();
    if (db === undefined) return ctx.skip();
    onTestFinished(() => db.drop());
    const nats = await startNats();
    // each server reaches NATS through a link of its own, so one can be cut off while NATS runs on for the other
    const [l1, l2] = await Promise.all([tcpLink(nats.port), tcpLink(nats.port)]);
    onTestFinished(() => Promise.all([l1.close(), l2.close()]).then(() => undefined));
    const dir = tempDir();
    const store = `[store]\nkind = "postgres"\nurl = "${db.url}"\n[triggers]\nallow_hosts = ["127.0.0.1"]`;
    const s1 = await server(dir, 's1', await freePort(), `nats://127.0.0.1:${l1.port}`, store);
    const s2 = await server(dir, 's2', await freePort(), `nats://127.0.0.1:${l2.port}`, store);
    type Control = { sent: number; applied: number; resyncs: number; pending: string[]; listening: boolean };
    const st = async (d: DaemonHandle) => (await (await fetch(`${d.url}/api/status`, { headers: authHeaders })).json()) as { rules: { snapshot: { rules: number } }; dispatcher: { triggers: number }; bus_control: Control };
    const post = (d: DaemonHandle, route: string, body: unknown) => fetch(`${d.url}${route}`, { method: 'POST', headers: { ...authHeaders, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await waitFor(async () => (await st(s1)).bus_control.listening && (await st(s2)).bus_control.listening, 'both servers on the control subject');

    // s2 cut off while s1 tells a rule change: the notice is gone for s2, which reloads once it is back
    l2.cut();
    await waitFor(async () => !(await st(s2)).bus_control.listening, 's2 disconnected');
    const resyncs = (await st(s2)).bus_control.resyncs;
    expect((await post(s1, '/api/rules', { name: 'boom', pattern: 'boom', severity: 'error' })).status).toBe(201);
    await waitFor(async () => (await st(s1)).bus_control.sent === 1, 's1 told it');
    expect((await st(s2)).rules.snapshot.rules).toBe(0);
    l2.heal();
    await waitFor(async () => (await st(s2)).rules.snapshot.rules === 1, 'the rule in force on s2 once it is back', 10_000, 20);
    expect((await st(s2)).bus_control.resyncs).toBeGreaterThan(resyncs);
    expect((await st(s2)).bus_control.applied).toBe(0); // it never heard the notice

    // s1 cut off when its API changes a trigger: the notice waits and goes once s1 is back (s2 was never away)
    l1.cut();
    await waitFor(async () => !(await st(s1)).bus_control.listening, 's1 disconnected');
    expect((await post(s1, '/api/triggers', { name: 'hook', url: 'http://127.0.0.1:9/hook', filter: {} })).status).toBe(201);
    expect((await st(s1)).bus_control).toMatchObject({ sent: 1, pending: ['triggers'] });
    expect((await st(s2)).dispatcher.triggers).toBe(0);
    l1.heal();
    await waitFor(async () => (await st(s2)).dispatcher.triggers === 1, 'the trigger in force on s2 once s1 is back', 10_000, 20);
    // the held notice goes once s1 is back, and s2 applies it (s2 may have read the trigger from the store a
    // moment before: a full npm test saw s1's count still at 1 right after s2 had it)
    await waitFor(async () => {
      const c = (await st(s1)).bus_control;
      return c.sent === 2 && c.pending.length === 0;
    }, 's1 told the held change', 10_000, 20);
    await waitFor(async () => (await st(s2)).bus_control.applied === 1, 's2 applied the notice', 10_000, 20);
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
    // what each server handled, on disk before it acknowledges (its archive is written as its hub accepts): a
    // frozen server's live clients may never get what it handled and acknowledged, its archive has it
    const archive = (name: string) => `\n[[archive]]\nstream = "app"\npath = "${dir}/${name}-archive.ndjson"\nmax_size = "1GiB"\n`;
    const s1 = await server(dir, 's1', await freePort(), nats.url, bus + archive('s1'));
    const s2 = await server(dir, 's2', await freePort(), nats.url, bus + archive('s2'));
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
    // the live tail is the cluster's (read from JetStream by each server): s2's client has every line once
    await waitFor(async () => (await consumerDone(nats)) && sse2.logs().length >= N, 'the consumer drained and s2\'s live client has every line', 60_000, 100);
    const c2 = await busCounters(s2);
    console.log(`two servers, s1 frozen then killed: s1's live client showed ${tally(sse1).distinct} lines before the freeze, s2's ${tally(sse2).distinct}; s2 handled ${c2.records} (${c2.redelivered} messages redelivered to it)`);
    const handled = new Set<number>();
    for (const name of ['s1', 's2']) {
      for (const m of readFileSync(path.join(dir, `${name}-archive.ndjson`), 'utf8').matchAll(/"message":"line (\d+) /g)) handled.add(Number(m[1]));
    }
    expect(handled.size).toBe(N);
    expect(tally(sse2)).toEqual({ distinct: N, dup: 0 });
    expect(sse2.gaps()).toEqual([]);
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
