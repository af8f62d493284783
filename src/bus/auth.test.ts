/**
 * `[bus]` credentials and TLS against a real nats-server: user and
 * password, a token, a .creds file (the server in operator mode, its JWTs
 * made with @nats-io/jwt), TLS with a private CA (the server's certificate
 * checked) and mutual TLS (this client's certificate checked by the
 * server). Each is refused without what it needs, so the test fails when
 * connectBus stops passing it on. Certificates are made with openssl.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NATS_SERVER, startNats, type NatsHandle } from '../../test/helpers/nats.js';
import { busSchema } from './config.js';
import { busUrls, connectBus } from './jetstream.js';
import { requires } from '../../test/helpers/requires.js';

const OPENSSL = ['/usr/bin/openssl', '/bin/openssl'].find((p) => existsSync(p));
const servers: NatsHandle[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bus-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
function makeCerts(): Record<'ca' | 'caKey' | 'server' | 'serverKey' | 'client' | 'clientKey' | 'otherCa', string> {
  const f = (n: string) => path.join(dir, n);
  const ssl = (args: string[]) => execFileSync(OPENSSL!, args, { stdio: 'pipe' });
  ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=sluice-test-ca']);
  ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('other.key'), '-out', f('other.pem'), '-days', '2', '-subj', '/CN=another-ca']);
  for (const [name, ext] of [
    ['server', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${name}`]);
    writeFileSync(f(`${name}.ext`), ext + '\n');
    ssl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f(`${name}.ext`)]);
  }
  return { ca: f('ca.pem'), caKey: f('ca.key'), server: f('server.pem'), serverKey: f('server.key'), client: f('client.pem'), clientKey: f('client.key'), otherCa: f('other.pem') };
}

const bus = (extra: Record<string, unknown>) => busSchema.parse({ kind: 'nats', ...extra });

/** Connect once and close; the error's message when refused. */
async function tryConnect(cfg: ReturnType<typeof bus>): Promise<string> {
  try {
    const nc = await connectBus(cfg, 'sluice-test', 3000);
    await nc.flush();
    await nc.close();
    return 'connected';
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
}

describe.skipIf(!requires('nats-server', NATS_SERVER !== undefined, 'apt-get install nats-server'))('[bus] credentials and TLS (real nats-server)', () => {
  it('user and password: connects with them, refused with a wrong password or none', async () => {
    const s = await startNats({ args: ['--user', 'agent', '--pass', 's3cret-pass'] });
    servers.push(s);
    expect(await tryConnect(bus({ url: s.url, user: 'agent', password: 's3cret-pass' }))).toBe('connected');
    expect(await tryConnect(bus({ url: s.url, user: 'agent', password: 'wrong' }))).toMatch(/^refused: .*(authorization|auth)/i);
    expect(await tryConnect(bus({ url: s.url }))).toMatch(/^refused/);
  });

  it('a token: connects with it, refused with another', async () => {
    const s = await startNats({ args: ['--auth', 'tok-0123456789'] });
    servers.push(s);
    expect(await tryConnect(bus({ url: s.url, token: 'tok-0123456789' }))).toBe('connected');
    expect(await tryConnect(bus({ url: s.url, token: 'tok-other' }))).toMatch(/^refused/);
  });

  it('a .creds file: connects as its user (operator mode), refused with a user of an account the server does not know, without one, and a missing file is named', async () => {
    const operator = createOperator();
    const account = createAccount();
    const stranger = createAccount();
    // JetStream (the test server runs with -js) needs a system account in operator mode
    const system = createAccount();
    const opJwt = await encodeOperator('sluice-test-op', operator, { system_account: system.getPublicKey() });
    // an account's limits default to none allowed: open them (no limit = -1)
    const open = { limits: { conn: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, leaf: -1, wildcards: true } };
    const accJwt = await encodeAccount('sluice-test-acc', account, open, { signer: operator });
    const sysJwt = await encodeAccount('SYS', system, {}, { signer: operator });
    const credsOf = async (issuer: typeof account, file: string): Promise<string> => {
      const user = createUser();
      writeFileSync(path.join(dir, file), fmtCreds(await encodeUser('agent', user, issuer), user));
      return path.join(dir, file);
    };
    const conf = path.join(dir, 'operator.conf');
    writeFileSync(conf, `operator: ${opJwt}\nsystem_account: ${system.getPublicKey()}\nresolver: MEMORY\nresolver_preload: {\n  ${account.getPublicKey()}: ${accJwt}\n  ${system.getPublicKey()}: ${sysJwt}\n}\n`);
    const s = await startNats({ args: ['-c', conf] });
    servers.push(s);
    expect(await tryConnect(bus({ url: s.url, creds: await credsOf(account, 'good.creds') }))).toBe('connected');
    expect(await tryConnect(bus({ url: s.url, creds: await credsOf(stranger, 'stranger.creds') }))).toMatch(/^refused/);
    expect(await tryConnect(bus({ url: s.url }))).toMatch(/^refused/);
    expect(await tryConnect(bus({ url: s.url, creds: path.join(dir, 'missing.creds') }))).toMatch(/^refused: .*bus\.creds: cannot read .*missing\.creds: ENOENT/);
  });

  it('creds with a token or a user is refused by the schema, naming bus.creds', () => {
    const r = busSchema.safeParse({ kind: 'nats', creds: '/x.creds', token: 't' });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toContain('creds');
  });

  it.skipIf(!requires('openssl', OPENSSL !== undefined, 'apt-get install openssl: it makes the certificates'))('TLS: the server checked against the CA given; mutual TLS: this client\'s certificate checked by the server', async () => {
    const c = makeCerts();
    const tls = await startNats({ args: ['--tls', '--tlscert', c.server, '--tlskey', c.serverKey] });
    servers.push(tls);
    // by name: the client checks the server's certificate for the URL's host name
    const byName = (h: NatsHandle) => `tls://localhost:${h.port}`;
    expect(await tryConnect(bus({ url: byName(tls), tls: { ca: c.ca } }))).toBe('connected');
    // the wrong CA: the server's certificate does not verify
    expect(await tryConnect(bus({ url: byName(tls), tls: { ca: c.otherCa } }))).toMatch(/^refused/);
    const mutual = await startNats({ args: ['--tlsverify', '--tlscert', c.server, '--tlskey', c.serverKey, '--tlscacert', c.ca] });
    servers.push(mutual);
    expect(await tryConnect(bus({ url: byName(mutual), tls: { ca: c.ca, cert: c.client, key: c.clientKey } }))).toBe('connected');
    expect(await tryConnect(bus({ url: byName(mutual), tls: { ca: c.ca } }))).toMatch(/^refused/);
  });
});

describe('[bus] credentials in config', () => {
  it('a password needs its user; a token excludes user; a client certificate needs its key', () => {
    const issues = (x: Record<string, unknown>) => busSchema.safeParse({ kind: 'nats', ...x }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(issues({ password: 'p' })).toEqual(['password: a password needs its `user`']);
    expect(issues({ user: 'u', token: 't' })).toEqual(['token: give `token` or `user` and `password`, not both']);
    expect(issues({ tls: { cert: '/c.pem' } })).toEqual(['tls.key: a client certificate needs its key (give `cert` and `key` together)']);
    expect(issues({ user: 'u', password: 'p', tls: { ca: '/ca.pem', cert: '/c.pem', key: '/k.pem' } })).toEqual([]);
  });

  it('a URL\'s credentials are not shown', () => {
    expect(busUrls('nats://agent:s3cret@10.0.0.1:4222,tls://n2:4222')).toBe('nats://***@10.0.0.1:4222,tls://n2:4222');
  });
});
