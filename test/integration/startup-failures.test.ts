/**
 * `sluice run` start-up failures as operators meet them: each ends with exit
 * 1 and one line `SLUICE_ERR_<CODE>: message` naming the config key, and no
 * admin token is generated into data_dir or printed (configs here set no
 * admin_token, so a token would be made).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, runCli, stopAll, tempDir } from '../helpers/daemon.js';
import { requires } from '../helpers/requires.js';

const openssl = ['/usr/bin/openssl', '/bin/openssl'].find((p) => existsSync(p));
if (!openssl) console.warn('SKIPPED the TLS cases of startup-failures.test.ts: no openssl to make test certificates');

const servers: net.Server[] = [];
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  stopAll();
});

/** A TCP port held by this test process. */
async function busyPort(): Promise<number> {
  const s = net.createServer();
  servers.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve());
  });
  return (s.address() as net.AddressInfo).port;
}

interface Failure {
  code: string;
  /** Strings the one error line must contain (the config key, the reason). */
  says: string[];
}

/**
 * Run `sluice run` on `toml` (data_dir defaults to <dir>/data) and check the
 * failure: exit 1, exactly one SLUICE_ERR_ line with the expected code and
 * words, no admin_token written, no token printed.
 */
async function expectStartFailure(dir: string, toml: string, want: Failure, opts: { dataDir?: string } = {}): Promise<string> {
  const dataDir = opts.dataDir ?? path.join(dir, 'data');
  const cfg = path.join(dir, 'sluice.toml');
  writeFileSync(cfg, `data_dir = "${dataDir}"\n${toml}`);
  const r = await runCli(['run', '-c', cfg]);
  expect(r.code, r.stderr).toBe(1);
  const errs = r.stderr.split('\n').filter((l) => /^SLUICE_ERR_/.test(l));
  expect(errs, r.stderr).toHaveLength(1);
  const line = errs[0]!;
  expect(line.startsWith(`${want.code}: `), line).toBe(true);
  for (const s of want.says) expect(line).toContain(s);
  expect(line).not.toContain('SLUICE_ERR_INTERNAL_ERROR');
  // no token made, saved or shown
  expect(existsSync(path.join(dataDir, 'admin_token'))).toBe(false);
  expect(r.stderr + r.stdout).not.toMatch(/admin token/i);
  expect(r.stderr + r.stdout).not.toMatch(/[A-Za-z0-9_-]{43}/); // a 32-byte base64url token
  return line;
}

describe('sluice run: every start-up failure has its own code and message, and makes no token', () => {
  it('server.listen on a port in use: SLUICE_ERR_LISTEN_FAILED, address in use', async () => {
    const port = await busyPort();
    const line = await expectStartFailure(tempDir(), `[server]\nlisten = "127.0.0.1:${port}"\n`, {
      code: 'SLUICE_ERR_LISTEN_FAILED',
      says: ['server.listen', `127.0.0.1:${port}`, 'address in use'],
    });
    expect(line).toBe(`SLUICE_ERR_LISTEN_FAILED: server.listen: cannot listen on 127.0.0.1:${port}: address in use (EADDRINUSE)`);
  });

  it('server.listen on an address this host does not have: SLUICE_ERR_LISTEN_FAILED, address not available', async () => {
    await expectStartFailure(tempDir(), `[server]\nlisten = "192.0.2.1:${await freePort()}"\n`, {
      code: 'SLUICE_ERR_LISTEN_FAILED',
      says: ['server.listen', '192.0.2.1', 'address not available'],
    });
  });

  it('server.listen with a port out of range is refused with its own code naming server.listen', async () => {
    // The config check refuses it first where it checks the range; otherwise the listener does.
    const dir = tempDir();
    const cfg = path.join(dir, 'sluice.toml');
    writeFileSync(cfg, `data_dir = "${dir}/data"\n[server]\nlisten = "127.0.0.1:99999"\n`);
    const r = await runCli(['run', '-c', cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^(SLUICE_ERR_CONFIG_INVALID: |SLUICE_ERR_LISTEN_FAILED: server\.listen: cannot listen on 127\.0\.0\.1:99999: port out of range)/m);
    expect(r.stderr).toContain('server.listen');
    expect(r.stderr).not.toContain('SLUICE_ERR_INTERNAL_ERROR');
    expect(existsSync(path.join(dir, 'data', 'admin_token'))).toBe(false);
    expect(r.stderr).not.toMatch(/admin token/i);
  });

  it("a stream's TCP output on a port in use: SLUICE_ERR_LISTEN_FAILED naming streams[i].tcp", async () => {
    const busy = await busyPort();
    await expectStartFailure(
      tempDir(),
      `[[streams]]\nname = "a"\n[[streams]]\nname = "b"\ntcp = "127.0.0.1:${busy}"\n[server]\nlisten = "127.0.0.1:${await freePort()}"\n`,
      { code: 'SLUICE_ERR_LISTEN_FAILED', says: ['streams[1].tcp', `127.0.0.1:${busy}`, 'address in use'] },
    );
  });

  it('data_dir under a regular file: SLUICE_ERR_DATA_DIR_CREATE naming data_dir', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'afile'), '');
    const dataDir = path.join(dir, 'afile', 'data');
    await expectStartFailure(dir, `[server]\nlisten = "127.0.0.1:${await freePort()}"\n`, {
      code: 'SLUICE_ERR_DATA_DIR_CREATE',
      says: ['data_dir', dataDir, 'not a directory'],
    }, { dataDir });
  });

  it('data_dir that is a regular file: SLUICE_ERR_DATA_DIR_CREATE', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    writeFileSync(dataDir, '');
    await expectStartFailure(dir, `[server]\nlisten = "127.0.0.1:${await freePort()}"\n`, {
      code: 'SLUICE_ERR_DATA_DIR_CREATE',
      says: ['data_dir', dataDir, 'exists and is not a directory'],
    }, { dataDir });
  });

  it('a seq counter file gone bad: SLUICE_ERR_DATA_DIR_STATE naming the file and what to do, not a restart at seq 0', async () => {
    for (const content of ['{"reserved":', '{"reserved":"42"}', '']) {
      const dir = tempDir();
      const dataDir = path.join(dir, 'data');
      mkdirSync(dataDir);
      const file = path.join(dataDir, 'hub-seq.json');
      writeFileSync(file, content);
      await expectStartFailure(dir, `[server]\nlisten = "127.0.0.1:${await freePort()}"\n`, {
        code: 'SLUICE_ERR_DATA_DIR_STATE',
        says: ['the seq counter', file, 'no usable seq reservation', 'remove it to count from 0'],
      });
      // left as it was for the operator to look at
      expect(readFileSync(file, 'utf8')).toBe(content);
    }
  });

  it('the SQLite store path is a directory: SLUICE_ERR_STORE_OPEN with the kind, store.url and the cause', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'db-is-a-dir');
    mkdirSync(db);
    await expectStartFailure(dir, `[store]\nkind = "sqlite"\nurl = "${db}"\n[server]\nlisten = "127.0.0.1:${await freePort()}"\n`, {
      code: 'SLUICE_ERR_STORE_OPEN',
      says: ['store.url', 'SQLite', db, 'is a directory'],
    });
  });

  it('PostgreSQL on a closed port: SLUICE_ERR_STORE_OPEN with the kind, store.url and the cause', async () => {
    await expectStartFailure(tempDir(), `[store]\nkind = "postgres"\nurl = "postgres://sluice:pw@127.0.0.1:1/sluice"\n[server]\nlisten = "127.0.0.1:${await freePort()}"\n`, {
      code: 'SLUICE_ERR_STORE_OPEN',
      says: ['store.url', 'PostgreSQL', '127.0.0.1:1', 'ECONNREFUSED'],
    });
  });

  it('a source that cannot be built: SLUICE_ERR_SOURCE_BUILD naming sources.<name>', async () => {
    // picomatch refuses patterns over 64 KiB when the file source compiles its excludes
    const dir = tempDir();
    await expectStartFailure(
      dir,
      `[[sources]]\nname = "app"\ntype = "file"\npaths = ["${dir}/*.log"]\nexclude = ["${'x'.repeat(70_000)}"]\n[server]\nlisten = "127.0.0.1:${await freePort()}"\n`,
      { code: 'SLUICE_ERR_SOURCE_BUILD', says: ['sources.app', 'file source', 'exceeds maximum allowed length'] },
    );
  });

  it('admin_token in data_dir that cannot be read: SLUICE_ERR_AUTH_TOKEN_READ naming server.admin_token', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'data', 'admin_token'), { recursive: true });
    const cfg = path.join(dir, 'sluice.toml');
    writeFileSync(cfg, `data_dir = "${dir}/data"\n[server]\nlisten = "127.0.0.1:${await freePort()}"\n`);
    const r = await runCli(['run', '-c', cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`SLUICE_ERR_AUTH_TOKEN_READ: server.admin_token is not set and ${dir}/data/admin_token cannot be read: is a directory (EISDIR)`);
    expect(r.stderr).not.toMatch(/admin token generated/i);
  });

  describe.skipIf(!requires('openssl', openssl !== undefined, 'apt-get install openssl: it makes the certificates'))('server.tls', () => {
    function makeCert(dir: string, name: string): { cert: string; key: string } {
      const cert = path.join(dir, `${name}.crt`);
      const key = path.join(dir, `${name}.key`);
      execFileSync(openssl!, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`], { stdio: 'ignore' });
      return { cert, key };
    }
    const tlsToml = async (cert: string, key: string) => `[server]\nlisten = "127.0.0.1:${await freePort()}"\ntls = { cert = "${cert}", key = "${key}" }\n`;

    it('a missing certificate file: SLUICE_ERR_TLS_READ naming server.tls.cert', async () => {
      const dir = tempDir();
      const { key } = makeCert(dir, 'a');
      await expectStartFailure(dir, await tlsToml(path.join(dir, 'missing.crt'), key), {
        code: 'SLUICE_ERR_TLS_READ',
        says: ['server.tls.cert', 'missing.crt', 'no such file or directory'],
      });
    });

    it('a key file that is not PEM: SLUICE_ERR_TLS_INVALID naming server.tls.key', async () => {
      const dir = tempDir();
      const { cert } = makeCert(dir, 'a');
      const bad = path.join(dir, 'bad.key');
      writeFileSync(bad, 'not a key\n');
      await expectStartFailure(dir, await tlsToml(cert, bad), { code: 'SLUICE_ERR_TLS_INVALID', says: ['server.tls.key', bad] });
    });

    it('a certificate file that is not PEM: SLUICE_ERR_TLS_INVALID naming server.tls.cert', async () => {
      const dir = tempDir();
      const { key } = makeCert(dir, 'a');
      await expectStartFailure(dir, await tlsToml(key, key), { code: 'SLUICE_ERR_TLS_INVALID', says: ['server.tls.cert', 'no start line'] });
    });

    it("a key that is not the certificate's: SLUICE_ERR_TLS_INVALID naming both keys", async () => {
      const dir = tempDir();
      const a = makeCert(dir, 'a');
      const b = makeCert(dir, 'b');
      await expectStartFailure(dir, await tlsToml(a.cert, b.key), {
        code: 'SLUICE_ERR_TLS_INVALID',
        says: ['server.tls.key', 'server.tls.cert', 'key values mismatch'],
      });
    });
  });
});
