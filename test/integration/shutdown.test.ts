/**
 * The ordered stop of a real `sluice run` (src/cli/main.ts, src/main.ts stop()):
 * limits.shutdown_timeout and its exit code, SIGINT handled like SIGTERM, and
 * live clients (SSE, TCP) ended cleanly after everything read before the stop.
 * A webhook receiver that holds its answer keeps a delivery in flight, which
 * the stop waits for (alerting.ts close() -> webhook queue close()): that is
 * how a stop is made to outlast its deadline, or to end within it, on cue.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SseParser } from '../../src/cli/tail.js';
import { ADMIN, authHeaders, fileSourceToml, freePort, launch, runCli, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';
import { SseClient } from '../helpers/sse.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const handles: DaemonHandle[] = [];
const receivers: Receiver[] = [];
afterAll(async () => {
  for (const h of handles) await h.stop();
  for (const r of receivers) await r.close();
  stopAll();
});

const json = { ...authHeaders, 'Content-Type': 'application/json' };

async function api<T>(d: DaemonHandle, method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> {
  const r = await fetch(d.url + p, { method, headers: body === undefined ? authHeaders : json, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Write the config (top-level keys, tables, then [server]) and start it. */
async function start(dir: string, port: number, body: string, env?: NodeJS.ProcessEnv): Promise<DaemonHandle> {
  const cfg = path.join(dir, 'sluice.toml');
  writeFileSync(cfg, `data_dir = "${dir}/data"\n${body}\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "${ADMIN}"\n`);
  const d = await launch(cfg, port, env);
  handles.push(d);
  return d;
}

/** A receiver that holds every request (no answer) until release() answers them all 200. */
async function holdingReceiver(): Promise<Receiver & { held: http.ServerResponse[]; release(): void }> {
  const held: http.ServerResponse[] = [];
  const rx = await startReceiver((_n, _r, res) => {
    held.push(res);
  });
  receivers.push(rx);
  return Object.assign(rx, {
    held,
    release() {
      for (const res of held.splice(0)) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('took my time');
      }
    },
  });
}

/** A rule on ERROR and one trigger to `url`; returns the trigger id. */
async function ruleAndTrigger(d: DaemonHandle, url: string): Promise<number> {
  const rule = await api(d, 'POST', '/api/rules', { name: 'errors', pattern: 'ERROR', severity: 'error', cooldown_s: 0 });
  expect(rule.status).toBe(201);
  const trig = await api<{ id: number }>(d, 'POST', '/api/triggers', { name: 'slow receiver', url });
  expect(trig.status).toBe(201);
  return trig.body.id;
}

/** 400 file sources, one line each: they start one after another after the API is up, which leaves time to signal. */
function manySources(dir: string): string {
  let body = '';
  for (let i = 0; i < 400; i++) {
    const f = path.join(dir, `s${i}.log`);
    writeFileSync(f, `line ${i}\n`);
    body += fileSourceToml(`s${i}`, f);
  }
  return body;
}

describe('shutdown', () => {
  it('limits.shutdown_timeout below 1s is refused at start: exit 1, SLUICE_ERR_CONFIG_INVALID naming the key', async () => {
    const dir = tempDir();
    const cfg = path.join(dir, 'sluice.toml');
    writeFileSync(cfg, `data_dir = "${dir}/data"\n[limits]\nshutdown_timeout = "500ms"\n[server]\nlisten = "127.0.0.1:${await freePort()}"\nadmin_token = "${ADMIN}"\n`);
    const r = await runCli(['run', '-c', cfg], { timeoutMs: 20_000 }); // a daemon that started anyway is killed
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('limits.shutdown_timeout: must be at least 1s');
    expect(r.stderr).toContain('SLUICE_ERR_CONFIG_INVALID');
  });

  it('a stop that outlasts limits.shutdown_timeout (a webhook receiver that never answers) exits 1 with SLUICE_ERR_INTERNAL_ERROR', async () => {
    const rx = await holdingReceiver();
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    writeFileSync(file, '');
    const d = await start(
      dir,
      await freePort(),
      `[limits]\nshutdown_timeout = "1s"\n[triggers]\nallow_hosts = ["127.0.0.1:${rx.port}"]\ntimeout = "120s"\nretries = 0\n${fileSourceToml('app', file)}`,
    );
    await ruleAndTrigger(d, rx.url);
    appendFileSync(file, 'ERROR payment 1 failed\n');
    // the delivery is in flight: the receiver has the whole request and does not answer
    await waitFor(() => rx.received.length === 1, 'the delivery to reach the receiver');
    const code = await d.stop('SIGTERM');
    expect(d.stderr()).toContain('SIGTERM: shutting down');
    expect(d.stderr()).toContain('SLUICE_ERR_INTERNAL_ERROR: shutdown did not finish within 1000 ms');
    expect(code).toBe(1);
  });

  it('a reload applies a new limits.shutdown_timeout (not a restart-only key): the next stop keeps to it', async () => {
    const rx = await holdingReceiver();
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    writeFileSync(file, '');
    const tail = `[triggers]\nallow_hosts = ["127.0.0.1:${rx.port}"]\ntimeout = "120s"\nretries = 0\n${fileSourceToml('app', file)}`;
    const d = await start(dir, await freePort(), `[limits]\nshutdown_timeout = "60s"\n${tail}`);
    writeFileSync(d.configFile, readFileSync(d.configFile, 'utf8').replace('shutdown_timeout = "60s"', 'shutdown_timeout = "1s"'));
    const reload = await api<{ ok: boolean; restart_required: string[] }>(d, 'POST', '/api/config/reload');
    expect(reload.status).toBe(200);
    expect(reload.body.restart_required).toEqual([]);
    await ruleAndTrigger(d, rx.url);
    appendFileSync(file, 'ERROR payment 3 failed\n');
    await waitFor(() => rx.received.length === 1, 'the delivery to reach the receiver');
    // with the old 60s the helper's 15s SIGKILL would end it (exit code null)
    expect(await d.stop('SIGTERM')).toBe(1);
    expect(d.stderr()).toContain('SLUICE_ERR_INTERNAL_ERROR: shutdown did not finish within 1000 ms');
  });

  it('a stop that finishes within the deadline waits for the in-flight delivery, logs it, and exits 0', async () => {
    const rx = await holdingReceiver();
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    writeFileSync(file, '');
    const port = await freePort();
    const body = `[limits]\nshutdown_timeout = "60s"\n[triggers]\nallow_hosts = ["127.0.0.1:${rx.port}"]\ntimeout = "120s"\nretries = 0\n${fileSourceToml('app', file)}`;
    const d = await start(dir, port, body);
    const trigger = await ruleAndTrigger(d, rx.url);
    appendFileSync(file, 'ERROR payment 2 failed\n');
    await waitFor(() => rx.held.length === 1, 'the delivery to reach the receiver');
    const exited = d.stop('SIGTERM');
    await waitFor(() => d.stderr().includes('SIGTERM: shutting down'), 'the stop to begin');
    // the daemon is stopping and the delivery is still unanswered: answer it now
    expect(d.proc.exitCode).toBeNull();
    rx.release();
    expect(await exited).toBe(0);
    expect(d.stderr()).not.toContain('SLUICE_ERR_');
    // the delivery finished before the store closed: its result is in the log
    const d2 = await start(dir, port, body);
    const log = await api<{ deliveries: { result: string; status: number; attempts: number }[] }>(d2, 'GET', `/api/triggers/${trigger}/deliveries`);
    expect(log.body.deliveries).toHaveLength(1);
    expect(log.body.deliveries[0]).toMatchObject({ result: 'ok', status: 200, attempts: 1 });
    expect(await d2.stop()).toBe(0);
  }, 60_000);

  it('a SIGTERM while the sources are still starting (the API already answers) stops cleanly once started: exit 0', async () => {
    const dir = tempDir();
    const body = manySources(dir);
    const d = await start(dir, await freePort(), body);
    const code = await d.stop('SIGTERM');
    const err = d.stderr();
    // signalled before "listening": handled (without the handler the process died of the signal, code null)
    expect(err.indexOf('SIGTERM during start-up: stopping once started')).toBeGreaterThanOrEqual(0);
    expect(err.indexOf('SIGTERM during start-up')).toBeLessThan(err.indexOf('listening on'));
    expect(code).toBe(0);
    expect(err).toContain('SIGTERM: shutting down');
  }, 60_000);

  it('a SIGHUP while the sources are still starting is not lost: the daemon reloads once started, and the changed file is in force', async () => {
    const dir = tempDir();
    const body = manySources(dir);
    const port = await freePort();
    const d = await start(dir, port, body);
    // the file changes while the daemon is starting, and the operator signals it
    const extra = path.join(dir, 'extra.log');
    writeFileSync(extra, 'extra line\n');
    writeFileSync(path.join(dir, 'sluice.toml'), `data_dir = "${dir}/data"\n${body}${fileSourceToml('extra', extra)}\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "${ADMIN}"\n`);
    d.proc.kill('SIGHUP');
    await waitFor(() => d.stderr().includes('reloaded:'), 'the reload once started', 45_000);
    const err = d.stderr();
    expect(err.indexOf('SIGHUP during start-up: reloading once started')).toBeGreaterThanOrEqual(0);
    expect(err.indexOf('SIGHUP during start-up')).toBeLessThan(err.indexOf('listening on'));
    expect(err.indexOf('listening on')).toBeLessThan(err.indexOf('reloaded:'));
    const st = (await (await fetch(`${d.url}/api/status`, { headers: authHeaders })).json()) as { sources: { name: string }[] };
    expect(st.sources.map((x) => x.name)).toContain('extra');
    expect(await d.stop()).toBe(0);
  }, 60_000);

  it('SIGINT stops like SIGTERM: exit 0, and a restart continues with the next seq and repeats nothing', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    writeFileSync(file, '');
    const port = await freePort();
    const d = await start(dir, port, fileSourceToml('app', file));
    const c = new SseClient(`${d.url}/api/streams/app/sse`, authHeaders);
    await c.connect();
    appendFileSync(file, Array.from({ length: 50 }, (_, i) => `before ${i}`).join('\n') + '\n');
    await c.waitFor(() => c.logs().length >= 50, '50 records');
    const lastSeq = c.logs()[49]!.seq;
    expect(await d.stop('SIGINT')).toBe(0);
    expect(d.stderr()).toContain('SIGINT: shutting down');
    expect(d.stderr()).not.toContain('SLUICE_ERR_');

    appendFileSync(file, 'after 0\nafter 1\n');
    const d2 = await start(dir, port, fileSourceToml('app', file));
    const c2 = new SseClient(`${d2.url}/api/streams/app/sse`, authHeaders);
    await c2.connect(String(lastSeq));
    await c2.waitFor(() => c2.logs().length >= 2, 'the records written while stopped');
    // the checkpoint was saved (nothing before the stop read again) and so was the seq counter
    expect(c2.gaps()).toEqual([]);
    expect(c2.logs().map((r) => r.message)).toEqual(['after 0', 'after 1']);
    expect(c2.logs().map((r) => r.seq)).toEqual([lastSeq + 1, lastSeq + 2]);
    // whatever the ring holds past the stop point is only what was written while stopped
    const all = await api<{ records: { seq: number; message: string }[] }>(d2, 'GET', '/api/records?stream=app&limit=1000');
    expect(all.body.records.filter((r) => r.seq > lastSeq).map((r) => r.message)).toEqual(['after 0', 'after 1']);
    c2.disconnect();
  });

  it('live clients are ended at stop: an SSE and a TCP client get every record read before it, then a clean end', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    writeFileSync(file, '');
    const tcpPort = await freePort();
    const d = await start(dir, await freePort(), `${fileSourceToml('app', file)}\n[[streams]]\nname = "app"\ntcp = "127.0.0.1:${tcpPort}"\nreplay = 20000\n`);

    // SSE on node:http, to tell a complete response ('end') from a cut one ('aborted'/'error')
    const sse = { messages: [] as string[], ended: false, errored: false };
    let sseRes: http.IncomingMessage | undefined;
    const req = http.get(`${d.url}/api/streams/app/sse`, { headers: authHeaders }, (res) => {
      sseRes = res;
      res.setEncoding('utf8');
      const parser = new SseParser();
      res.on('data', (chunk: string) => parser.push(chunk, (e) => {
        if (e.event === 'log') sse.messages.push((JSON.parse(e.data) as { message: string }).message);
      }));
      res.on('end', () => (sse.ended = true));
      res.on('aborted', () => (sse.errored = true));
      res.on('error', () => (sse.errored = true));
    });
    req.on('error', () => (sse.errored = true));
    await waitFor(() => sseRes, 'the SSE response');

    const tcp = { lines: [] as string[], ended: false, errored: false };
    const sock = net.connect(tcpPort, '127.0.0.1');
    let rest = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      rest += chunk;
      const parts = rest.split('\n');
      rest = parts.pop()!;
      for (const l of parts) tcp.lines.push((JSON.parse(l) as { message: string }).message);
    });
    sock.on('end', () => (tcp.ended = true));
    sock.on('error', () => (tcp.errored = true));
    await waitFor(async () => {
      const st = (await api<{ streams: { name: string; clients: number }[] }>(d, 'GET', '/api/streams')).body;
      return st.streams.find((s) => s.name === 'app')?.clients === 2;
    }, 'both clients subscribed');

    // both clients stop reading; ~2.6 MB is then queued for each past what the sockets take at once
    sseRes!.pause();
    sock.pause();
    const N = 12_000;
    const pad = 'x'.repeat(200);
    const want = Array.from({ length: N }, (_, i) => `line ${i} ${pad}`);
    appendFileSync(file, want.join('\n') + '\n');
    await waitFor(async () => {
      const st = (await api<{ sources: { counters: { records: number } }[] }>(d, 'GET', '/api/status')).body;
      return st.sources[0]!.counters.records === N;
    }, 'every line read', 60_000);

    const exited = d.stop('SIGTERM');
    await waitFor(() => d.stderr().includes('SIGTERM: shutting down'), 'the stop to begin');
    sseRes!.resume();
    sock.resume();
    expect(await exited).toBe(0);
    await waitFor(() => (sse.ended || sse.errored) && (tcp.ended || tcp.errored), 'both connections to end', 30_000);
    expect(sse).toMatchObject({ ended: true, errored: false });
    expect(tcp).toMatchObject({ ended: true, errored: false });
    expect(rest).toBe('');
    expect(sse.messages).toEqual(want);
    expect(tcp.lines).toEqual(want);
    expect(d.stderr()).not.toContain('SLUICE_ERR_');
  }, 90_000);
});
