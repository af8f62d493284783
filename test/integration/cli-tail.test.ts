/**
 * `sluice tail` against a real daemon: where the token comes from (flag, env
 * SLUICE_TOKEN, the configuration's data_dir/admin_token), a URL without a
 * scheme, and how it ends: 401/403/404 and a bad URL at once with their exit
 * codes, a refused port and 5xx after --max-retries (client.ts, EXIT).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, CLEAN_ENV, fileSourceToml, freePort, runCli, sluiceArgsAnywhere, startDaemon, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';


let withToken: DaemonHandle; // admin_token in its config
let generated: DaemonHandle; // no admin_token: the daemon wrote data_dir/admin_token
let generatedCfg: string;
let generatedDataDir: string;

beforeAll(async () => {
  const a = tempDir();
  writeFileSync(path.join(a, 'app.log'), 'hello from a\n');
  withToken = await startDaemon(`data_dir = "${a}/data"\n${fileSourceToml('app', path.join(a, 'app.log'))}`, { dir: a });
  const b = tempDir();
  writeFileSync(path.join(b, 'app.log'), 'hello from b\n');
  const port = await freePort();
  generatedDataDir = path.join(b, 'data');
  generated = await startDaemon(`data_dir = "${generatedDataDir}"\n${fileSourceToml('app', path.join(b, 'app.log'))}\n[server]\nlisten = "127.0.0.1:${port}"\n`, { dir: b, port });
  generatedCfg = generated.configFile;
}, 60_000);

afterAll(async () => {
  await withToken?.stop();
  await generated?.stop();
  stopAll();
});

/** Run `sluice tail ...` until its stdout has a line, then kill it; the lines and stderr. */
async function firstLines(args: string[], env: NodeJS.ProcessEnv, cwd = tempDir()): Promise<{ lines: string[]; stderr: string }> {
  const p = spawn(process.execPath, sluiceArgsAnywhere('tail', ...args), { cwd, env: { ...process.env, ...CLEAN_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout!.on('data', (c) => (out += c));
  p.stderr!.on('data', (c) => (err += c));
  try {
    await waitFor(() => {
      if (p.exitCode !== null) throw new Error(`tail exited ${p.exitCode}: ${err}`);
      return out.includes('\n');
    }, 'a line from tail', 20_000);
  } finally {
    p.kill('SIGKILL');
  }
  return { lines: out.split('\n').filter(Boolean), stderr: err };
}

/** `sluice tail ...` to its end, in an empty directory (no ./sluice.toml, no ./data). */
function tail(args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof runCli> {
  return runCli(['tail', ...args], { cwd: tempDir(), env: { ...CLEAN_ENV, ...env } });
}

describe('sluice tail: token and URL', () => {
  it('takes the token from env SLUICE_TOKEN, and a URL without a scheme as http', async () => {
    const hostPort = withToken.url.replace('http://', '');
    const r = await firstLines([hostPort, '--stream', 'app', '--since', '0', '--json'], { SLUICE_TOKEN: ADMIN });
    expect(JSON.parse(r.lines[0]!).message).toBe('hello from a');
    expect(r.stderr).toBe('');
  });

  it('takes the token from <data_dir>/admin_token of -c FILE, and the URL from its server.listen', async () => {
    expect(readFileSync(path.join(generatedDataDir, 'admin_token'), 'utf8').trim().length).toBeGreaterThan(20);
    const dir = path.dirname(generatedCfg);
    // no URL: server.listen of the configuration
    const r = await firstLines(['-c', generatedCfg, '--since', '0', '--json'], {}, dir);
    expect(JSON.parse(r.lines[0]!).message).toBe('hello from b');
    // ./sluice.toml without -c, and the URL given
    const local = await firstLines([generated.url, '--since', '0', '--json'], {}, dir);
    expect(JSON.parse(local.lines[0]!).message).toBe('hello from b');
  });

  it('401: exit 3 at once, saying whose token was refused (never the token), or where none was found', async () => {
    const wrong = await tail([withToken.url, '--token', 'wrong-token-0123456789abcdef', '--max-retries', '5']);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toBe(`sluice tail: SLUICE_ERR_CLIENT_UNAUTHORIZED: 401 from ${withToken.url}/api/tail/sse: the token from --token was refused (SLUICE_ERR_API_UNAUTHORIZED: invalid token)\n`);
    const env = await tail([withToken.url], { SLUICE_TOKEN: 'wrong-token-from-env-0123' });
    expect(env.code).toBe(3);
    expect(env.stderr).toContain('the token from env SLUICE_TOKEN was refused');
    expect(env.stderr).not.toContain('wrong-token-from-env-0123');
    const empty = tempDir();
    const none = await tail([withToken.url, '--max-retries', '5'], { SLUICE_DATA_DIR: empty });
    expect(none.code).toBe(3);
    expect(none.stderr).toBe(
      `sluice tail: SLUICE_ERR_CLIENT_UNAUTHORIZED: 401 from ${withToken.url}/api/tail/sse: no token was found (tried --token, env SLUICE_TOKEN, ` +
        `the admin token of the default configuration, ${path.join(empty, 'admin_token')} (not found)) (SLUICE_ERR_API_UNAUTHORIZED: missing bearer token)\n`,
    );
  });

  it('404: exit 4 at once for a stream that does not exist and for a URL with a path prefix', async () => {
    const stream = await tail([withToken.url, '--stream', 'nope', '--token', ADMIN]);
    expect(stream.code).toBe(4);
    expect(stream.stderr).toBe(`sluice tail: SLUICE_ERR_CLIENT_NOT_FOUND: 404 from ${withToken.url}/api/streams/nope/sse: SLUICE_ERR_STREAM_UNKNOWN: no stream "nope"\n`);
    const prefix = await tail([`${withToken.url}/logs`, '--token', ADMIN]);
    expect(prefix.code).toBe(4);
    expect(prefix.stderr).toContain(`404 from ${withToken.url}/logs/api/tail/sse`);
    expect(prefix.stderr).toContain('(is the URL the base URL of a Sluice?)');
  });

  it('a bad URL: exit 2 at once', async () => {
    for (const url of ['http://[zz', 'ftp://127.0.0.1:8080', 'http://127.0.0.1:8080/?x=1']) {
      const r = await tail([url, '--token', ADMIN]);
      expect(r.code, url).toBe(2);
      expect(r.stderr, url).toMatch(/^sluice tail: SLUICE_ERR_CLIENT_URL: invalid URL/);
    }
  });
});

describe('sluice tail: retries where a retry can help', () => {
  it('a refused port: "connection refused to HOST:PORT", retried with backoff --max-retries times, then exit 5', async () => {
    const port = await freePort();
    const r = await tail([`127.0.0.1:${port}`, '--token', ADMIN, '--max-retries', '2']);
    expect(r.code).toBe(5);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      `-- disconnected (connection refused to 127.0.0.1:${port}); reconnecting in 500 ms --`,
      `-- disconnected (connection refused to 127.0.0.1:${port}); reconnecting in 1000 ms --`,
      `sluice tail: SLUICE_ERR_CLIENT_UNREACHABLE: connection refused to 127.0.0.1:${port} (gave up after 2 retries)`,
    ]);
  });

  it('5xx is retried, 403 is not', async () => {
    const statuses: number[] = [];
    let answer = 503;
    const server = http.createServer((req, res) => {
      statuses.push(answer);
      res.writeHead(answer, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'X', message: `answer ${answer}` } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const busy = await tail([url, '--token', ADMIN, '--max-retries', '1']);
      expect(busy.code).toBe(5);
      expect(statuses).toEqual([503, 503]);
      expect(busy.stderr).toContain('reconnecting in 500 ms');
      expect(busy.stderr).toContain(`SLUICE_ERR_CLIENT_UNREACHABLE: 503 from ${url}/api/tail/sse: X: answer 503 (gave up after 1 retry)`);
      answer = 403;
      statuses.length = 0;
      const forbidden = await tail([url, '--token', ADMIN, '--max-retries', '3']);
      expect(forbidden.code).toBe(3);
      expect(statuses).toEqual([403]);
      expect(forbidden.stderr).toBe(`sluice tail: SLUICE_ERR_CLIENT_FORBIDDEN: 403 from ${url}/api/tail/sse: the token from --token may not do this (X: answer 403)\n`);
    } finally {
      server.close();
    }
  });
});
