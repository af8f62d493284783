/**
 * Agents and servers on JetStream as real processes, for test/integration/bus*.test.ts:
 * their configs, their status, numbered lines and their tallies on live streams,
 * a PostgreSQL database of the test's own.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { requires } from './requires.js';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { ADMIN, authHeaders, fileSourceToml, launch, waitFor, type DaemonHandle } from './daemon.js';
import { SseClient } from './sse.js';
import type { NatsHandle } from './nats.js';

export const N = Number(process.env.SLUICE_BUS_LINES ?? 50_000);
export const PG_URL = process.env.SLUICE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A database of the test's own on the test PostgreSQL (undefined when it cannot be reached), dropped by `drop`. */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
  try {
    await admin.connect();
  } catch (err) {
    requires('PostgreSQL', false, `${PG_URL} cannot be reached (${(err as Error).message}): the shared-store bus test`);
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

export async function server(dir: string, name: string, port: number, natsUrl: string, bus = ''): Promise<DaemonHandle> {
  const cfg = path.join(dir, `${name}.toml`);
  writeFileSync(
    cfg,
    `role = "server"\ndata_dir = "${dir}/${name}"\n[bus]\nkind = "nats"\nurl = "${natsUrl}"\n${bus}\n[[streams]]\nname = "app"\nreplay = ${N + 10_000}\nreplay_bytes = "512MiB"\n\n[limits]\nmemory = "2GiB"\n\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "${ADMIN}"\n`,
  );
  return launch(cfg, port);
}

export async function agent(dir: string, port: number, natsUrl: string, log: string, publish = 'batch_age = "100ms"', bus = ''): Promise<DaemonHandle> {
  const cfg = path.join(dir, 'agent.toml');
  writeFileSync(
    cfg,
    `role = "agent"\ndata_dir = "${dir}/agent"\n${fileSourceToml('app', log)}\n[bus]\nkind = "nats"\nurl = "${natsUrl}"\n${bus}\n[bus.publish]\n${publish}\nbackoff_base = "50ms"\nbackoff_max = "500ms"\n\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "${ADMIN}"\n`,
  );
  return launch(cfg, port);
}

export interface Status {
  sources: { name: string; counters: Record<string, number> }[];
  forward: { name: string; spool_batches: number; spool_records: number; open_batch_records: number; counters: Record<string, number>; transport?: Record<string, number> }[];
}

export async function status(d: DaemonHandle): Promise<Status> {
  return (await (await fetch(`${d.url}/api/status`, { headers: authHeaders })).json()) as Status;
}

/** Lines the agent's file source has read. */
export async function agentRead(a: DaemonHandle): Promise<number> {
  return (await status(a)).sources.find((s) => s.name === 'app')!.counters.records!;
}

export async function publisher(a: DaemonHandle) {
  return (await status(a)).forward.find((f) => f.name === 'bus')!;
}

/** The agent has published everything it read: nothing spooled, no batch open. */
export async function agentIdle(a: DaemonHandle): Promise<boolean> {
  const p = await publisher(a);
  return p.spool_batches === 0 && p.open_batch_records === 0;
}

export async function busCounters(s: DaemonHandle): Promise<Record<string, number>> {
  return (await status(s)).sources.find((x) => x.name === 'bus')!.counters;
}

export function lines(from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += `line ${i} ${'x'.repeat(40)}\n`;
  return s;
}

/** Line numbers seen by SSE clients (of one server or several), and how many times each. */
export function tally(...clients: SseClient[]): { distinct: number; dup: number } {
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
export async function consumerDone(nats: NatsHandle): Promise<boolean> {
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
export async function settled(nats: NatsHandle, s: DaemonHandle, sse: SseClient): Promise<void> {
  await waitFor(async () => (await consumerDone(nats)) && sse.events.length === (await busCounters(s)).records, 'the consumer drained and the live client caught up', 60_000, 100);
}

/** An SSE client of d's stream `app`: live, or from after seq `since` (what the ring still holds). */
export async function sseOf(d: DaemonHandle, since?: number): Promise<SseClient> {
  const c = new SseClient(`${d.url}/api/streams/app/sse`, authHeaders);
  await c.connect(since === undefined ? undefined : String(since));
  return c;
}
