import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { envValue, loadConfig } from './load.js';
import { ValueOrigins } from './origins.js';
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
    expect(!env.ok && env.problems.join()).toContain('server.viewer_token (from env SLUICE_VIEWER_TOKEN): must differ');
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
    expect(!r.ok && r.problems.join()).toContain('limits.client_lag (from env SLUICE_LIMITS_CLIENT_LAG): ');
  });

  it('names the variable or flag a bad value came from, and the summary blames it, not the file', () => {
    const f = write('[server]\nlisten = "127.0.0.1:1111"\n');
    const env = loadConfig({ file: f, env: { SLUICE_SERVER_LISTEN: 'bogus' } });
    expect(env.ok).toBe(false);
    if (env.ok) return;
    expect(env.problems).toEqual(['server.listen (from env SLUICE_SERVER_LISTEN): expected "host:port", e.g. "127.0.0.1:8080"']);
    expect(env.summary).toBe('1 problem from env SLUICE_SERVER_LISTEN');
    // a flag beats the variable, and is named instead
    const cli = loadConfig({ file: f, env: { SLUICE_SERVER_LISTEN: 'bogus' }, overrides: { 'server.listen': 'also-bogus' }, overrideFlags: { 'server.listen': '--listen' } });
    expect(!cli.ok && cli.problems).toEqual(['server.listen (from --listen): expected "host:port", e.g. "127.0.0.1:8080"']);
    expect(!cli.ok && cli.summary).toBe('1 problem from --listen');
    // problems in the file and the environment: each by its place, counted by place
    const mixed = loadConfig({ file: write('[limits]\nmemory = "12 parsecs"\n[server]\nlisten = "127.0.0.1:1"\n'), env: { SLUICE_LIMITS_SHUTDOWN_TIMEOUT: 'soon', SLUICE_DATA_DIR: '/tmp/x' } });
    expect(mixed.ok).toBe(false);
    if (mixed.ok) return;
    expect(mixed.problems.find((p) => p.startsWith('limits.memory'))).toMatch(/^limits\.memory: invalid size/);
    expect(mixed.problems.find((p) => p.startsWith('limits.shutdown_timeout'))).toMatch(/^limits\.shutdown_timeout \(from env SLUICE_LIMITS_SHUTDOWN_TIMEOUT\): invalid duration/);
    expect(mixed.summary).toBe(`2 problems: 1 in ${mixed.file}, 1 from env SLUICE_LIMITS_SHUTDOWN_TIMEOUT`);
    // a problem only in the file blames the file
    const file = loadConfig({ file: write('[server]\nlisten = "x"\n'), env: { SLUICE_DATA_DIR: '/tmp/x' } });
    expect(!file.ok && file.summary).toMatch(/^1 problem in \/.*sluice\.toml$/);
    expect(!file.ok && file.problems[0]).toMatch(/^server\.listen: /);
  });

  it('a key another problem names is shown with its variable (a clash with server.listen from the environment)', () => {
    const r = loadConfig({ file: write('[[streams]]\nname = "s"\ntcp = "127.0.0.1:9999"\n'), env: { SLUICE_SERVER_LISTEN: '127.0.0.1:9999' } });
    expect(!r.ok && r.problems).toEqual(['streams[0].tcp: address 127.0.0.1:9999 is already used by server.listen (from env SLUICE_SERVER_LISTEN)']);
  });

  it('never echoes a token or the store URL from the environment, even in a problem about it', () => {
    // not TOML, and too short to be taken as the string it is
    const unparsable = loadConfig({ file: write(''), env: { SLUICE_SERVER_ADMIN_TOKEN: '[short-4711' } });
    expect(!unparsable.ok && unparsable.problems).toEqual(['server.admin_token (from env SLUICE_SERVER_ADMIN_TOKEN): cannot parse the value (not shown: a secret) as a TOML array or inline table']);
    const short = loadConfig({ file: write(''), env: { SLUICE_ADMIN_TOKEN: 'short-4711' } });
    expect(!short.ok && short.problems).toEqual(['server.admin_token (from env SLUICE_ADMIN_TOKEN): at least 16 characters']);
    const same = loadConfig({ file: write(''), env: { SLUICE_ADMIN_TOKEN: 'same-token-0123456789', SLUICE_VIEWER_TOKEN: 'same-token-0123456789' } });
    expect(!same.ok && same.problems[0]).toMatch(/^server\.viewer_token \(from env SLUICE_VIEWER_TOKEN\): must differ from server\.admin_token \(from env SLUICE_ADMIN_TOKEN\)/);
    const store = loadConfig({ file: write(''), env: { SLUICE_STORE_KIND: 'postgres', SLUICE_STORE_URL: 'mysql://user:pw-4711@db/x' } });
    expect(!store.ok && store.problems).toEqual(['store.url (from env SLUICE_STORE_URL): kind = "postgres" needs url = "postgres://..."']);
    for (const r of [unparsable, short, same, store]) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problems.join('\n') + r.summary).not.toMatch(/4711|0123456789/);
    }
    // a non-secret unparsable value is shown, to help fix it
    const list = loadConfig({ file: write(''), env: { SLUICE_TRIGGERS_ALLOW_HOSTS: '["a"' } });
    expect(!list.ok && list.problems).toEqual(['triggers.allow_hosts (from env SLUICE_TRIGGERS_ALLOW_HOSTS): cannot parse "[\\"a\\"" as a TOML array or inline table']);
  });

  it('an env value that reads as a number, or starts like an array, stays a string where the key wants one (a numeric token, an IPv6 listen address)', () => {
    const r = loadConfig({ file: write(''), env: { SLUICE_SERVER_ADMIN_TOKEN: '1234567890123456', SLUICE_LIMITS_CLIENT_LAG: '42' } });
    expect(r.ok && r.config.server.admin_token).toBe('1234567890123456');
    expect(r.ok && r.config.limits.client_lag).toBe(42);
    // and one that starts like a TOML array but is not one: an IPv6 listen address
    const v6 = loadConfig({ file: write(''), env: { SLUICE_SERVER_LISTEN: '[::]:8080' } });
    expect(v6.ok && v6.config.server.listen).toBe('[::]:8080');
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

describe('ValueOrigins', () => {
  it('masks a secret value from the environment wherever a message would show it', () => {
    const o = new ValueOrigins();
    o.set('server.admin_token', { kind: 'env', name: 'SLUICE_ADMIN_TOKEN', value: 'hunter2-hunter2' });
    o.set('data_dir', { kind: 'env', name: 'SLUICE_DATA_DIR', value: '/srv/data' });
    expect(o.annotate('server.admin_token: "hunter2-hunter2" is weak').text).toBe('server.admin_token (from env SLUICE_ADMIN_TOKEN): "********" is weak');
    expect(o.annotate('server.tls: key file hunter2-hunter2 in /srv/data').text).toBe('server.tls: key file ******** in /srv/data');
    // a key path inside another word or path is not taken for the key
    expect(o.annotate('x: see server.admin_tokens and y.data_dir').text).toBe('x: see server.admin_tokens and y.data_dir');
  });
});
