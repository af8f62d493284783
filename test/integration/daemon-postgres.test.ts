/**
 * The daemon on the shared store: `[store] kind = "postgres"` against the real
 * PostgreSQL on this machine. A rule created through the API survives a
 * restart, and its hits are events in PostgreSQL.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, freePort, launch, stopAll, tempDir, waitFor, type DaemonHandle, fileSourceToml } from '../helpers/daemon.js';
import { requires } from '../helpers/requires.js';

const URL = process.env.SLUICE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const handles: DaemonHandle[] = [];
let reachable = false;
let client: pg.Client | undefined;

beforeAll(async () => {
  client = new pg.Client({ connectionString: URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    reachable = true;
    await client.query('DROP TABLE IF EXISTS events, deliveries, rule_state, flood_buckets, triggers, rules, sluice_migrations CASCADE');
  } catch {
    requires('PostgreSQL', false, `not reachable at ${URL.replace(/:[^:@/]*@/, '@')}: daemon-postgres.test.ts`);
  }
});

afterAll(async () => {
  for (const h of handles) await h.stop();
  stopAll();
  if (reachable) await client!.query('DROP TABLE IF EXISTS events, deliveries, rule_state, flood_buckets, triggers, rules, sluice_migrations CASCADE');
  await client?.end().catch(() => undefined);
});

describe('daemon with [store] kind = "postgres"', () => {
  it('keeps rules across a restart and stores events in PostgreSQL', async (ctx) => {
    if (!reachable) ctx.skip();
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    writeFileSync(file, '');
    const port = await freePort();
    const cfg = path.join(dir, 'sluice.toml');
    writeFileSync(
      cfg,
      `data_dir = "${dir}/data"
[server]
listen = "127.0.0.1:${port}"
admin_token = "${ADMIN}"
[store]
kind = "postgres"
url = "${URL}"
${fileSourceToml('app', file)}`,
    );
    const A = { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' };
    const d = await launch(cfg, port);
    handles.push(d);
    const created = await fetch(`${d.url}/api/rules`, { method: 'POST', headers: A, body: JSON.stringify({ name: 'oom', pattern: 'OutOfMemory', severity: 'critical', cooldown_s: 0 }) });
    expect(created.status).toBe(201);
    await d.stop();

    const d2 = await launch(cfg, port);
    handles.push(d2);
    const rules = (await (await fetch(`${d2.url}/api/rules`, { headers: A })).json()) as { rules: { name: string }[] };
    expect(rules.rules.map((r) => r.name)).toEqual(['oom']);
    appendFileSync(file, 'java.lang.OutOfMemoryError: Java heap space\n');
    const events = await waitFor(async () => {
      const r = (await (await fetch(`${d2.url}/api/events?q=OutOfMemoryError`, { headers: A })).json()) as { events: { rule_name: string }[] };
      return r.events.length ? r.events : undefined;
    }, 'the event');
    expect(events[0]!.rule_name).toBe('oom');
    const row = await client!.query('SELECT count(*)::int AS n FROM events');
    expect(row.rows[0].n).toBe(1);
  }, 60_000);
});
