/**
 * checkTlsFiles (mutation testing): each failure's code and message (the
 * config key, the file, OpenSSL's reason without its number), checked in
 * order (cert read, key read, cert parsed, key parsed, the pair), with
 * certificates made by openssl.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { requires } from '../../test/helpers/requires.js';

/** When set, createSecureContext throws it (an error shaped unlike OpenSSL's). */
const fake = vi.hoisted(() => ({ error: undefined as unknown }));
vi.mock('node:tls', async (importOriginal) => {
  const tls = await importOriginal<typeof import('node:tls')>();
  const createSecureContext = (o: Parameters<typeof tls.createSecureContext>[0]) => {
    if (fake.error !== undefined) throw fake.error;
    return tls.createSecureContext(o);
  };
  return { ...tls, createSecureContext, default: { ...tls, createSecureContext } };
});
afterEach(() => {
  fake.error = undefined;
});

const { SluiceError } = await import('./errors.js');
const { checkTlsFiles } = await import('./tls-files.js');
type TlsFiles = import('./tls-files.js').TlsFiles;
type SluiceError = InstanceType<typeof SluiceError>;

const openssl = ['/usr/bin/openssl', '/bin/openssl'].find((p) => existsSync(p));
if (!openssl) console.warn('SKIPPED tls-files-mutants.test.ts: no openssl to make a test certificate (Debian package openssl)');
const dir = mkdtempSync(path.join(tmpdir(), 'sluice-tls-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => path.join(dir, name);

/** A self-signed certificate and its key as `<name>.crt` / `<name>.key`. */
function pair(name: string): TlsFiles {
  const cert = at(`${name}.crt`);
  const key = at(`${name}.key`);
  execFileSync(openssl!, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`], { stdio: 'ignore' });
  return { cert, key };
}

function failure(tls: TlsFiles): SluiceError {
  try {
    checkTlsFiles(tls);
  } catch (e) {
    expect(e).toBeInstanceOf(SluiceError);
    return e as SluiceError;
  }
  throw new Error('checkTlsFiles accepted it');
}

describe.skipIf(!requires('openssl', openssl !== undefined, 'apt-get install openssl: it makes the certificates'))('checkTlsFiles', () => {
  const a = openssl ? pair('a') : { cert: '', key: '' };
  const b = openssl ? pair('b') : { cert: '', key: '' };
  const garbage = at('garbage.pem');
  writeFileSync(garbage, 'not a PEM file\n');
  const missing = at('missing.pem');

  it('accepts a certificate with its own key', () => {
    expect(() => checkTlsFiles(a)).not.toThrow();
  });

  it('a file it cannot read: SLUICE_ERR_TLS_READ naming the key and the reason, the cert checked first', () => {
    const e = failure({ cert: missing, key: missing });
    expect(e.code).toBe('SLUICE_ERR_TLS_READ');
    expect(e.message).toBe(`server.tls.cert: cannot read ${missing}: no such file or directory (ENOENT)`);
    const k = failure({ cert: a.cert, key: dir });
    expect(k.code).toBe('SLUICE_ERR_TLS_READ');
    expect(k.message).toBe(`server.tls.key: cannot read ${dir}: is a directory (EISDIR)`);
  });

  it('a certificate that is not PEM: SLUICE_ERR_TLS_INVALID with OpenSSL\'s reason alone, before the key is looked at', () => {
    const e = failure({ cert: garbage, key: garbage });
    expect(e.code).toBe('SLUICE_ERR_TLS_INVALID');
    expect(e.message).toBe(`server.tls.cert: ${garbage} is not a PEM certificate: no start line`);
    expect(failure({ cert: a.key, key: a.key }).message).toMatch(/^server\.tls\.cert: .*a\.key is not a PEM certificate: [a-z ]+$/);
  });

  it('a key that is not PEM', () => {
    const e = failure({ cert: a.cert, key: garbage });
    expect(e.code).toBe('SLUICE_ERR_TLS_INVALID');
    expect(e.message).toMatch(new RegExp(`^server\\.tls\\.key: ${garbage.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a PEM private key \\(or it is encrypted\\): [a-z ]+$`));
    expect(failure({ cert: a.cert, key: a.cert }).message).toMatch(/^server\.tls\.key: .*a\.crt is not a PEM private key/);
  });

  it('an error without OpenSSL\'s reason (or an empty or odd one): its message, folded to one line', () => {
    fake.error = new Error('odd\nfailure');
    expect(failure(a).message).toBe(`server.tls.cert: ${a.cert} is not a PEM certificate: odd; failure`);
    fake.error = Object.assign(new Error('empty reason'), { reason: '' });
    expect(failure(a).message).toBe(`server.tls.cert: ${a.cert} is not a PEM certificate: empty reason`);
    fake.error = Object.assign(new Error('numeric reason'), { reason: 42 });
    expect(failure(a).message).toBe(`server.tls.cert: ${a.cert} is not a PEM certificate: numeric reason`);
  });

  it('a key of another certificate', () => {
    const e = failure({ cert: a.cert, key: b.key });
    expect(e.code).toBe('SLUICE_ERR_TLS_INVALID');
    expect(e.message).toBe(`server.tls.key: ${b.key} does not belong to the certificate in server.tls.cert (${a.cert}): key values mismatch`);
  });
});
