import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClientError, parseBaseUrl } from './client.js';
import { localUrl, readLocalConfig, resolveTarget, resolveToken } from './token.js';

function dir(): string {
  return mkdtempSync(path.join(tmpdir(), 'sluice-token-'));
}

describe('parseBaseUrl', () => {
  it('takes a URL without a scheme as http and keeps a path prefix', () => {
    expect(parseBaseUrl('127.0.0.1:8080').href).toBe('http://127.0.0.1:8080/');
    expect(parseBaseUrl('localhost:8080').href).toBe('http://localhost:8080/');
    expect(parseBaseUrl('[::1]:9000').href).toBe('http://[::1]:9000/');
    expect(parseBaseUrl('logs.example.com').href).toBe('http://logs.example.com/');
    expect(parseBaseUrl('https://logs.example.com/sluice/').href).toBe('https://logs.example.com/sluice');
  });

  it('refuses what is not a base URL, as a usage error', () => {
    for (const bad of ['', 'http://[zz', 'ftp://host', 'http://u:p@host', 'http://host/?q=1', 'host:99999']) {
      let err: unknown;
      try {
        parseBaseUrl(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(ClientError);
      expect((err as ClientError).exitCode, bad).toBe(2);
      expect((err as ClientError).retryable, bad).toBe(false);
    }
  });
});

describe('the local configuration', () => {
  it('reads data_dir, listen, tls and the admin token, with the daemon\'s env overrides', () => {
    const d = dir();
    writeFileSync(path.join(d, 'sluice.toml'), 'data_dir = "./d"\n[server]\nlisten = "0.0.0.0:9001"\nadmin_token = "from-the-file-0123456789"\ntls = { cert = "c", key = "k" }\n');
    const c = readLocalConfig({ cwd: d, env: {} });
    expect(c).toEqual({ file: path.join(d, 'sluice.toml'), dataDir: path.join(d, 'd'), listen: '0.0.0.0:9001', tls: true, adminToken: 'from-the-file-0123456789', adminTokenFrom: `server.admin_token in ${path.join(d, 'sluice.toml')}` });
    expect(localUrl(c)).toBe('https://127.0.0.1:9001');
    const e = readLocalConfig({ cwd: d, env: { SLUICE_DATA_DIR: '/srv/x', SLUICE_SERVER_LISTEN: '[::]:7000', SLUICE_ADMIN_TOKEN: 'from-env-0123456789' } });
    expect([e.dataDir, localUrl(e), e.adminTokenFrom]).toEqual(['/srv/x', 'https://[::1]:7000', 'env SLUICE_ADMIN_TOKEN']);
    const none = readLocalConfig({ cwd: dir(), env: {} });
    expect(none).toMatchObject({ file: null, listen: '127.0.0.1:8080', tls: false, adminToken: undefined });
    expect(localUrl(none)).toBe('http://127.0.0.1:8080');
  });

  it('a -c FILE that cannot be read or parsed is invalid input (exit 1)', () => {
    const d = dir();
    writeFileSync(path.join(d, 'bad.toml'), '[server\n');
    for (const file of ['missing.toml', 'bad.toml']) {
      expect(() => readLocalConfig({ cwd: d, config: file, env: {} }), file).toThrow(ClientError);
      try {
        readLocalConfig({ cwd: d, config: file, env: {} });
      } catch (e) {
        expect((e as ClientError).exitCode).toBe(1);
      }
    }
  });
});

describe('resolveToken', () => {
  it('the flag, else SLUICE_TOKEN, else the configured admin token, else <data_dir>/admin_token', () => {
    const d = dir();
    mkdirSync(path.join(d, 'data'));
    writeFileSync(path.join(d, 'data', 'admin_token'), 'from-the-data-dir\n');
    const file = resolveToken(undefined, { cwd: d, env: {} });
    expect(file).toEqual({ token: 'from-the-data-dir', from: path.join(d, 'data', 'admin_token'), hint: '' });
    const cfg = resolveToken(undefined, { cwd: d, env: { SLUICE_ADMIN_TOKEN: 'configured-0123456789' } });
    expect([cfg.token, cfg.from]).toEqual(['configured-0123456789', 'env SLUICE_ADMIN_TOKEN']);
    const env = resolveToken(undefined, { cwd: d, env: { SLUICE_TOKEN: 'from-env', SLUICE_ADMIN_TOKEN: 'configured-0123456789' } });
    expect([env.token, env.from]).toEqual(['from-env', 'env SLUICE_TOKEN']);
    const flag = resolveToken('from-flag', { cwd: d, env: { SLUICE_TOKEN: 'from-env' } });
    expect([flag.token, flag.from]).toEqual(['from-flag', '--token']);
    // an empty SLUICE_TOKEN is no token
    expect(resolveToken(undefined, { cwd: d, env: { SLUICE_TOKEN: '' } }).token).toBe('from-the-data-dir');
  });

  it('without one, says where it looked', () => {
    const d = dir();
    const t = resolveToken(undefined, { cwd: d, env: {} });
    expect(t.token).toBeUndefined();
    expect(t.hint).toBe(`tried --token, env SLUICE_TOKEN, the admin token of the default configuration, ${path.join(d, 'data', 'admin_token')} (not found)`);
  });

  it('reads no configuration when the URL and the token are given', () => {
    const d = dir();
    writeFileSync(path.join(d, 'sluice.toml'), 'not toml at all [');
    const t = resolveTarget({ url: '127.0.0.1:1234', token: 'x', cwd: d, env: {} });
    expect([t.base.href, t.tokenFrom]).toEqual(['http://127.0.0.1:1234/', '--token']);
    expect(() => resolveTarget({ url: '127.0.0.1:1234', cwd: d, env: {} })).toThrow(/cannot read the configuration/);
  });
});
