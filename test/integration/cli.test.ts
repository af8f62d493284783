/** The CLI as users and scripts call it: exit codes and output of check, rules test, --version, tail. */
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authHeaders, freePort, launch, runCli, sluiceArgs, startDaemon, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';

let d: DaemonHandle | undefined;
afterAll(async () => {
  await d?.stop();
  stopAll();
});

describe('sluice CLI', () => {
  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    const pkg = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('check: exit 0 on a valid config, 1 with every problem and its key path otherwise, 2 on a usage error', async () => {
    const dir = tempDir();
    const good = path.join(dir, 'good.toml');
    writeFileSync(good, '[[sources]]\nname = "a"\ntype = "file"\npaths = ["/tmp/*.log"]\n');
    const ok = await runCli(['check', '-c', good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ok:/);
    const bad = path.join(dir, 'bad.toml');
    writeFileSync(bad, '[server]\nlisten = "x"\nport = 1\n[[sources]]\nname = "a"\ntype = "file"\npaths = []\n');
    const r = await runCli(['check', '-c', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('server.listen:');
    expect(r.stdout).toContain('server.port: unknown key');
    expect(r.stdout).toContain('sources[0].paths:');
    const usage = await runCli(['check', '--bogus']);
    expect(usage.code).toBe(2);
  });

  it('check and run name the environment variable or flag a bad value came from, and blame it rather than the file', async () => {
    const dir = tempDir();
    const cfg = path.join(dir, 'sluice.toml');
    writeFileSync(cfg, `data_dir = "${dir}/data"\n[server]\nlisten = "127.0.0.1:1"\n`);
    const env = await runCli(['check', '-c', cfg], { env: { SLUICE_SERVER_LISTEN: 'bogus' } });
    expect(env.code).toBe(1);
    expect(env.stdout).toBe('server.listen (from env SLUICE_SERVER_LISTEN): expected "host:port", e.g. "127.0.0.1:8080"\n');
    expect(env.stderr).toBe('1 problem from env SLUICE_SERVER_LISTEN\n');
    const token = await runCli(['check', '-c', cfg], { env: { SLUICE_ADMIN_TOKEN: 'short-secret' } });
    expect(token.code).toBe(1);
    expect(token.stdout).toBe('server.admin_token (from env SLUICE_ADMIN_TOKEN): at least 16 characters\n');
    expect(token.stdout + token.stderr).not.toContain('short-secret');
    const flag = await runCli(['run', '-c', cfg, '--listen', 'nowhere'], { env: { SLUICE_SERVER_LISTEN: '' } });
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain('server.listen (from --listen): expected "host:port"');
    expect(flag.stderr).toContain('SLUICE_ERR_CONFIG_INVALID: 1 problem from --listen\n');
  });

  it('check and run warn about a listener other hosts reach without TLS, and still accept it', async () => {
    const dir = tempDir();
    const exposed = path.join(dir, 'exposed.toml');
    const port = await freePort();
    writeFileSync(exposed, `data_dir = "${dir}/data"\n[server]\nlisten = "0.0.0.0:${port}"\nadmin_token = "cli-warning-test-token-0123"\n`);
    const c = await runCli(['check', '-c', exposed]);
    expect(c.code).toBe(0);
    expect(c.stderr).toContain(`warning: server.listen: 0.0.0.0:${port} is reachable from other hosts and server.tls is not set`);
    const run = await launch(exposed, port);
    try {
      await waitFor(() => run.stderr().includes('listening on'), 'the start line');
      // the daemon's log (JSON on a pipe): the warning at level warn
      const warned = run.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; msg: string });
      expect(warned.find((l) => l.msg.includes('server.listen: 0.0.0.0'))?.level).toBe('warn');
    } finally {
      expect(await run.stop()).toBe(0);
    }
  });

  it('run refuses a bad config with exit 1 and SLUICE_ERR_CONFIG_INVALID', async () => {
    const dir = tempDir();
    const bad = path.join(dir, 'bad.toml');
    writeFileSync(bad, '[server]\nlisten = 8080\n');
    const r = await runCli(['run', '-c', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SLUICE_ERR_CONFIG_INVALID');
    expect(r.stderr).toContain('server.listen');
  });

  it('rules test prints matched and named captures; exit 2 on an invalid pattern', async () => {
    const r = await runCli(['rules', 'test', '--pattern', 'user=(?P<user>\\w+) status=(?P<status>\\d+)', '--line', 'login user=alice status=401']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ matched: true, captures: { user: 'alice', status: '401' } });
    const miss = await runCli(['rules', 'test', '--pattern', 'nomatch', '--line', 'hello']);
    expect(JSON.parse(miss.stdout)).toEqual({ matched: false, captures: {} });
    const bad = await runCli(['rules', 'test', '--pattern', '(unclosed', '--line', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/missing \)/);
  });

  it('tail follows a stream and resumes after the server restarts', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    writeFileSync(file, '');
    d = await startDaemon(`data_dir = "${dir}/data"\n[[sources]]\nname = "app"\ntype = "file"\npaths = ["${file}"]\nfrom = "start"\npoll_interval = "100ms"\n`, { dir });
    const p = spawn(process.execPath, sluiceArgs('tail', d.url, '--stream', 'app', '--json', '--since', '0', '--token', authHeaders.Authorization.slice(7)), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', (c) => (out += c));
    try {
      // --since 0: whatever the tail process's start-up time, it gets the stream from its start
      appendFileSync(file, 'first 1\nfirst 2\n');
      await waitFor(() => out.split('\n').filter(Boolean).length >= 2, 'tail output', 20_000);
      const port = d.port;
      const cfg = d.configFile;
      await d.stop();
      appendFileSync(file, 'while down 3\n');
      const { launch } = await import('../helpers/daemon.js');
      d = await launch(cfg, port);
      appendFileSync(file, 'after 4\n');
      await waitFor(() => out.split('\n').filter(Boolean).length >= 4, 'tail output after restart', 30_000);
      const msgs = out.split('\n').filter(Boolean).map((l) => JSON.parse(l).message);
      expect(msgs).toEqual(['first 1', 'first 2', 'while down 3', 'after 4']);
    } finally {
      p.kill('SIGKILL');
    }
  }, 60_000);
});
