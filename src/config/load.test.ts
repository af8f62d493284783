import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { envValue, loadConfig } from './load.js';
import { parseDuration, parseSize } from './common.js';

function write(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-cfg-'));
  const f = path.join(dir, 'sluice.toml');
  writeFileSync(f, text);
  return f;
}

describe('loadConfig', () => {
  it('applies defaults and freezes the result', () => {
    const r = loadConfig({ file: write('[[sources]]\nname = "app"\ntype = "file"\npaths = ["/tmp/x/*.log"]\n'), env: {} });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.server.listen).toBe('127.0.0.1:8080');
    expect(r.config.data_dir).toBe('./data');
    const src = r.config.sources[0]!;
    expect(src.type === 'file' && src.from).toBe('end');
    expect(src.type === 'file' && src.max_line_bytes).toBe(1024 * 1024);
    expect(Object.isFrozen(r.config.server)).toBe(true);
  });

  it('reports every problem with its key path, unknown keys included', () => {
    const f = write(`
data_dir = 5
[server]
listen = "nonsense"
lisen = "x"
[limits]
memory = "12 parsecs"
[[sources]]
name = "a"
type = "file"
paths = []
from = "middle"
[[sources]]
name = "a"
type = "file"
paths = ["/x"]
multiline = { start = "(unclosed" }
[[sources]]
name = "b"
type = "carrier-pigeon"
[[streams]]
name = "s"
tcp = "127.0.0.1:8080"
`);
    const r = loadConfig({ file: f, env: {} });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.problems.join('\n');
    for (const key of [
      'data_dir:',
      'server.listen:',
      'server.lisen: unknown key',
      'limits.memory: invalid size',
      'sources[0].paths:',
      'sources[0].from:',
      'sources[1].name: duplicate source name',
      'sources[1].multiline.start: invalid RE2 pattern',
      'sources[2].type: unknown or missing source type (expected one of: file',
    ]) {
      expect(text).toContain(key);
    }
    expect(r.problems.length).toBeGreaterThanOrEqual(9);
  });

  it('flags a stream TCP port that clashes with the HTTP listener', () => {
    const r = loadConfig({ file: write('[[streams]]\nname = "s"\ntcp = "127.0.0.1:8080"\n'), env: {} });
    expect(!r.ok && r.problems.join()).toContain('streams[0].tcp: address 127.0.0.1:8080 is already used by server.listen');
  });

  it('refuses unsafe or unusable values, each by its key path, all at once', () => {
    const r = loadConfig({
      file: write(`
[server]
listen = "127.0.0.1:99999"
admin_token = "the-same-token-for-both-roles"
viewer_token = "the-same-token-for-both-roles"
[limits]
memory = 1
shutdown_timeout = 0
[[streams]]
name = "s"
tcp = "127.0.0.1:0"
`),
      env: {},
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual(
      expect.arrayContaining([
        'server.listen: the port must be between 1 and 65535',
        'server.viewer_token: must differ from server.admin_token (the viewer token would otherwise carry admin rights)',
        'limits.memory: must be at least 16MiB (replay rings and queues are carved from it)',
        'limits.shutdown_timeout: must be at least 1s (an ordered stop flushes checkpoints and the store)',
        'streams[0].tcp: the port must be between 1 and 65535',
      ]),
    );
    // the same token given through the environment is refused too
    const env = loadConfig({ file: write(''), env: { SLUICE_ADMIN_TOKEN: 'env-token-0123456789', SLUICE_VIEWER_TOKEN: 'env-token-0123456789' } });
    expect(!env.ok && env.problems.join()).toContain('server.viewer_token: must differ');
  });

  it('warns, without refusing, about listeners other hosts can reach', () => {
    const plain = loadConfig({ file: write('[server]\nlisten = "0.0.0.0:8080"\n[[streams]]\nname = "s"\ntcp = ":9090"\n'), env: {} });
    expect(plain.ok && plain.warnings).toEqual([
      'server.listen: 0.0.0.0:8080 is reachable from other hosts and server.tls is not set: tokens and logs cross the network in clear text',
      'streams[0].tcp: :9090 is reachable from other hosts; the TCP stream has no authentication, anyone who connects reads stream "s"',
    ]);
    const tls = loadConfig({ file: write('[server]\nlisten = "[::]:8443"\ntls = { cert = "c.pem", key = "k.pem" }\n'), env: {} });
    expect(tls.ok && tls.warnings).toEqual([]);
    for (const loop of ['127.0.0.1:8080', '127.1.2.3:8080', '[::1]:8080', 'localhost:8080']) {
      const r = loadConfig({ file: write(`[server]\nlisten = "${loop}"\n`), env: {} });
      expect(r.ok && r.warnings, loop).toEqual([]);
    }
    const proxy = loadConfig({ file: write('[server]\ntrust_proxy = true\n'), env: {} });
    expect(proxy.ok && proxy.warnings.join()).toContain('server.trust_proxy');
    const list = loadConfig({ file: write('[server]\ntrust_proxy = ["10.0.0.0/8"]\n'), env: {} });
    expect(list.ok && list.config.server.trust_proxy).toEqual(['10.0.0.0/8']);
    expect(list.ok && list.warnings).toEqual([]);
  });

  it('reports TOML syntax errors with line and column', () => {
    const r = loadConfig({ file: write('[server]\nlisten = \n'), env: {} });
    expect(!r.ok && r.problems[0]).toMatch(/line 2/);
  });

  it('env SLUICE_<SECTION>_<KEY> overrides the file, CLI overrides env', () => {
    const f = write('[server]\nlisten = "127.0.0.1:1111"\n');
    const env = { SLUICE_SERVER_LISTEN: '127.0.0.1:2222', SLUICE_LIMITS_CLIENT_LAG: '77', SLUICE_ADMIN_TOKEN: 'a-very-long-admin-token', SLUICE_DATA_DIR: '/tmp/dd' };
    const r = loadConfig({ file: f, env });
    expect(r.ok && r.config.server.listen).toBe('127.0.0.1:2222');
    expect(r.ok && r.config.limits.client_lag).toBe(77);
    expect(r.ok && r.config.server.admin_token).toBe('a-very-long-admin-token');
    expect(r.ok && r.config.data_dir).toBe('/tmp/dd');
    const r2 = loadConfig({ file: f, env, overrides: { 'server.listen': '127.0.0.1:3333' } });
    expect(r2.ok && r2.config.server.listen).toBe('127.0.0.1:3333');
  });

  it('a bad env value is a problem with the variable name', () => {
    const r = loadConfig({ file: write(''), env: { SLUICE_LIMITS_CLIENT_LAG: 'lots' } });
    expect(!r.ok && r.problems.join()).toContain('limits.client_lag');
  });

  it('the embedded default tails /var/log/*.log (or an inbox) and serves on loopback', () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'sluice-def-'));
    const r = loadConfig({ env: { SLUICE_DATA_DIR: path.join(cwd, 'data') }, cwd });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.file).toBeNull();
    expect(r.config.server.listen).toBe('127.0.0.1:8080');
    const src = r.config.sources[0]!;
    expect(src.type).toBe('file');
    if (src.type === 'file') expect(src.paths[0] === '/var/log/*.log' || src.paths[0]!.endsWith('/inbox/*.log')).toBe(true);
  });
});

describe('values', () => {
  it('parses durations and sizes', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('14d')).toBe(14 * 86_400_000);
    expect(parseDuration('soon')).toBeUndefined();
    expect(parseSize('64KiB')).toBe(65536);
    expect(parseSize('1MB')).toBe(1e6);
    expect(parseSize('1 parsec')).toBeUndefined();
  });
  it('reads env values as TOML values when they are one', () => {
    expect(envValue('42')).toBe(42);
    expect(envValue('true')).toBe(true);
    expect(envValue('["a","b"]')).toEqual(['a', 'b']);
    expect(envValue('127.0.0.1:80')).toBe('127.0.0.1:80');
    expect(envValue('[broken')).toBeUndefined();
  });
});
