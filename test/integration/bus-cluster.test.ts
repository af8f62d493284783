/**
 * The scale-out as a whole, with real processes: two agents and three
 * servers on one PostgreSQL store and a nats-server of the test's own (then
 * a three-node JetStream cluster), 100k records; one server killed with
 * SIGKILL halfway (and, on the cluster, one NATS node too):
 * - every record handled (the servers' archives hold every line of both agents);
 * - no event stored twice, none missing (events keyed by their record);
 * - a rule's cooldown gives one event per window and source instance for the
 *   cluster (flood control decided in the shared store);
 * - each webhook delivery reaches the receiver under its one id; a second
 *   time only for a delivery the killed server was making;
 * - a client following the live tail through one server, cut off halfway,
 *   resumes through another with Last-Event-ID: every record once, in order,
 *   no gap (the ids follow from JetStream's sequence).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { authHeaders, freePort, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';
import { NATS_SERVER, startNats, startNatsCluster, stopAllNats, type NatsHandle } from '../helpers/nats.js';
import { agent, agentIdle, agentRead, freshDatabase, lines, server, sseOf } from '../helpers/bus.js';
import { SseClient } from '../helpers/sse.js';
import { startReceiver } from '../helpers/receiver.js';
import { requires } from '../helpers/requires.js';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

afterAll(() => {
  stopAll();
  stopAllNats();
});

/** Lines per agent. */
const PER_AGENT = Number(process.env.SLUICE_BUS_LINES ?? 50_000);
const CONCURRENCY = 4;

const post = (d: DaemonHandle, route: string, body: unknown) =>
  fetch(`${d.url}${route}`, { method: 'POST', headers: { ...authHeaders, 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function handledBy(s: DaemonHandle): Promise<number> {
  const st = (await (await fetch(`${s.url}/api/status`, { headers: authHeaders })).json()) as { sources: { name: string; counters: { records: number } }[] };
  return st.sources.find((x) => x.name === 'bus')!.counters.records;
}

/** Nothing left for the servers in either consumer (asked through any live node). */
async function drained(nodes: NatsHandle[]): Promise<boolean> {
  for (const node of nodes) {
    let nc;
    try {
      nc = await connect({ servers: node.url, timeout: 1000 });
      const jsm = await jetstreamManager(nc, { timeout: 2000 });
      for (const [stream, consumer] of [['sluice-records', 'sluice-servers'], ['sluice-webhooks', 'sluice-servers-webhooks']]) {
        const i = await jsm.consumers.info(stream!, consumer!);
        if (i.num_pending !== 0 || i.num_ack_pending !== 0) return false;
      }
      return true;
    } catch {
      // a node that is down, or a cluster electing a leader: ask the next
    } finally {
      await nc?.close().catch(() => undefined);
    }
  }
  return false;
}

describe.skipIf(!requires('nats-server', NATS_SERVER !== undefined, 'apt-get install nats-server'))('bus: two agents, three servers, one PostgreSQL store', () => {
  for (const clustered of [false, true]) {
    it(`${clustered ? 'a three-node JetStream cluster losing a node' : 'one nats-server'}: a server SIGKILLed halfway; every record handled, no event twice, cooldowns and deliveries once for the cluster`, async (ctx) => {
      const db = await freshDatabase();
      if (db === undefined) return ctx.skip();
      onTestFinished(() => db.drop());
      const rx = await startReceiver();
      onTestFinished(() => rx.close());
      const nodes = clustered ? await startNatsCluster(3) : [await startNats()];
      const urls = nodes.map((n) => n.url).join(',');
      const root = tempDir();
      const bus = `ack_wait = "2s"${clustered ? '\nreplicas = 3' : ''}`;
      const archive = (name: string) => `\n[[archive]]\nstream = "app"\npath = "${root}/${name}-archive.ndjson"\nmax_size = "1GiB"\n`;
      const shared = `[store]\nkind = "postgres"\nurl = "${db.url}"\n[rules]\nbucket_capacity = 1000000\n[triggers]\nallow_hosts = ["127.0.0.1"]\nconcurrency = ${CONCURRENCY}\nbackoff_base = "100ms"`;
      const servers: DaemonHandle[] = [];
      for (const name of ['s1', 's2', 's3']) servers.push(await server(root, name, await freePort(), urls, `${bus}\n${shared}${archive(name)}`));
      const [s1] = servers;
      expect((await post(s1!, '/api/rules', { name: 'tenth', pattern: '^line \\d*0 ', severity: 'info' })).status).toBe(201);
      expect((await post(s1!, '/api/rules', { name: 'cool', pattern: '^line \\d+ ', severity: 'warn', cooldown_s: 3600 })).status).toBe(201);
      expect((await post(s1!, '/api/rules', { name: 'thousandth', pattern: '^line \\d*000 ', severity: 'critical' })).status).toBe(201);
      expect((await post(s1!, '/api/triggers', { name: 'hook', url: rx.url, filter: { severity: ['critical'] } })).status).toBe(201);
      for (const s of servers) {
        await waitFor(async () => {
          const st = (await (await fetch(`${s.url}/api/status`, { headers: authHeaders })).json()) as { rules: { snapshot: { rules: number } }; dispatcher: { triggers: number } };
          return st.rules.snapshot.rules === 3 && st.dispatcher.triggers === 1;
        }, 'rules and trigger on every server');
      }
      // a live client of the cluster's tail, through s1
      const sse1 = await sseOf(s1!);
      // two agents, each with its own directory, log file and data
      const agents: { d: DaemonHandle; log: string }[] = [];
      for (const name of ['a1', 'a2']) {
        const dir = path.join(root, name);
        const log = path.join(dir, 'app.log');
        mkdirSync(dir, { recursive: true });
        writeFileSync(log, '');
        const d = await agent(dir, await freePort(), urls, log, 'batch_age = "20ms"\nbatch_records = 500');
        agents.push({ d, log });
      }
      let written = 0;
      const writer = setInterval(() => {
        if (written >= PER_AGENT) return;
        for (const a of agents) appendFileSync(a.log, lines(written, written + 500));
        written += 500;
      }, 10);
      const victim = servers[1]!;
      let sse3: SseClient;
      try {
        await waitFor(async () => (await Promise.all(servers.map(handledBy))).reduce((a, b) => a + b, 0) >= PER_AGENT, 'half of the records handled', 120_000, 100);
        // the live client cut off, and back through s3 from where it was
        sse1.disconnect();
        sse3 = new SseClient(`${servers[2]!.url}/api/streams/app/sse`, authHeaders);
        await sse3.connect(sse1.lastId);
        await victim.kill9();
        if (clustered) await nodes[0]!.kill9();
        await waitFor(() => written >= PER_AGENT, 'every line written', 120_000);
      } finally {
        clearInterval(writer);
      }
      for (const a of agents) await waitFor(async () => (await agentRead(a.d)) === PER_AGENT && (await agentIdle(a.d)), 'the agents published everything', 180_000, 200);
      const live = clustered ? nodes.slice(1) : nodes;
      await waitFor(() => drained(live), 'the servers took and acknowledged everything', 180_000, 250);

      // every record handled: what each server's hub took is in its archive (written before it acknowledges)
      const handled = new Set<string>();
      for (const name of ['s1', 's2', 's3']) {
        const f = path.join(root, `${name}-archive.ndjson`);
        if (!existsSync(f)) continue;
        // a server SIGKILLed mid-write leaves a torn last line: its record was not acknowledged, and another server took it
        const text = readFileSync(f, 'utf8');
        for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
          if (line === '') continue;
          const r = JSON.parse(line) as { message: string; origin: { agent: string } };
          handled.add(`${r.origin.agent} ${/^line (\d+) /.exec(r.message)![1]}`);
        }
      }
      expect(handled.size).toBe(2 * PER_AGENT);

      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      const q = async (sql: string) => (await c.query<{ n: string }>(sql)).rows[0]!.n;
      const tenth = Number(await q("SELECT count(*) AS n FROM events WHERE rule_name = 'tenth'"));
      const tenthDistinct = Number(await q("SELECT count(DISTINCT (origin->>'agent') || ' ' || message) AS n FROM events WHERE rule_name = 'tenth'"));
      const cool = Number(await q("SELECT count(*) AS n FROM events WHERE rule_name = 'cool'"));
      const critical = Number(await q("SELECT count(*) AS n FROM events WHERE rule_name = 'thousandth'"));
      await c.end();
      expect(tenth).toBe((2 * PER_AGENT) / 10);
      expect(tenthDistinct).toBe(tenth);
      // one event per source instance (each agent's file) for the cluster, not one per server
      expect(cool).toBe(2);
      expect(critical).toBe(2 * (PER_AGENT / 1000 - 1)); // lines 1000, 2000, ... of each agent ("line 0" has one 0)

      // deliveries: every event's id at the receiver; a second time only for what the killed server was making
      await waitFor(() => new Set(rx.received.map((r) => r.headers['x-sluice-delivery'])).size >= critical, 'every delivery received', 60_000);
      const ids = rx.received.map((r) => r.headers['x-sluice-delivery'] as string);
      const distinct = new Set(ids);
      console.log(`${clustered ? 'cluster' : 'one nats-server'}: ${handled.size} records handled by ${servers.length} servers (one killed), events ${tenth} + ${cool} + ${critical}, deliveries ${ids.length} for ${distinct.size} ids`);
      expect(distinct.size).toBe(critical);
      expect(ids.length - distinct.size).toBeLessThanOrEqual(CONCURRENCY);

      // the live tail: s1's part and s3's part together are every record once, in order, with no gap notice
      await sse3!.waitFor(() => sse3.logs().length + sse1.logs().length >= 2 * PER_AGENT, 'the rest of the live tail through s3', 60_000).catch(async (e: unknown) => {
        // what the servers' tails say (the failure's evidence)
        for (const s of servers) if (s !== victim) console.log(`${s.url} bus_tail`, JSON.stringify(((await (await fetch(`${s.url}/api/status`, { headers: authHeaders })).json()) as { bus_tail: unknown }).bus_tail));
        console.log(servers[2]!.stderr().split('\n').filter((l) => /tail|JetStream|warn|error/i.test(l)).slice(-15).join('\n'));
        throw e;
      });
      const shown = [...sse1.logs(), ...sse3!.logs()];
      const key = (r: { message: string; origin?: unknown }) => `${(r.origin as { agent: string }).agent} ${r.message.split(' ')[1]}`;
      const tail3 = ((await (await fetch(`${servers[2]!.url}/api/status`, { headers: authHeaders })).json()) as { bus_tail: { restarts: number } }).bus_tail;
      console.log(`live tail: ${sse1.logs().length} records through s1, ${sse3!.logs().length} through s3 after resuming at ${sse1.lastId} (s3's tail consumer made again ${tail3.restarts} time(s))`);
      expect(sse1.logs().length).toBeGreaterThan(0);
      expect(sse3!.logs().length).toBeGreaterThan(0);
      expect(shown).toHaveLength(2 * PER_AGENT);
      expect(new Set(shown.map(key)).size).toBe(2 * PER_AGENT);
      for (let i = 1; i < shown.length; i++) if (!(shown[i]!.seq > shown[i - 1]!.seq)) throw new Error(`ids out of order at ${i}: ${shown[i - 1]!.seq} then ${shown[i]!.seq}`);
      expect([...sse1.gaps(), ...sse3!.gaps()]).toEqual([]);
      sse3!.disconnect();
      for (const a of agents) expect(await a.d.stop()).toBe(0);
      for (const s of servers) if (s !== victim) expect(await s.stop()).toBe(0);
      for (const n of nodes) await n.stop();
    }, 600_000);
  }
});
