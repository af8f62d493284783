/** The TLS syslog listener with a certificate made by openssl: framing as TCP, and client certificates required when `ca` is set. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CollectingPipeline, waitFor } from '../../../test/helpers/fake-pipeline.js';
import { syslogSourceSchema, type SyslogSourceInput } from './config.js';
import { SyslogSource } from './source.js';
import { requires } from '../../../test/helpers/requires.js';

const openssl = ['/usr/bin/openssl', '/bin/openssl'].find((p) => existsSync(p));
if (!openssl) console.warn('SKIPPED syslog tls.test.ts: no openssl to make a test certificate (Debian package openssl)');
const dir = mkdtempSync(path.join(tmpdir(), 'sluice-syslog-tls-'));
const cert = path.join(dir, 'cert.pem');
const key = path.join(dir, 'key.pem');
if (openssl) {
  execFileSync(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
}

let cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(withCa: boolean, extra: Partial<SyslogSourceInput> = {}) {
  const cfg = syslogSourceSchema.parse({ name: 'sys', type: 'syslog', tls: { listen: '127.0.0.1:1', cert, key, ...(withCa ? { ca: cert } : {}) }, ...extra });
  const pipeline = new CollectingPipeline();
  const src = new SyslogSource({ ...cfg, tls: { ...cfg.tls!, listen: '127.0.0.1:0' } });
  await src.start(pipeline);
  cleanup.push(() => src.stop());
  return { src, pipeline, port: Number(src.address('tls')!.split(':')[1]) };
}

function send(port: number, data: string, client?: { cert: Buffer; key: Buffer }): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(cert), ...client }, () => s.end(data, () => resolve()));
    s.on('error', reject);
    cleanup.push(() => void s.destroy());
  });
}

describe.skipIf(!requires('openssl', openssl !== undefined, 'apt-get install openssl: it makes the certificates'))('syslog over TLS', () => {
  it('accepts octet-counted and LF-framed connections over TLS', async () => {
    const { pipeline, port } = await start(false);
    const msg = '<165>1 2026-12-06T00:00:00Z h app 1 ID [a@1 k="v"] over tls';
    await send(port, `${msg.length} ${msg}`);
    await send(port, '<13>Dec  6 00:00:00 h tag: lf over tls\n');
    await waitFor(() => pipeline.records.length === 2, 'both records');
    const byMsg = Object.fromEntries(pipeline.records.map((r) => [r.message, r]));
    expect(byMsg['over tls']).toMatchObject({ app: 'app', level: 'notice', fields: { sd: { 'a@1': { k: 'v' } } }, origin: { kind: 'syslog', transport: 'tls' } });
    expect(byMsg['lf over tls']).toMatchObject({ app: 'tag', origin: { transport: 'tls' } });
  });

  it('with `ca`, refuses a client without a certificate (tls_error) and accepts one signed by it', async () => {
    const { src, pipeline, port } = await start(true);
    await send(port, '<13>no cert\n').catch(() => undefined);
    await waitFor(() => src.status().counters.tls_error >= 1, 'the refused handshake');
    await send(port, '<13>with cert\n', { cert: readFileSync(cert), key: readFileSync(key) });
    await waitFor(() => pipeline.records.length === 1, 'the record');
    expect(pipeline.messages).toEqual(['with cert']);
    expect(pipeline.drops).toContainEqual({ stage: 'syslog', reason: 'tls_error', n: 1 });
  });

  it('counts an oversize frame over TLS (oversize) and a plain-TCP client sending garbage (tls_error); the listener keeps serving', async () => {
    const { src, pipeline, port } = await start(false, { max_frame_bytes: 100 });
    const counters = () => src.status().counters;
    // past max_frame_bytes, LF-framed then octet-counted: each head kept and counted oversize
    await send(port, `<13>${'x'.repeat(5000)}\n`);
    const big = '<13>' + 'y'.repeat(5000);
    await send(port, `${big.length} ${big}`);
    await waitFor(() => pipeline.records.length === 2, 'both oversize heads');
    expect(counters().oversize).toBe(2);
    expect(pipeline.drops).toContainEqual({ stage: 'syslog', reason: 'oversize', n: 1 });
    for (const r of pipeline.records) expect(r.message.endsWith('[truncated]')).toBe(true);
    // good input on a new TLS connection arrives
    await send(port, '<13>fine after oversize\n');
    await waitFor(() => pipeline.records.length === 3, 'the good record');
    expect(pipeline.messages[2]).toBe('fine after oversize');

    // plain TCP, no handshake, garbage: a failed handshake, the server closes it
    const plain = net.connect(port, '127.0.0.1');
    plain.on('error', () => undefined);
    cleanup.push(() => void plain.destroy());
    const closed = new Promise<void>((resolve) => plain.once('close', () => resolve()));
    plain.write('this is not a TLS ClientHello\n<13>garbage\n');
    await closed;
    await waitFor(() => counters().tls_error === 1, 'the failed handshake');
    expect(pipeline.drops).toContainEqual({ stage: 'syslog', reason: 'tls_error', n: 1 });
    // still serving TLS, and nothing of the garbage became a record
    await send(port, '<13>fine after garbage\n');
    await waitFor(() => pipeline.records.length === 4, 'the record after the garbage');
    expect(pipeline.messages.slice(2)).toEqual(['fine after oversize', 'fine after garbage']);
    expect(counters()).toMatchObject({ oversize: 2, tls_error: 1, bad_octet_count: 0 });
  });
});
