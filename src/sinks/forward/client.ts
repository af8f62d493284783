/**
 * One send of a spooled batch to the central: POST over a kept-alive
 * connection, the SSRF guard on the address (the URL's host may be in
 * `allow_hosts`), one deadline for the whole exchange, and a bounded read of
 * the answer. Never throws: the outcome says whether a retry can help
 * (network trouble, 408, 429, 5xx) and how long the central asked to wait.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { SluiceError } from '../../core/errors.js';
import { blockedClass, guardedLookup, isAllowedHost, SSRF_ERR, systemLookup, type BaseLookup } from '../../triggers/ssrf.js';
import { retryableStatus } from '../../triggers/webhook-client.js';

export interface SendResult {
  ok: boolean;
  status: number | null;
  retryable: boolean;
  error: string | null;
  /** The first bytes of the answer (for the log and the dead-letter note). */
  snippet: string;
  retryAfterMs?: number;
  latencyMs: number;
}

const SNIPPET = 512;

/** Parse and check the URL once (http(s), no credentials, a literal blocked address only when allowed). */
export function checkForwardUrl(raw: string, allowHosts: readonly string[]): URL {
  const u = new URL(raw);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SluiceError(SSRF_ERR.URL_INVALID, `forward url: only http and https, not ${u.protocol}`);
  if (u.username || u.password) throw new SluiceError(SSRF_ERR.URL_INVALID, 'forward url: no credentials in the URL; use `token`');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) && !isAllowedHost(u, allowHosts)) {
    const cls = blockedClass(host);
    if (cls) throw new SluiceError(SSRF_ERR.BLOCKED, `forward url: ${host} is a ${cls} address (add "${u.host}" to this forward's allow_hosts to permit it)`);
  }
  return u;
}

export class ForwardClient {
  readonly #url: URL;
  readonly #allowed: boolean;
  readonly #agent: http.Agent;
  readonly #lookup: BaseLookup;

  constructor(url: string, allowHosts: readonly string[], lookup: BaseLookup = systemLookup) {
    this.#url = checkForwardUrl(url, allowHosts);
    this.#allowed = isAllowedHost(this.#url, allowHosts);
    const isHttps = this.#url.protocol === 'https:';
    this.#agent = isHttps ? new https.Agent({ keepAlive: true, maxSockets: 1 }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.#lookup = lookup;
  }

  send(body: Buffer, headers: Record<string, string>, timeoutMs: number): Promise<SendResult> {
    const u = this.#url;
    const isHttps = u.protocol === 'https:';
    const started = performance.now();
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const finish = (r: Omit<SendResult, 'latencyMs'>): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...r, latencyMs: Math.round((performance.now() - started) * 100) / 100 });
      };
      const req = (isHttps ? https : http).request({
        protocol: u.protocol,
        hostname: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port || (isHttps ? 443 : 80),
        path: u.pathname + u.search,
        method: 'POST',
        headers: { ...headers, 'content-length': String(body.length) },
        agent: this.#agent,
        lookup: guardedLookup(this.#allowed, this.#lookup) as unknown as typeof import('node:dns').lookup,
      });
      const timer = setTimeout(() => {
        finish({ ok: false, status: null, retryable: true, error: `timeout: no answer within ${timeoutMs} ms`, snippet: '' });
        req.destroy();
      }, timeoutMs);
      req.on('error', (err) => {
        const ssrf = err instanceof SluiceError || (err as { ssrf?: boolean }).ssrf === true;
        finish({ ok: false, status: null, retryable: !ssrf, error: err.message, snippet: '' });
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let got = 0;
        res.on('data', (c: Buffer) => {
          if (got < SNIPPET) chunks.push(c);
          got += c.length;
        });
        res.on('end', () => {
          const snippet = Buffer.concat(chunks).subarray(0, SNIPPET).toString('utf8');
          const ra = Number(res.headers['retry-after']);
          const retryAfterMs = Number.isFinite(ra) && ra >= 0 ? ra * 1000 : undefined;
          const ok = status >= 200 && status < 300;
          finish({ ok, status, retryable: !ok && retryableStatus(status), error: ok ? null : `HTTP ${status}`, snippet, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
        });
        res.on('error', (err) => finish({ ok: false, status, retryable: true, error: err.message, snippet: '' }));
      });
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
