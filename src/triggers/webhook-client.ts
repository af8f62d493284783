/**
 * One webhook attempt over node:http(s): the SSRF-guarded lookup, a timeout
 * per phase (connect incl. DNS/TLS, then response headers, then body), no
 * redirects, no connection reuse, and a bounded read of the response for the
 * delivery log. Never throws: the outcome says whether a retry makes sense.
 */
import http from 'node:http';
import https from 'node:https';
import { SluiceError } from '../core/errors.js';
import { checkWebhookUrl, guardedLookup, isAllowedHost, systemLookup, type BaseLookup } from './ssrf.js';

export interface AttemptOptions {
  allowHosts: readonly string[];
  connectTimeoutMs: number;
  timeoutMs: number;
  lookup?: BaseLookup;
  /** Extra TLS options (tests use a self-signed CA). */
  tls?: https.RequestOptions;
}

export interface AttemptResult {
  ok: boolean;
  status: number | null;
  latency_ms: number;
  response_snippet: string | null;
  error: string | null;
  retryable: boolean;
  /** Seconds from a Retry-After header on 429/503, when given. */
  retry_after_s?: number;
}

export const SNIPPET_BYTES = 1024;
/** Stop reading a response after this much; the rest is of no use to us. */
const READ_LIMIT = 64 * 1024;

/** Retry on network trouble and on 408, 429 and 5xx; not on other 4xx or on 3xx (never followed). */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export function postOnce(url: string, body: string, headers: Record<string, string>, opts: AttemptOptions): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
  let u: URL;
  try {
    u = checkWebhookUrl(url, opts.allowHosts);
  } catch (err) {
    return Promise.resolve({ ok: false, status: null, latency_ms: 0, response_snippet: null, error: (err as Error).message, retryable: false });
  }
  const allowed = isAllowedHost(u, opts.allowHosts);
  const isHttps = u.protocol === 'https:';
  const mod = isHttps ? https : http;

  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (r: Omit<AttemptResult, 'latency_ms'>) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      req.destroy();
      resolve({ ...r, latency_ms: elapsed() });
    };
    const phase = (name: string, ms: number) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => finish({ ok: false, status: null, response_snippet: null, error: `timeout: ${name} took longer than ${ms} ms`, retryable: true }), ms);
    };

    const req = mod.request({
      protocol: u.protocol,
      hostname: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
      port: u.port || (isHttps ? 443 : 80),
      path: u.pathname + u.search,
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      agent: false,
      lookup: guardedLookup(allowed, opts.lookup ?? systemLookup) as unknown as typeof import('node:dns').lookup,
      ...(isHttps ? opts.tls : {}),
    });
    phase('connect', opts.connectTimeoutMs);
    req.on('socket', (sock) => {
      sock.once(isHttps ? 'secureConnect' : 'connect', () => phase('response headers', opts.timeoutMs));
    });
    req.on('error', (err) => {
      const ssrf = err instanceof SluiceError || (err as { ssrf?: boolean }).ssrf === true;
      finish({ ok: false, status: null, response_snippet: null, error: err.message, retryable: !ssrf });
    });
    req.on('response', (res) => {
      phase('response body', opts.timeoutMs);
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let got = 0;
      const done = () => {
        const snippet = Buffer.concat(chunks).subarray(0, SNIPPET_BYTES).toString('utf8').replace(/\uFFFD+$/, '');
        const ra = Number(res.headers['retry-after']);
        const base = { status, response_snippet: snippet, retry_after_s: Number.isFinite(ra) && ra >= 0 ? ra : undefined };
        if (status >= 200 && status < 300) finish({ ...base, ok: true, error: null, retryable: false });
        else if (status >= 300 && status < 400) {
          finish({ ...base, ok: false, error: `HTTP ${status}: redirect not followed (Location: ${String(res.headers.location ?? '')})`, retryable: false });
        } else finish({ ...base, ok: false, error: `HTTP ${status}`, retryable: retryableStatus(status) });
      };
      res.on('data', (c: Buffer) => {
        if (got < SNIPPET_BYTES) chunks.push(c);
        got += c.length;
        if (got >= READ_LIMIT) done();
      });
      res.on('end', done);
      res.on('error', (err) => finish({ ok: false, status, response_snippet: null, error: err.message, retryable: true }));
    });
    req.end(body);
  });
}
