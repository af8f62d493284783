/**
 * The SSRF guard's edges that mutation testing found untested (`npm run
 * mutate`): credentials in any part of the URL, the default port of an
 * allow_hosts entry, and the guarded lookup as http.request calls it (an
 * options object or a callback, an address family, a resolver error, a name
 * with no address of that family).
 */
import type dns from 'node:dns';
import { describe, expect, it } from 'vitest';
import { checkWebhookUrl, guardedLookup, isAllowedHost, type BaseLookup, type LookupAddress } from './ssrf.js';

const errOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('checkWebhookUrl', () => {
  it('refuses credentials in the URL, a user name alone or a password alone', () => {
    const msg = 'credentials in the webhook URL are not allowed; use the secret';
    expect(errOf(() => checkWebhookUrl('https://user@hooks.example/x', []))).toBe(msg);
    expect(errOf(() => checkWebhookUrl('https://:pw@hooks.example/x', []))).toBe(msg);
    expect(errOf(() => checkWebhookUrl('https://user:pw@hooks.example/x', []))).toBe(msg);
    expect(checkWebhookUrl('https://hooks.example/x', []).hostname).toBe('hooks.example');
  });

  it('names what is wrong: not a URL, another scheme', () => {
    expect(errOf(() => checkWebhookUrl('hooks.example/x', []))).toBe('not a URL: "hooks.example/x"');
    expect(errOf(() => checkWebhookUrl('ftp://hooks.example/x', []))).toBe('only http and https webhooks are allowed, not ftp:');
    expect(errOf(() => checkWebhookUrl('file:///etc/passwd', []))).toBe('only http and https webhooks are allowed, not file:');
  });
});

describe('isAllowedHost', () => {
  it('an entry with a port matches the URL\'s port, the scheme\'s default when it has none', () => {
    expect(isAllowedHost(new URL('http://127.0.0.1/x'), ['127.0.0.1:80'])).toBe(true);
    expect(isAllowedHost(new URL('https://127.0.0.1/x'), ['127.0.0.1:443'])).toBe(true);
    expect(isAllowedHost(new URL('https://127.0.0.1/x'), ['127.0.0.1:80'])).toBe(false);
    expect(isAllowedHost(new URL('http://127.0.0.1:8080/x'), ['127.0.0.1:80'])).toBe(false);
    expect(isAllowedHost(new URL('http://LOCALHOST:9/x'), ['localhost'])).toBe(true);
    expect(isAllowedHost(new URL('http://127.0.0.1/x'), [])).toBe(false);
  });
});

describe('guardedLookup', () => {
  const answers = (list: LookupAddress[]): BaseLookup => (_h, cb) => cb(null, list);
  const call = (lookup: ReturnType<typeof guardedLookup>, options: dns.LookupOptions | number | undefined) =>
    new Promise<{ err: (NodeJS.ErrnoException & { ssrf?: boolean }) | null; address: unknown; family?: number }>((resolve) => {
      const cb = (err: NodeJS.ErrnoException | null, address: unknown, family?: number) => resolve({ err, address, family });
      if (options === undefined) lookup('h.example', cb as never);
      else lookup('h.example', options, cb as never);
    });
  const both: LookupAddress[] = [
    { address: '2606:4700:4700::1111', family: 6 },
    { address: '93.184.215.14', family: 4 },
  ];

  it('answers in the shape asked: one address (callback as second argument, or options), or all', async () => {
    const g = guardedLookup(false, answers(both));
    expect(await call(g, undefined)).toEqual({ err: null, address: '2606:4700:4700::1111', family: 6 });
    expect(await call(g, {})).toEqual({ err: null, address: '2606:4700:4700::1111', family: 6 });
    expect(await call(g, { all: true })).toEqual({ err: null, address: both, family: undefined });
  });

  it('keeps only the asked family; none of it is ENOTFOUND naming the host', async () => {
    const g = guardedLookup(false, answers(both));
    expect(await call(g, { family: 4 })).toEqual({ err: null, address: '93.184.215.14', family: 4 });
    expect(await call(g, { family: 6, all: true })).toEqual({ err: null, address: [both[0]], family: undefined });
    const none = await call(guardedLookup(false, answers([both[1]!])), { family: 6 });
    expect(none.err?.code).toBe('ENOTFOUND');
    expect(none.err?.message).toBe('h.example: no address');
    expect(none.address).toEqual([]);
  });

  it('passes a resolver error on as it is', async () => {
    const e = Object.assign(new Error('getaddrinfo EAI_AGAIN h.example'), { code: 'EAI_AGAIN' });
    const r = await call(guardedLookup(false, (_h, cb) => cb(e, [])), {});
    expect(r.err).toBe(e);
    expect(r.address).toEqual([]);
  });

  it('a blocked answer is refused with ssrf set (not retried by the sender); allowed hosts pass', async () => {
    const priv: LookupAddress[] = [{ address: '10.0.0.5', family: 4 }];
    const refused = await call(guardedLookup(false, answers(priv)), {});
    expect(refused.err?.ssrf).toBe(true);
    expect(refused.err?.message).toBe('webhook host h.example resolves to 10.0.0.5, a private address');
    expect(refused.address).toEqual([]);
    expect(await call(guardedLookup(true, answers(priv)), {})).toEqual({ err: null, address: '10.0.0.5', family: 4 });
  });
});
