/**
 * Transforms in the real daemon: a file source's list applied before the
 * hub (streams and /api/records see the result), drops counted by reason in
 * /metrics, open sessions emitted at SIGTERM, dedupe state kept across a
 * restart, and `sluice check` naming a bad transform by its key path.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN, authHeaders, fileSourceToml, freePort, launch, runCli, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';
import { SseClient } from '../helpers/sse.js';

afterAll(() => stopAll());

const TRANSFORMS = `
[[sources.transforms]]
type = "drop"
field = "fields.team"
in = ["noisy"]

[[sources.transforms]]
type = "redact"
matches = ['password=\\S+']

[[sources.transforms]]
type = "route"
field = "level"
in = ["error"]
stream = "errors"

[[sources.transforms]]
type = "dedupe"
keys = ["message"]
window = "1h"

[[sources.transforms]]
type = "sessions"
keys = ["fields.user"]
idle = "1h"
collect = ["fields.ip"]
`;

interface Rec { seq: number; stream: string; message: string; level?: string; origin: { kind: string }; fields: Record<string, unknown> }

async function records(d: DaemonHandle, stream: string): Promise<Rec[]> {
  const r = await fetch(`${d.url}/api/records?stream=${stream}&limit=1000`, { headers: authHeaders });
  return ((await r.json()) as { records: Rec[] }).records;
}

const line = (o: Record<string, unknown>) => JSON.stringify(o) + '\n';

describe('transforms in the daemon', () => {
  it('drop, redact, route, dedupe and sessions apply before the hub; drops are counted; SIGTERM emits open sessions; a restart keeps the dedupe window', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'app.log');
    writeFileSync(log, '');
    const port = await freePort();
    const cfg = path.join(dir, 'sluice.toml');
    writeFileSync(cfg, `data_dir = "${dir}/data"\n${fileSourceToml('app', log, 'format = "json"\n')}${TRANSFORMS}\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "${ADMIN}"\n`);
    let d = await launch(cfg, port);
    appendFileSync(
      log,
      line({ msg: 'login password=hunter2', user: 'ann', ip: '10.0.0.1' }) +
        line({ msg: 'heartbeat', team: 'noisy', user: 'ann' }) +
        line({ msg: 'disk full', level: 'error', user: 'bob', ip: '10.0.0.2' }) +
        line({ msg: 'login password=hunter2', user: 'ann', ip: '10.0.0.3' }) + // a repeat: dropped by dedupe
        line({ msg: 'logout', user: 'ann', ip: '10.0.0.4' }),
    );
    const app = await waitFor(async () => {
      const r = await records(d, 'app');
      return r.length >= 2 ? r : undefined;
    }, 'the app stream');
    expect(app.map((r) => r.message)).toEqual(['login [REDACTED]', 'logout']);
    expect((await records(d, 'errors')).map((r) => r.message)).toEqual(['disk full']);
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toMatch(/sluice_dropped_total\{stage="transform",reason="drop"\} 1\b/);
    expect(metrics).toMatch(/sluice_dropped_total\{stage="transform",reason="dedupe"\} 1\b/);
    const st = (await (await fetch(`${d.url}/api/status`, { headers: authHeaders })).json()) as { transforms: { source: string; sessions_open: number; dropped: number }[] };
    expect(st.transforms).toMatchObject([{ source: 'app', sessions_open: 2, dropped: 2 }]);
    // the chain with per-transform counters: 5 lines in; drop takes 1, dedupe 1 (route sent 1 elsewhere, still counted through)
    const src = (await (await fetch(`${d.url}/api/sources/app`, { headers: authHeaders })).json()) as { name: string; transforms: { type: string; in: number; out: number; dropped: number; state?: number }[] };
    expect(src.name).toBe('app');
    expect(src.transforms).toEqual([
      { type: 'drop', in: 5, out: 4, dropped: 1 },
      { type: 'redact', in: 4, out: 4, dropped: 0 },
      { type: 'route', in: 4, out: 4, dropped: 0 },
      { type: 'dedupe', in: 4, out: 3, dropped: 1, state: 3, evicted: 0 },
      { type: 'sessions', in: 3, out: 3, dropped: 0, state: 2, evicted: 0 },
    ]);
    expect((await fetch(`${d.url}/api/sources/nope`, { headers: authHeaders })).status).toBe(404);

    // SIGTERM: the open sessions are emitted (a live client gets them) before the daemon exits
    const sse = new SseClient(`${d.url}/api/streams/app/sse`, authHeaders);
    await sse.connect();
    expect(await d.stop()).toBe(0);
    const sessions = sse.logs().filter((r) => (r.origin as { kind: string }).kind === 'session');
    sse.disconnect();
    const byUser = Object.fromEntries(sessions.map((r) => [((r.fields as { session: { keys: Record<string, string> } }).session.keys['fields.user']), (r.fields as { session: unknown }).session]));
    expect(byUser.ann).toMatchObject({ count: 2, reason: 'shutdown', collected: { 'fields.ip': ['10.0.0.1', '10.0.0.4'] } });
    expect(byUser.bob).toMatchObject({ count: 1, reason: 'shutdown' });

    // a restart: the repeat of a message seen before the stop is still inside its window
    d = await launch(cfg, port);
    appendFileSync(log, line({ msg: 'logout', user: 'cat' }) + line({ msg: 'fresh', user: 'cat' }));
    const after = await waitFor(async () => {
      const r = await records(d, 'app');
      return r.some((x) => x.message === 'fresh') ? r : undefined;
    }, 'the line after the restart');
    // the ring starts empty after a restart: only 'fresh' is new; 'logout' was seen before the stop
    expect(after.map((r) => r.message)).toEqual(['fresh']);
    expect(await (await fetch(`${d.url}/metrics`)).text()).toMatch(/sluice_dropped_total\{stage="transform",reason="dedupe"\} 1\b/);
    expect(await d.stop()).toBe(0);
  }, 60_000);

  it('a reload with a changed list applies it without losing the position, and an unchanged dedupe keeps its window', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'app.log');
    writeFileSync(log, '');
    const port = await freePort();
    const cfgFile = path.join(dir, 'sluice.toml');
    const dedupe = `\n[[sources.transforms]]\ntype = "dedupe"\nkeys = ["message"]\nwindow = "1h"\n`;
    const redact = `\n[[sources.transforms]]\ntype = "redact"\nmatches = ['secret=\\S+']\n`;
    const write = (transforms: string) => writeFileSync(cfgFile, `data_dir = "${dir}/data"\n${fileSourceToml('app', log)}${transforms}\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "${ADMIN}"\n`);
    write(dedupe);
    const d = await launch(cfgFile, port);
    appendFileSync(log, 'one secret=1\ntwo\n');
    await waitFor(async () => (await records(d, 'app')).length === 2, 'two records');
    write(redact + dedupe);
    const r = await fetch(`${d.url}/api/config/reload`, { method: 'POST', headers: authHeaders });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { changed: string[] }).changed).toContain('sources.app');
    appendFileSync(log, 'two\nthree secret=3\n');
    const all = await waitFor(async () => {
      const x = await records(d, 'app');
      return x.some((y) => y.message.startsWith('three')) ? x : undefined;
    }, 'the line after the reload');
    // not re-read from the start (position kept), "two" still inside the kept window, the new redact applies
    expect(all.map((x) => x.message)).toEqual(['one secret=1', 'two', 'three [REDACTED]']);
    expect(await d.stop()).toBe(0);
  }, 60_000);

  it('a syslog source runs its transforms too (redact over TCP)', async () => {
    const dir = tempDir();
    const port = await freePort();
    const sysPort = await freePort();
    const cfgFile = path.join(dir, 'sluice.toml');
    writeFileSync(cfgFile, `data_dir = "${dir}/data"\n[[sources]]\nname = "sys"\ntype = "syslog"\ntcp = "127.0.0.1:${sysPort}"\n\n[[sources.transforms]]\ntype = "redact"\nmatches = ['secret=\\S+']\n\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "${ADMIN}"\n`);
    const d = await launch(cfgFile, port);
    const sock = net.connect(sysPort, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.end('<13>1 2026-12-05T10:00:00.000Z web01 app 42 - - login secret=abc ok\n');
    const got = await waitFor(async () => {
      const r = await records(d, 'sys');
      return r.length > 0 ? r : undefined;
    }, 'the syslog record');
    expect(got[0]!.message).toBe('login [REDACTED] ok');
    expect(await d.stop()).toBe(0);
  }, 60_000);

  it('sluice check names a bad transform by its key path', async () => {
    const dir = tempDir();
    const cfg = path.join(dir, 'bad.toml');
    writeFileSync(cfg, `data_dir = "${dir}/data"\n${fileSourceToml('app', path.join(dir, 'x.log'))}\n[[sources.transforms]]\ntype = "drop"\nfield = "message"\nmatches = "(unclosed"\n\n[[sources.transforms]]\ntype = "dedupe"\nkeys = ["nowhere"]\nwindow = "1m"\n`);
    const r = await runCli(['check', '-c', cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toContain('sources[0].transforms[0].matches');
    expect(r.stderr + r.stdout).toContain('sources[0].transforms[1].keys[0]');
  });
});
