/**
 * The daemon's own log and the states of its sources and sinks, on a real
 * `sluice run` with every kind of source, a forward and an archive sink, a
 * rule and a failing webhook: the start-up summary names every source, a
 * Docker source whose socket is missing reaches `error` with its reason in
 * the status, the metrics and the log, each failed webhook delivery is one
 * log line within the rate limit, and no configured token or secret appears
 * anywhere in the output.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, launch, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';

const SECRETS = {
  admin: 'admin-secret-token-4f1d9a7c2e',
  viewer: 'viewer-secret-token-8b3e6d0a51',
  ingest: 'ingest-secret-token-2c7f4e9b13',
  forward: 'forward-secret-token-9d2a6c4e87',
  trigger: 'trigger-hmac-secret-5e8b1f3a90',
  hookPath: 'T0PATHSECRET7Q2W9E',
};

interface LogLine {
  level: string;
  msg: string;
  component?: string;
  name?: string;
  state?: string;
  code?: string;
  trigger_id?: number;
  pid?: number;
  [k: string]: unknown;
}

function logLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

let handles: DaemonHandle[] = [];
afterEach(async () => {
  for (const h of handles) await h.stop();
  handles = [];
  stopAll();
});

describe('the daemon log and component states', () => {
  it('summarises the start, reports a missing Docker socket as an error with its reason, logs failed webhooks within the rate limit, and never writes a secret', async () => {
    const dir = tempDir();
    const port = await freePort();
    const [udp, tcp, refused, central] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const file = path.join(dir, 'app.log');
    writeFileSync(file, 'INFO hello\n');
    const missingSocket = path.join(dir, 'no-docker', 'docker.sock');
    const cfg = path.join(dir, 'sluice.toml');
    writeFileSync(
      cfg,
      `data_dir = "${dir}/data"
[server]
listen = "127.0.0.1:${port}"
admin_token = "${SECRETS.admin}"
viewer_token = "${SECRETS.viewer}"
[triggers]
allow_hosts = ["127.0.0.1:${refused}"]
retries = 0
[[sources]]
name = "app"
type = "file"
paths = ["${file}"]
from = "start"
poll_interval = "50ms"
[[sources]]
name = "dock"
type = "docker"
socket = "${missingSocket}"
[[sources]]
name = "sys"
type = "syslog"
udp = "127.0.0.1:${udp}"
tcp = "127.0.0.1:${tcp}"
[[sources]]
name = "sock"
type = "socket"
path = "${dir}/ingest.sock"
[[sources]]
name = "hook"
type = "http"
token = "${SECRETS.ingest}"
[[forward]]
url = "http://127.0.0.1:${central}/api/ingest?source=edge"
token = "${SECRETS.forward}"
allow_hosts = ["127.0.0.1:${central}"]
backoff_base = "50ms"
backoff_max = "200ms"
batch_age = "50ms"
[[archive]]
stream = "app"
path = "${dir}/archive/app.ndjson"
`,
    );
    const d = await launch(cfg, port);
    handles.push(d);
    const V = { Authorization: `Bearer ${SECRETS.viewer}` };
    const A = { Authorization: `Bearer ${SECRETS.admin}`, 'Content-Type': 'application/json' };

    // the start-up summary: version, pid, config; one line for each configured source
    const start = await waitFor(() => logLines(d.stderr()).find((l) => l.msg.startsWith('sluice ') && l.msg.includes('listening on')), 'the start line');
    expect(start).toMatchObject({ level: 'info', pid: d.proc.pid, config: cfg, listen: d.url });
    const summary = await waitFor(() => {
      const ls = logLines(d.stderr()).filter((l) => l.component === 'source' && typeof l.msg === 'string' && /^source \S+ \(/.test(l.msg));
      return ls.length >= 5 ? ls : undefined;
    }, 'a summary line for each source');
    expect(summary.map((l) => l.name).sort()).toEqual(['app', 'dock', 'hook', 'sock', 'sys']);
    expect(summary.find((l) => l.name === 'app')!.msg).toContain(`1 file (${file})`);
    expect(summary.find((l) => l.name === 'sys')!.msg).toMatch(new RegExp(`udp 127\\.0\\.0\\.1:${udp}.*tcp 127\\.0\\.0\\.1:${tcp}`));

    // the Docker source: error with its reason, in the status, the metrics and the log
    interface St { sources: { name: string; state: string; last_error: { code: string; message: string; at: string } | null }[]; forward: { state: string; last_error: { code: string } | null }[]; recent_errors: { component: string; code: string }[] }
    const status = async () => (await (await fetch(`${d.url}/api/status`, { headers: V })).json()) as St;
    const dock = await waitFor(async () => (await status()).sources.find((s) => s.name === 'dock' && s.state === 'error'), 'the docker source in error', 10_000);
    expect(dock.last_error).toMatchObject({ code: 'ENOENT' });
    expect(dock.last_error!.message).toContain(missingSocket);
    const metrics = await (await fetch(`${d.url}/metrics`, { headers: V })).text();
    expect(metrics).toContain('sluice_component_state{kind="source",name="dock",type="docker",state="error"} 1');
    expect(metrics).toContain('sluice_component_state{kind="source",name="dock",type="docker",state="running"} 0');
    expect(metrics).toContain('sluice_component_state{kind="source",name="app",type="file",state="running"} 1');
    const dockLine = logLines(d.stderr()).find((l) => l.name === 'dock' && l.state === 'error');
    expect(dockLine).toMatchObject({ level: 'error', component: 'source', code: 'ENOENT' });
    expect(dockLine!.msg).toContain(missingSocket);

    // the forward sink cannot reach its central: degraded, with the reason
    const fwd = await waitFor(async () => (await status()).forward.find((f) => f.state === 'degraded'), 'the forward sink degraded', 10_000);
    expect(fwd.last_error).toMatchObject({ code: 'ECONNREFUSED' });

    // a failing webhook: one line per failed delivery, at most the burst (5) a minute
    const rule = await fetch(`${d.url}/api/rules`, { method: 'POST', headers: A, body: JSON.stringify({ name: 'pay', pattern: 'payment \\d+ failed', severity: 'error', cooldown_s: 0 }) });
    expect(rule.status).toBe(201);
    const trig = await fetch(`${d.url}/api/triggers`, { method: 'POST', headers: A, body: JSON.stringify({ name: 'pager', url: `http://127.0.0.1:${refused}/hook/${SECRETS.hookPath}`, secret: SECRETS.trigger }) });
    expect(trig.status).toBe(201);
    const { id } = (await trig.json()) as { id: number };
    const N = 8;
    for (let i = 0; i < N; i++) appendFileSync(file, `ERROR payment ${i} failed\n`);
    await waitFor(async () => {
      const r = (await (await fetch(`${d.url}/api/triggers/${id}/deliveries`, { headers: V })).json()) as { deliveries: { result: string }[] };
      return r.deliveries.filter((x) => x.result === 'failed').length >= N;
    }, `${N} failed deliveries`);
    const hookLines = await waitFor(() => {
      const ls = logLines(d.stderr()).filter((l) => l.trigger_id === id);
      return ls.length >= 5 ? ls : undefined;
    }, 'the webhook failure lines');
    expect(hookLines).toHaveLength(5);
    expect(hookLines[0]).toMatchObject({ level: 'warn', code: 'delivery_failed' });
    expect(hookLines[0]!.msg).toMatch(/^trigger \d+ \(pager\): webhook delivery \S+ failed after 1 attempt\(s\): .*ECONNREFUSED/);
    // every failure is remembered for /api/status, even those the log held back
    expect((await status()).recent_errors.filter((e) => e.component === `trigger ${id} (pager)`)).toHaveLength(N);

    // ingest with the source token (a feature that carries a secret), then stop: nothing secret was written
    const ing = await fetch(`${d.url}/api/ingest?source=hook`, { method: 'POST', headers: { Authorization: `Bearer ${SECRETS.ingest}`, 'Content-Type': 'application/x-ndjson' }, body: '{"message":"via http"}\n' });
    expect(ing.status).toBeLessThan(300);
    expect(await d.stop()).toBe(0);
    const out = d.stderr();
    expect(logLines(out).some((l) => l.msg === 'SIGTERM: shutting down')).toBe(true);
    for (const [what, secret] of Object.entries(SECRETS)) expect(out.includes(secret), `${what} secret in the output`).toBe(false);
  });

  it('a generated admin token is printed once, outside the log, and never in a log record', async () => {
    const dir = tempDir();
    const port = await freePort();
    const cfg = path.join(dir, 'sluice.toml');
    writeFileSync(cfg, `data_dir = "${dir}/data"\n[server]\nlisten = "127.0.0.1:${port}"\n`);
    const d = await launch(cfg, port);
    handles.push(d);
    await waitFor(() => d.stderr().includes('listening on'), 'the start line');
    expect(await d.stop()).toBe(0);
    const token = (await import('node:fs')).readFileSync(path.join(dir, 'data', 'admin_token'), 'utf8').trim();
    const out = d.stderr();
    expect(out.split(token).length - 1).toBe(1);
    expect(out.split('\n').find((l) => l.includes(token))).toMatch(/^admin token \(printed once; also in .*admin_token\): /);
    expect(logLines(out).find((l) => l.msg.startsWith('admin token generated'))).toMatchObject({ level: 'info' });
    expect(logLines(out).some((l) => JSON.stringify(l).includes(token))).toBe(false);
  });
});
