/**
 * `sluice status` against a real daemon: the summary (sources with state,
 * rate and backlog, streams with clients, drops, the forward and archive
 * sinks), `--json`, the token from the configuration's data_dir, and the
 * exit codes of a refused token and a refused port.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLEAN_ENV, fileSourceToml, freePort, runCli, startDaemon, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';
import { SseClient } from '../helpers/sse.js';

const FORWARD_TOKEN = 'forward-secret-token-4711';

let d: DaemonHandle;
let dir: string;
let token: string;
let tcpPort: number;
let forwardPort: number;
let sse: SseClient | undefined;
let writer: NodeJS.Timeout | undefined;

/** `sluice status ...` to its end, from an empty directory. */
function status(args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof runCli> {
  return runCli(['status', ...args], { cwd: tempDir(), env: { ...CLEAN_ENV, ...env } });
}

async function apiStatus(): Promise<{ sources: { name: string; counters: { lines: number } }[]; streams: { name: string; sse_clients: number }[] }> {
  return (await fetch(`${d.url}/api/status`, { headers: { Authorization: `Bearer ${token}` } })).json() as never;
}

beforeAll(async () => {
  dir = tempDir();
  const app = path.join(dir, 'app.log');
  // 3 lines, 37 bytes, one dropped by the transform
  writeFileSync(app, 'first line ok\ndebug noise here\nthird\n');
  writeFileSync(path.join(dir, 'busy.log'), '');
  const port = await freePort();
  tcpPort = await freePort();
  forwardPort = await freePort(); // nobody listens: the forward sink keeps its batches
  const drop = '[[sources.transforms]]\ntype = "drop"\nfield = "message"\nmatches = "^debug"\n';
  d = await startDaemon(
    `data_dir = "${dir}/data"\n${fileSourceToml('app', app)}${drop}${fileSourceToml('busy', path.join(dir, 'busy.log'))}` +
      `[[streams]]\nname = "app"\ntcp = "127.0.0.1:${tcpPort}"\n` +
      `[[archive]]\nstream = "app"\npath = "${dir}/archive/app.ndjson"\n` +
      `[[forward]]\nname = "central"\nurl = "http://127.0.0.1:${forwardPort}/api/ingest?source=edge1"\ntoken = "${FORWARD_TOKEN}"\nstreams = ["app"]\nallow_hosts = ["127.0.0.1:${forwardPort}"]\n` +
      `[server]\nlisten = "127.0.0.1:${port}"\n`,
    { dir, port },
  );
  token = readFileSync(path.join(dir, 'data', 'admin_token'), 'utf8').trim();
  sse = new SseClient(`${d.url}/api/streams/app/sse`, { Authorization: `Bearer ${token}` });
  await sse.connect();
  await waitFor(async () => {
    const st = await apiStatus();
    return st.sources.find((s) => s.name === 'app')?.counters.lines === 3 && st.streams.find((s) => s.name === 'app')?.sse_clients === 1;
  }, 'the app source read and one SSE client');
  // a source with lines arriving all along, for a rate above zero
  let n = 0;
  writer = setInterval(() => appendFileSync(path.join(dir, 'busy.log'), Array.from({ length: 20 }, () => `busy ${n++}\n`).join('')), 20);
}, 60_000);

afterAll(async () => {
  clearInterval(writer);
  sse?.disconnect();
  await d?.stop();
  stopAll();
});

describe('sluice status', () => {
  it('summarizes the daemon, with the token from <data_dir>/admin_token and the URL from server.listen of -c FILE', async () => {
    // the forward sink has failed to reach its central at least once (its state and reason are shown)
    await waitFor(async () => ((await (await fetch(`${d.url}/api/status`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { forward: { state: string }[] }).forward[0]?.state === 'degraded', 'the forward sink degraded');
    const r = await status(['-c', d.configFile]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^Sluice \\d+\\.\\d+\\.\\d+\\S* at ${d.url}, up \\d+s, `));
    const src = (name: string) => lines.find((l) => l.startsWith(`  ${name} `)) ?? '';
    // nothing new in app: 0 lines/s; its whole file read
    expect(src('app')).toMatch(/^ {2}app +file +running +0\.0 lines\/s, 3 lines, read 37 B of 37 B \(100%\) in 1 file$/);
    expect(src('busy')).toMatch(/^ {2}busy +file +\S+ +([1-9]\d*|\d+\.\d*[1-9]\d*) lines\/s, \d+ lines, read /);
    expect(r.stdout).toMatch(new RegExp(`\\n {2}app +2 records +1 SSE clients, TCP 127\\.0\\.0\\.1:${tcpPort}: 0 clients\\n`));
    expect(r.stdout).toMatch(/\nDrops \(by stage\/reason\)\n {2}transform\/drop +1\n/);
    expect(r.stdout).toMatch(new RegExp(`\\nForward \\(1\\)\\n {2}central +\\S+ +to http://127\\.0\\.0\\.1:${forwardPort}/api/ingest\\?source=edge1`));
    expect(r.stdout).toContain(`\nArchive (1)\n  app  running  to ${dir}/archive/app.ndjson, `);
    expect(lines[0]).toContain(`pid ${d.proc.pid}`);
    expect(r.stdout).toMatch(new RegExp(`\\n {2}central +degraded +to http://127\\.0\\.0\\.1:${forwardPort}/[^\\n]*\\n {6}last error at \\S+: ECONNREFUSED: cannot deliver to the central`));
    expect(r.stdout).toMatch(/\nRecent errors\n.*sink central.*ECONNREFUSED/);
    for (const secret of [token, FORWARD_TOKEN]) expect(r.stdout).not.toContain(secret);
  });

  it('--json prints /api/status as the daemon answers it, on one line', async () => {
    const r = await status([d.url, '--json'], { SLUICE_TOKEN: token });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const st = JSON.parse(r.stdout) as { sources: { name: string }[]; forward: unknown[]; archive: unknown[] };
    expect(st.sources.map((s) => s.name)).toEqual(['app', 'busy']);
    expect([st.forward.length, st.archive.length]).toEqual([1, 1]);
  });

  it('a bad URL: exit 2 at once, naming it', async () => {
    for (const url of ['http://[zz', 'ftp://127.0.0.1:8080']) {
      const r = await status([url], { SLUICE_TOKEN: token });
      expect(r.code, url).toBe(2);
      expect(r.stderr, url).toMatch(/^sluice status: SLUICE_ERR_CLIENT_URL: invalid URL/);
    }
  });

  it('a refused token: exit 3; no token: exit 3 saying where it looked; a refused port: exit 5, retried only with --max-retries', async () => {
    const wrong = await status([d.url.replace('http://', '')], { SLUICE_TOKEN: 'not-the-token-0123456789' });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toBe(`sluice status: SLUICE_ERR_CLIENT_UNAUTHORIZED: 401 from ${d.url}/api/status: the token from env SLUICE_TOKEN was refused (SLUICE_ERR_API_UNAUTHORIZED: invalid token)\n`);
    const none = await status([d.url]);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('no token was found (tried --token, env SLUICE_TOKEN, the admin token of the default configuration, ');
    const port = await freePort();
    const refused = await status([`127.0.0.1:${port}`], { SLUICE_TOKEN: token });
    expect(refused.code).toBe(5);
    expect(refused.stderr).toBe(`sluice status: SLUICE_ERR_CLIENT_UNREACHABLE: connection refused to 127.0.0.1:${port}\n`);
    const retried = await status([`127.0.0.1:${port}`, '--max-retries', '1'], { SLUICE_TOKEN: token });
    expect(retried.code).toBe(5);
    expect(retried.stderr).toBe(`-- connection refused to 127.0.0.1:${port}; retrying in 500 ms --\nsluice status: SLUICE_ERR_CLIENT_UNREACHABLE: connection refused to 127.0.0.1:${port} (gave up after 1 retry)\n`);
    const notSluice = await status([`${d.url}/nope`], { SLUICE_TOKEN: token });
    expect(notSluice.code).toBe(4);
  });
});
