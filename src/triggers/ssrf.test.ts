import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import { blockedClass, checkWebhookUrl, guardedLookup, isAllowedHost, type BaseLookup } from './ssrf.js';
import { startReceiver, type Receiver } from '../../test/helpers/receiver.js';
import { postOnce } from './webhook-client.js';

describe('blockedClass: the SSRF table', () => {
  const cases: [string, string][] = [
    ['127.0.0.1', 'loopback'], ['127.255.0.9', 'loopback'], ['::1', 'loopback'],
    ['0.0.0.0', 'unspecified'], ['::', 'unspecified'],
    ['169.254.169.254', 'link-local'], ['169.254.1.1', 'link-local'], ['fe80::1', 'link-local'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
    ['100.64.0.1', 'cgnat'], ['100.127.255.254', 'cgnat'],
    ['fc00::1', 'unique-local'], ['fd12:3456::1', 'unique-local'],
    ['::ffff:127.0.0.1', 'ipv4-mapped'], ['::ffff:8.8.8.8', 'ipv4-mapped'], ['::ffff:a9fe:a9fe', 'ipv4-mapped'],
    ['224.0.0.1', 'multicast'], ['ff02::1', 'multicast'], ['255.255.255.255', 'reserved'],
    ['64:ff9b::7f00:1', 'nat64'], ['2002:7f00:1::1', '6to4'],
    ['not-an-ip', 'invalid'],
  ];
  it.each(cases)('%s is blocked as %s', (addr, cls) => {
    expect(blockedClass(addr)).toBe(cls);
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '2a00:1450:4001::200e'])(
    'public %s is allowed', (addr) => {
      expect(blockedClass(addr)).toBeUndefined();
    },
  );
});

describe('checkWebhookUrl', () => {
  const code = (f: () => unknown) => {
    try { f(); } catch (e) { return (e as SluiceError).code; }
    return 'ok';
  };
  it('allows http(s) only, no credentials, no blocked literal IPs', () => {
    expect(code(() => checkWebhookUrl('https://hooks.example.com/x', []))).toBe('ok');
    expect(code(() => checkWebhookUrl('ftp://example.com/', []))).toBe('SLUICE_ERR_TRIGGER_URL_INVALID');
    expect(code(() => checkWebhookUrl('file:///etc/passwd', []))).toBe('SLUICE_ERR_TRIGGER_URL_INVALID');
    expect(code(() => checkWebhookUrl('http://user:pw@example.com/', []))).toBe('SLUICE_ERR_TRIGGER_URL_INVALID');
    expect(code(() => checkWebhookUrl('not a url', []))).toBe('SLUICE_ERR_TRIGGER_URL_INVALID');
    expect(code(() => checkWebhookUrl('http://169.254.169.254/latest/meta-data', []))).toBe('SLUICE_ERR_TRIGGER_SSRF_BLOCKED');
    expect(code(() => checkWebhookUrl('http://[::1]:8080/', []))).toBe('SLUICE_ERR_TRIGGER_SSRF_BLOCKED');
    expect(code(() => checkWebhookUrl('http://[::ffff:127.0.0.1]/', []))).toBe('SLUICE_ERR_TRIGGER_SSRF_BLOCKED');
    // alternative IPv4 spellings are normalized by the URL parser, then refused
    expect(code(() => checkWebhookUrl('http://0x7f000001/', []))).toBe('SLUICE_ERR_TRIGGER_SSRF_BLOCKED');
    expect(code(() => checkWebhookUrl('http://2130706433/', []))).toBe('SLUICE_ERR_TRIGGER_SSRF_BLOCKED');
    expect(code(() => checkWebhookUrl('http://8.8.8.8/', []))).toBe('ok');
  });

  it('allow_hosts exempts a host, or one host:port', () => {
    expect(code(() => checkWebhookUrl('http://127.0.0.1:9000/', ['127.0.0.1']))).toBe('ok');
    expect(code(() => checkWebhookUrl('http://127.0.0.1:9000/', ['127.0.0.1:9000']))).toBe('ok');
    expect(code(() => checkWebhookUrl('http://127.0.0.1:9001/', ['127.0.0.1:9000']))).toBe('SLUICE_ERR_TRIGGER_SSRF_BLOCKED');
    expect(isAllowedHost(new URL('http://Hooks.Internal/'), ['hooks.internal:80'])).toBe(true);
    expect(isAllowedHost(new URL('https://hooks.internal/'), ['hooks.internal:80'])).toBe(false);
  });
});

describe('guardedLookup (connect-time check)', () => {
  const fake = (table: Record<string, string[]>): BaseLookup => (host, cb) => {
    const list = table[host];
    if (!list) return cb(Object.assign(new Error('ENOTFOUND ' + host), { code: 'ENOTFOUND' }), []);
    cb(null, list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };
  const run = (allowed: boolean, base: BaseLookup, host: string, all: boolean) =>
    new Promise<{ err: Error | null; res: unknown }>((resolve) => {
      guardedLookup(allowed, base)(host, { all }, (err, res) => resolve({ err, res }));
    });

  it('passes a public answer through in both callback shapes', async () => {
    const base = fake({ 'hooks.example.com': ['93.184.216.34'] });
    expect((await run(false, base, 'hooks.example.com', true)).res).toEqual([{ address: '93.184.216.34', family: 4 }]);
    expect((await run(false, base, 'hooks.example.com', false)).res).toBe('93.184.216.34');
  });

  it('refuses a name resolving to loopback, and a mixed public/private answer', async () => {
    const base = fake({ evil: ['127.0.0.1'], mixed: ['93.184.216.34', '10.0.0.5'] });
    expect((await run(false, base, 'evil', true)).err?.message).toMatch(/resolves to 127\.0\.0\.1, a loopback address/);
    expect((await run(false, base, 'mixed', false)).err?.message).toMatch(/10\.0\.0\.5, a private address/);
    expect((await run(true, base, 'evil', false)).res).toBe('127.0.0.1'); // allow_hosts
  });
});

describe('over real sockets', () => {
  let receivers: Receiver[] = [];
  afterEach(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    receivers = [];
  });
  const opts = (allowHosts: string[], lookup?: BaseLookup) => ({ allowHosts, connectTimeoutMs: 2000, timeoutMs: 2000, lookup });

  it('a hostname resolving to loopback is refused at connect time; the receiver sees nothing', async () => {
    const rx = await startReceiver();
    receivers.push(rx);
    const r = await postOnce(`http://localhost:${rx.port}/hook`, '{}', {}, opts([]));
    expect(r).toMatchObject({ ok: false, status: null, retryable: false });
    expect(r.error).toMatch(/loopback/);
    expect(rx.received).toHaveLength(0);
  });

  it('DNS rebinding: a name that was public at validation and is loopback at send is refused', async () => {
    const rx = await startReceiver();
    receivers.push(rx);
    let calls = 0;
    const rebinding: BaseLookup = (_h, cb) => cb(null, [{ address: calls++ === 0 ? '93.184.216.34' : '127.0.0.1', family: 4 }]);
    // validation time: the URL itself is fine (not a literal IP)
    expect(() => checkWebhookUrl(`http://rebind.test:${rx.port}/`, [])).not.toThrow();
    calls = 1; // the attacker flips the record before the send
    const r = await postOnce(`http://rebind.test:${rx.port}/hook`, '{}', {}, opts([], rebinding));
    expect(r.error).toMatch(/rebind\.test resolves to 127\.0\.0\.1/);
    expect(rx.received).toHaveLength(0);
  });

  it('a redirect to loopback is not followed', async () => {
    const target = await startReceiver();
    const redirector = await startReceiver((_n, _r, res) => {
      res.writeHead(302, { location: target.url });
      res.end();
    });
    receivers.push(target, redirector);
    // only the redirector is allowed; the client must not follow even to an allowed host
    const r = await postOnce(redirector.url, '{"x":1}', {}, opts([`127.0.0.1:${redirector.port}`, `127.0.0.1:${target.port}`]));
    expect(r).toMatchObject({ ok: false, status: 302, retryable: false });
    expect(r.error).toMatch(/redirect not followed/);
    expect(redirector.received).toHaveLength(1);
    expect(target.received).toHaveLength(0);
  });

  it('a literal blocked IP is refused without connecting; allow_hosts lets it through', async () => {
    const rx = await startReceiver();
    receivers.push(rx);
    const refused = await postOnce(rx.url, '{}', {}, opts([]));
    expect(refused.error).toMatch(/loopback/);
    expect(rx.received).toHaveLength(0);
    const ok = await postOnce(rx.url, '{}', {}, opts([`127.0.0.1:${rx.port}`]));
    expect(ok).toMatchObject({ ok: true, status: 200, response_snippet: 'ok' });
    expect(rx.received).toHaveLength(1);
  });
});
