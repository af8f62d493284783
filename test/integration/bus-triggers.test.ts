/**
 * Webhook triggers in a scale-out, with real processes (an agent, two
 * servers on one PostgreSQL store, a nats-server of the test's own, a
 * loopback receiver): each delivery is made from one server, with a delivery
 * id that is the same wherever and however often it is made; a server killed
 * (SIGKILL) in the middle of a delivery hands it on to the other after
 * ack_wait, under the same id; records that come again after their events
 * were stored (repeats in the store) queue their deliveries again, and
 * JetStream keeps none of them twice.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { connect, headers } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { authHeaders, freePort, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';
import { NATS_SERVER, startNats, stopAllNats } from '../helpers/nats.js';
import { agent, agentIdle, freshDatabase, lines, server } from '../helpers/bus.js';
import { startReceiver } from '../helpers/receiver.js';
import { requires } from '../helpers/requires.js';

afterAll(() => {
  stopAll();
  stopAllNats();
});

type Cluster = { in_flight: number; attempts: number; published: number; duplicates: number; redelivered: number };
async function webhooks(d: DaemonHandle): Promise<{ delivered: number; cluster: Cluster }> {
  return ((await (await fetch(`${d.url}/api/status`, { headers: authHeaders })).json()) as { webhooks: { delivered: number; cluster: Cluster } }).webhooks;
}
const post = (d: DaemonHandle, route: string, body: unknown) =>
  fetch(`${d.url}${route}`, { method: 'POST', headers: { ...authHeaders, 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe.skipIf(!requires('nats-server', NATS_SERVER !== undefined, 'apt-get install nats-server'))('bus: webhook triggers across servers', () => {
  it('each delivery is made from one server; one killed mid-delivery hands it to the other under the same delivery id', async (ctx) => {
    const db = await freshDatabase();
    if (db === undefined) return ctx.skip();
    onTestFinished(() => db.drop());
    const EVENTS = 20;
    // the first request is held unanswered: its server is killed while it waits
    const held: http.ServerResponse[] = [];
    const rx = await startReceiver((n, _r, res) => {
      if (n === 0) held.push(res);
      else {
        res.writeHead(200);
        res.end('ok');
      }
    });
    onTestFinished(() => rx.close());
    const nats = await startNats();
    const dir = tempDir();
    const log = path.join(dir, 'app.log');
    writeFileSync(log, '');
    const extra = `ack_wait = "2s"\n[store]\nkind = "postgres"\nurl = "${db.url}"\n[rules]\nbucket_capacity = 1000000\n[triggers]\nallow_hosts = ["127.0.0.1"]\ntimeout = "60s"\nbackoff_base = "100ms"`;
    const s1 = await server(dir, 's1', await freePort(), nats.url, extra);
    const s2 = await server(dir, 's2', await freePort(), nats.url, extra);
    expect((await post(s1, '/api/rules', { name: 'hundredth', pattern: '^line \\d*00 ', severity: 'error' })).status).toBe(201);
    expect((await post(s1, '/api/triggers', { name: 'hook', url: rx.url, secret: 'shh', filter: {} })).status).toBe(201);
    // in force on s2 too (the change notice)
    await waitFor(async () => {
      const st = (await (await fetch(`${s2.url}/api/status`, { headers: authHeaders })).json()) as { rules: { snapshot: { rules: number } }; dispatcher: { triggers: number } };
      return st.rules.snapshot.rules === 1 && st.dispatcher.triggers === 1;
    }, 'rule and trigger on s2');
    const a = await agent(dir, await freePort(), nats.url, log, 'batch_age = "20ms"\nbatch_records = 100');
    appendFileSync(log, lines(0, EVENTS * 100 + 1)); // lines 100, 200, ... match
    // every delivery but the held one answered
    await waitFor(() => rx.received.length >= EVENTS, `${EVENTS} deliveries at the receiver`, 60_000);
    const heldId = rx.received[0]!.headers['x-sluice-delivery'] as string;
    const [w1, w2] = await Promise.all([webhooks(s1), webhooks(s2)]);
    // both servers delivered (the work queue is shared) and one of them holds the unanswered one
    expect(w1.cluster.attempts).toBeGreaterThan(0);
    expect(w2.cluster.attempts).toBeGreaterThan(0);
    // once the answered deliveries are done, only the held one is in flight, on one server (a loaded CI run
    // caught one server with two in flight, the held one and an answered one not yet logged)
    let pair: [DaemonHandle, DaemonHandle] | undefined;
    await waitFor(async () => {
      const [x1, x2] = await Promise.all([webhooks(s1), webhooks(s2)]);
      if (x1.cluster.in_flight + x2.cluster.in_flight !== 1) return false;
      pair = x1.cluster.in_flight === 1 ? [s1, s2] : [s2, s1];
      return true;
    }, 'only the held delivery in flight');
    const [victim, survivor] = pair!;
    expect((await webhooks(victim)).cluster.in_flight).toBe(1);
    await victim.kill9();
    // after ack_wait the survivor makes the attempt again, under the same id
    await waitFor(() => rx.received.length >= EVENTS + 1, 'the held delivery made again by the survivor', 30_000);
    expect(rx.received[EVENTS]!.headers['x-sluice-delivery']).toBe(heldId);
    await waitFor(async () => (await webhooks(survivor)).cluster.redelivered >= 1, 'counted as a redelivery');

    // every event delivered; each delivery id seen once, the handed-over one twice; each body names its id
    await waitFor(() => agentIdle(a), 'the agent published everything');
    const ids = rx.received.map((r) => r.headers['x-sluice-delivery'] as string);
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(counts.size).toBe(EVENTS);
    expect([...counts].filter(([, n]) => n > 1)).toEqual([[heldId, 2]]);
    for (const r of rx.received) expect((JSON.parse(r.body) as { delivery_id: string }).delivery_id).toBe(r.headers['x-sluice-delivery']);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const events = (await c.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0]!.n;
    const logged = (await c.query<{ delivery_id: string; result: string }>("SELECT delivery_id, result FROM deliveries WHERE result = 'ok'")).rows;
    await c.end();
    expect(Number(events)).toBe(EVENTS);
    // each delivery logged ok once (the victim never logged the held one)
    expect(new Set(logged.map((l) => l.delivery_id)).size).toBe(EVENTS);
    expect(logged).toHaveLength(EVENTS);

    // every records message published again under new message ids (as an agent that lost its spool's ids would):
    // each event is a repeat in the store, its deliveries are queued again under the same ids, JetStream keeps none twice
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const last = (await jsm.streams.info('sluice-records')).state.last_seq;
    for (let seq = 1; seq <= last; seq++) {
      const m = await jsm.streams.getMessage('sluice-records', { seq });
      const h = headers();
      for (const [k, v] of m!.header) if (k !== 'Nats-Msg-Id') for (const x of v) h.append(k, x);
      h.set('Nats-Msg-Id', `again-${seq}`);
      await js.publish(m!.subject, m!.data, { headers: h });
    }
    await nc.close();
    const rules = async () => ((await (await fetch(`${survivor.url}/api/status`, { headers: authHeaders })).json()) as { rules: { events_repeated: number; hits: number } }).rules;
    await waitFor(async () => (await rules()).events_repeated >= EVENTS, 'every event a repeat at the survivor', 30_000);
    await waitFor(async () => (await webhooks(survivor)).cluster.duplicates >= EVENTS, 'every delivery queued again, as a duplicate', 10_000);
    expect((await webhooks(survivor)).cluster.duplicates).toBe(EVENTS);
    expect(rx.received).toHaveLength(EVENTS + 1);
    for (const h of held) h.destroy();
    expect(await a.stop()).toBe(0);
    expect(await survivor.stop()).toBe(0);
    await nats.stop();
  }, 180_000);
});
