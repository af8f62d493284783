/** `[server] tls`: the API, SSE and metrics over HTTPS with the configured certificate. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, stopAll, tempDir, launch, type DaemonHandle } from '../helpers/daemon.js';
import { requires } from '../helpers/requires.js';

const openssl = ['/usr/bin/openssl', '/bin/openssl'].find((p) => existsSync(p));
if (!openssl) console.warn('SKIPPED tls.test.ts: no openssl to make a test certificate');

let d: DaemonHandle | undefined;
afterAll(async () => {
  await d?.stop();
  stopAll();
});

function get(url: string, ca: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, headers }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe.skipIf(!requires('openssl', openssl !== undefined, 'apt-get install openssl: it makes the certificates'))('TLS listener', () => {
  it('serves the API over HTTPS with the configured certificate, and refuses plain HTTP', async () => {
    const dir = tempDir();
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync(openssl!, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
    const port = await freePort();
    const cfg = path.join(dir, 'sluice.toml');
    writeFileSync(cfg, `data_dir = "${dir}/data"\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "test-admin-token-0123456789"\ntls = { cert = "${cert}", key = "${key}" }\n`);
    const ca = readFileSync(cert);
    d = await launch(cfg, port, undefined, async () => (await get(`https://127.0.0.1:${port}/healthz`, ca)).status === 200);
    const ok = (await get(`https://127.0.0.1:${port}/healthz`, ca)).status === 200;
    expect(ok).toBe(true);
    const status = await get(`https://127.0.0.1:${port}/api/status`, ca, { Authorization: 'Bearer test-admin-token-0123456789' });
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body).version).toMatch(/^\d+\.\d+\.\d+/);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  }, 60_000);
});
