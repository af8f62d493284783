/**
 * The SSRF guard for webhook targets. Only http(s); the address is checked
 * when the socket connects, inside the `lookup` the HTTP client calls, so a
 * name that resolved to a public address at validation time and to 127.0.0.1
 * at send time (DNS rebinding) is still refused. Literal IPs never reach
 * `lookup` (Node connects directly), so they are checked before the request.
 * Redirects are never followed (node:http does not follow them; the webhook
 * client treats 3xx as a failure). `[triggers] allow_hosts` lists host or
 * host:port exceptions, matched against the URL as written.
 */
import dns from 'node:dns';
import net from 'node:net';
import { defineError, SluiceError } from '../core/errors.js';

export const SSRF_ERR = {
  URL_INVALID: defineError('SLUICE_ERR_TRIGGER_URL_INVALID', 400, 'webhook URL not allowed'),
  BLOCKED: defineError('SLUICE_ERR_TRIGGER_SSRF_BLOCKED', 400, 'webhook target address is not allowed'),
} as const;

/** Blocked address classes, most specific first (the first match names the class). */
const TABLE: readonly [cls: string, subnet: string, prefix: number, family: 'ipv4' | 'ipv6'][] = [
  // IPv6 first: IPv4-mapped must win over the IPv4 class its embedded address has.
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  ['ipv4-mapped', '::ffff:0:0', 96, 'ipv6'],
  ['ipv4-compatible', '::', 96, 'ipv6'],
  ['nat64', '64:ff9b::', 96, 'ipv6'],
  ['nat64-local', '64:ff9b:1::', 48, 'ipv6'],
  ['6to4', '2002::', 16, 'ipv6'],
  ['teredo', '2001::', 32, 'ipv6'],
  ['discard', '100::', 64, 'ipv6'],
  ['documentation', '2001:db8::', 32, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['site-local', 'fec0::', 10, 'ipv6'],
  ['unique-local', 'fc00::', 7, 'ipv6'],
  ['multicast', 'ff00::', 8, 'ipv6'],
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'], // incl. 169.254.169.254 (cloud metadata)
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['cgnat', '100.64.0.0', 10, 'ipv4'],
  ['ietf-protocol', '192.0.0.0', 24, 'ipv4'],
  ['documentation', '192.0.2.0', 24, 'ipv4'],
  ['benchmarking', '198.18.0.0', 15, 'ipv4'],
  ['documentation', '198.51.100.0', 24, 'ipv4'],
  ['documentation', '203.0.113.0', 24, 'ipv4'],
  ['multicast', '224.0.0.0', 4, 'ipv4'],
  ['reserved', '240.0.0.0', 4, 'ipv4'], // incl. 255.255.255.255
];

const LISTS = TABLE.map(([cls, subnet, prefix, family]) => {
  const bl = new net.BlockList();
  bl.addSubnet(subnet, prefix, family);
  return { cls, family, bl };
});

/** The blocked class of an IP address, or undefined when it is allowed. Non-IPs are "invalid". */
export function blockedClass(address: string): string | undefined {
  const fam = net.isIP(address);
  if (fam === 0) return 'invalid';
  for (const { cls, family, bl } of LISTS) {
    // An IPv6 rule would also match IPv4 addresses through their mapped form: skip them for IPv4.
    if (family === 'ipv6' && fam === 4) continue;
    if (bl.check(address, fam === 4 ? 'ipv4' : 'ipv6')) return cls;
  }
  return undefined;
}

function defaultPort(u: URL): string {
  return u.port || (u.protocol === 'https:' ? '443' : '80');
}

/** Whether `allow_hosts` lists this URL's host (any port) or host:port. */
export function isAllowedHost(u: URL, allowHosts: readonly string[]): boolean {
  if (allowHosts.length === 0) return false;
  const host = u.hostname.toLowerCase();
  const hostPort = `${host}:${defaultPort(u)}`;
  return allowHosts.some((h) => {
    const e = h.toLowerCase();
    return e === host || e === hostPort;
  });
}

/** URL hostname without IPv6 brackets. */
function bareHost(u: URL): string {
  return u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
}

/**
 * Validate a webhook URL (at create/update and before every send): http(s)
 * only, no credentials, and a literal IP must not be in a blocked class
 * unless allowed. Returns the parsed URL.
 */
export function checkWebhookUrl(raw: string, allowHosts: readonly string[]): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new SluiceError(SSRF_ERR.URL_INVALID, `not a URL: ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new SluiceError(SSRF_ERR.URL_INVALID, `only http and https webhooks are allowed, not ${u.protocol}`);
  }
  if (u.username || u.password) throw new SluiceError(SSRF_ERR.URL_INVALID, 'credentials in the webhook URL are not allowed; use the secret');
  if (!u.hostname) throw new SluiceError(SSRF_ERR.URL_INVALID, 'webhook URL has no host');
  const host = bareHost(u);
  if (net.isIP(host) && !isAllowedHost(u, allowHosts)) {
    const cls = blockedClass(host);
    if (cls) throw new SluiceError(SSRF_ERR.BLOCKED, `webhook target ${host} is a ${cls} address (add it to [triggers] allow_hosts to permit it)`);
  }
  return u;
}

export type LookupAddress = { address: string; family: number };
/** The shape of dns.lookup with `{ all: true }`, injectable for tests. */
export type BaseLookup = (hostname: string, cb: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

export const systemLookup: BaseLookup = (hostname, cb) => dns.lookup(hostname, { all: true, verbatim: true }, cb);

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request: resolves through `base`, then refuses the
 * connection if any resolved address is blocked (a name mixing public and
 * private answers is refused as a whole, since the client may pick either).
 */
export function guardedLookup(allowed: boolean, base: BaseLookup = systemLookup) {
  return (hostname: string, options: dns.LookupOptions | number | LookupCallback, callback?: LookupCallback): void => {
    const cb = (typeof options === 'function' ? options : callback)!;
    const opts: dns.LookupOptions = typeof options === 'object' ? options : {};
    base(hostname, (err, addresses) => {
      if (err) return cb(err, []);
      let list = addresses;
      if (opts.family === 4 || opts.family === 6) list = list.filter((a) => a.family === opts.family);
      if (list.length === 0) {
        return cb(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), []);
      }
      if (!allowed) {
        for (const a of list) {
          const cls = blockedClass(a.address);
          if (cls) {
            const e = new SluiceError(SSRF_ERR.BLOCKED, `webhook host ${hostname} resolves to ${a.address}, a ${cls} address`);
            return cb(Object.assign(e, { ssrf: true }) as unknown as NodeJS.ErrnoException, []);
          }
        }
      }
      if (opts.all) cb(null, list);
      else cb(null, list[0]!.address, list[0]!.family);
    });
  };
}
