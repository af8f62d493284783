/**
 * The HTTP client side of the commands that talk to a running Sluice
 * (`sluice tail`, `sluice status`): the base URL as users type it (a missing
 * scheme means http), requests with the bearer token, and every failure
 * classified once: what it says, whether a retry can help, and the exit code.
 *
 * Exit codes (docs/operations.md, "Command line"): 0 ok, 1 invalid input (the
 * server refused the request as invalid, or its answer was not understood),
 * 2 usage (a bad URL), 3 the token was refused or missing (401, 403), 4 not
 * found (404: no such stream, or the URL is not a Sluice's base URL),
 * 5 unreachable (refused, reset, DNS, timeout, TLS, 5xx) once the retries
 * allowed are spent.
 */
import { defineError, SluiceError, type ErrorDef } from '../core/errors.js';

export const EXIT = { OK: 0, INVALID: 1, USAGE: 2, DENIED: 3, NOT_FOUND: 4, UNREACHABLE: 5 } as const;

export const CLIENT_ERR = {
  URL: defineError('SLUICE_ERR_CLIENT_URL', 400, 'invalid URL'),
  REQUEST: defineError('SLUICE_ERR_CLIENT_REQUEST', 400, 'the server refused the request'),
  UNAUTHORIZED: defineError('SLUICE_ERR_CLIENT_UNAUTHORIZED', 401, 'the server wants a valid token'),
  FORBIDDEN: defineError('SLUICE_ERR_CLIENT_FORBIDDEN', 403, 'the token may not do that'),
  NOT_FOUND: defineError('SLUICE_ERR_CLIENT_NOT_FOUND', 404, 'not found'),
  UNREACHABLE: defineError('SLUICE_ERR_CLIENT_UNREACHABLE', 503, 'the server cannot be reached'),
  ANSWER: defineError('SLUICE_ERR_CLIENT_ANSWER', 502, 'the answer was not understood'),
} as const;

const EXIT_OF = new Map<ErrorDef, number>([
  [CLIENT_ERR.URL, EXIT.USAGE],
  [CLIENT_ERR.REQUEST, EXIT.INVALID],
  [CLIENT_ERR.UNAUTHORIZED, EXIT.DENIED],
  [CLIENT_ERR.FORBIDDEN, EXIT.DENIED],
  [CLIENT_ERR.NOT_FOUND, EXIT.NOT_FOUND],
  [CLIENT_ERR.UNREACHABLE, EXIT.UNREACHABLE],
  [CLIENT_ERR.ANSWER, EXIT.INVALID],
]);

export class ClientError extends SluiceError {
  /** A later attempt may succeed (refused, reset, timeout, 5xx, 429); else give up at once. */
  readonly retryable: boolean;
  readonly exitCode: number;
  constructor(def: ErrorDef, message: string, retryable: boolean) {
    super(def, message);
    this.name = 'ClientError';
    this.retryable = retryable;
    this.exitCode = EXIT_OF.get(def) ?? EXIT.INVALID;
  }
}

/** Which Sluice and with which token; `tokenFrom` names where the token came from (never the token). */
export interface Target {
  base: URL;
  token?: string;
  tokenFrom?: string;
  /** Said with a 401 when no token was found: where one was looked for. */
  tokenHint?: string;
}

/**
 * A base URL as typed: `127.0.0.1:8080`, `localhost:8080` and `host` are
 * http; http and https only; a path is kept (a Sluice behind a proxy prefix),
 * a query or fragment is refused.
 */
export function parseBaseUrl(input: string): URL {
  const text = input.trim();
  if (text === '') throw new ClientError(CLIENT_ERR.URL, 'invalid URL: empty', false);
  // "localhost:8080" parses as a URL of scheme "localhost:": a scheme counts only with "//"
  const withScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ClientError(CLIENT_ERR.URL, `invalid URL "${text}" (expected e.g. http://127.0.0.1:8080 or 127.0.0.1:8080)`, false);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ClientError(CLIENT_ERR.URL, `invalid URL "${text}": only http:// and https:// are supported`, false);
  if (url.username || url.password) throw new ClientError(CLIENT_ERR.URL, 'invalid URL: credentials in the URL are not used; give the token with --token or SLUICE_TOKEN', false);
  if (url.search || url.hash) throw new ClientError(CLIENT_ERR.URL, `invalid URL "${text}": give the Sluice's base URL, without a query or fragment`, false);
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/** `base` + an API path (the base's own path, if any, comes first). */
export function endpoint(base: URL, path: string): string {
  return `${base.origin}${base.pathname.replace(/\/+$/, '')}${path}`;
}

/** host:port as a refused connection names it (the port even when it is the scheme's default). */
export function hostPort(base: URL): string {
  return `${base.hostname}:${base.port || (base.protocol === 'https:' ? '443' : '80')}`;
}

interface NetCause {
  code?: string;
  message?: string;
  errors?: NetCause[];
}

const RETRYABLE_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED']);

/** A thrown fetch or body-read error as a ClientError (a ClientError passes through). */
export function networkError(err: unknown, base: URL): ClientError {
  if (err instanceof ClientError) return err;
  const e = err as Error & { cause?: NetCause; code?: string };
  if (e?.name === 'TimeoutError') return new ClientError(CLIENT_ERR.UNREACHABLE, `no answer from ${hostPort(base)} in time`, true);
  // fetch wraps the socket's error in `cause`; connecting to a name with several addresses gives an AggregateError
  const cause: NetCause = e?.cause ?? e ?? {};
  const code = cause.code ?? cause.errors?.find((x) => x.code)?.code ?? e?.code;
  const where = hostPort(base);
  switch (code) {
    case 'ECONNREFUSED':
      return new ClientError(CLIENT_ERR.UNREACHABLE, `connection refused to ${where}`, true);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new ClientError(CLIENT_ERR.UNREACHABLE, `connection to ${where} closed by the other side`, true);
    case 'ENOTFOUND':
      return new ClientError(CLIENT_ERR.UNREACHABLE, `cannot resolve host "${base.hostname}"`, false);
    case 'EAI_AGAIN':
      return new ClientError(CLIENT_ERR.UNREACHABLE, `cannot resolve host "${base.hostname}" (DNS not answering)`, true);
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new ClientError(CLIENT_ERR.UNREACHABLE, `connection to ${where} timed out`, true);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
      return new ClientError(CLIENT_ERR.UNREACHABLE, `${where} is unreachable (${code})`, true);
  }
  const detail = cause.message && cause.message !== e?.message ? `${e?.message ?? ''}: ${cause.message}` : (e?.message ?? String(err));
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') return new ClientError(CLIENT_ERR.UNREACHABLE, `${where} does not speak TLS (http:// instead of https://?)`, false);
  if (typeof code === 'string' && /CERT|SSL|TLS|SIGNATURE/.test(code)) {
    return new ClientError(CLIENT_ERR.UNREACHABLE, `TLS to ${where} failed: ${(cause.message ?? '').split('\n')[0] || code} (${code}; a private CA: NODE_EXTRA_CA_CERTS=ca.pem)`, false);
  }
  // the fetch standard's "bad ports" (1, 25, 6000, ...) are refused before any connection
  if (cause.message === 'bad port') return new ClientError(CLIENT_ERR.URL, `invalid URL: port ${base.port} is one fetch never connects to (the fetch standard's bad ports)`, false);
  if (typeof code === 'string' && code.startsWith('HPE_')) {
    return new ClientError(CLIENT_ERR.UNREACHABLE, `${where} did not answer in HTTP (${code}; https:// for a TLS listener?)`, false);
  }
  return new ClientError(CLIENT_ERR.UNREACHABLE, `${where}: ${detail}${code ? ` (${code})` : ''}`, code === undefined || RETRYABLE_NET.has(code));
}

/** The `{"error":{"code","message"}}` of a Sluice answer, as "CODE: message" (or the start of the body). */
async function answerText(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error?.message) return body.error.code ? `${body.error.code}: ${body.error.message}` : body.error.message;
  } catch {
    /* not a Sluice error body */
  }
  const short = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return short || res.statusText || 'no body';
}

/** A non-2xx answer as a ClientError. */
export async function statusError(res: Response, target: Target, path: string): Promise<ClientError> {
  const what = `${res.status} from ${endpoint(target.base, path)}`;
  const body = await answerText(res);
  if (res.status === 401) {
    const why = target.token === undefined ? `no token was found (${target.tokenHint ?? 'give one with --token or SLUICE_TOKEN'})` : `the token from ${target.tokenFrom ?? '--token'} was refused`;
    return new ClientError(CLIENT_ERR.UNAUTHORIZED, `${what}: ${why} (${body})`, false);
  }
  if (res.status === 403) return new ClientError(CLIENT_ERR.FORBIDDEN, `${what}: the token from ${target.tokenFrom ?? '--token'} may not do this (${body})`, false);
  if (res.status === 404) return new ClientError(CLIENT_ERR.NOT_FOUND, `${what}: ${body}${/API_NOT_FOUND|no route/.test(body) || !body.startsWith('SLUICE_ERR_') ? ' (is the URL the base URL of a Sluice?)' : ''}`, false);
  if (res.status === 429 || res.status >= 500) return new ClientError(CLIENT_ERR.UNREACHABLE, `${what}: ${body}`, true);
  return new ClientError(CLIENT_ERR.REQUEST, `${what}: ${body}`, false);
}

export interface RequestOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Limit on the whole request including the body (not for streams). */
  timeoutMs?: number;
}

/** GET `path` from the target with its token; a 2xx Response, else a ClientError. */
export async function request(target: Target, path: string, o: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...o.headers };
  if (target.token !== undefined) headers.Authorization = `Bearer ${target.token}`;
  const signals = [o.signal, o.timeoutMs !== undefined ? AbortSignal.timeout(o.timeoutMs) : undefined].filter((s): s is AbortSignal => s !== undefined);
  let res: Response;
  try {
    res = await fetch(endpoint(target.base, path), { headers, signal: signals.length ? AbortSignal.any(signals) : undefined, redirect: 'manual' });
  } catch (err) {
    if (o.signal?.aborted) throw err;
    throw networkError(err, target.base);
  }
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel();
    throw new ClientError(CLIENT_ERR.REQUEST, `${res.status} from ${endpoint(target.base, path)}: redirected to ${res.headers.get('location') ?? '?'} (give that base URL instead)`, false);
  }
  if (!res.ok) throw await statusError(res, target, path);
  return res;
}

/** GET JSON from the target (10 s limit by default). */
export async function getJson<T>(target: Target, path: string, o: RequestOptions = {}): Promise<T> {
  const res = await request(target, path, { timeoutMs: 10_000, ...o, headers: { Accept: 'application/json', ...o.headers } });
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw networkError(err, target.base);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ClientError(CLIENT_ERR.ANSWER, `${endpoint(target.base, path)} did not answer JSON (is the URL the base URL of a Sluice?)`, false);
  }
}

/** Backoff for retries: 0.5 s doubling to 10 s. */
export function nextDelay(ms: number): number {
  return Math.min(ms * 2, 10_000);
}

export const FIRST_DELAY_MS = 500;

/** Wait `ms`, or less if the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Run `attempt` until it succeeds, retrying only retryable failures, at most
 * `maxRetries` times in a row (Infinity: until aborted), with backoff.
 */
export async function withRetries<T>(attempt: () => Promise<T>, o: { maxRetries: number; base: URL; signal?: AbortSignal; onRetry?: (e: ClientError, delayMs: number) => void }): Promise<T> {
  let delay = FIRST_DELAY_MS;
  for (let failures = 0; ; ) {
    try {
      return await attempt();
    } catch (err) {
      const e = networkError(err, o.base);
      if (!e.retryable || failures >= o.maxRetries || o.signal?.aborted) throw e;
      failures++;
      o.onRetry?.(e, delay);
      await sleep(delay, o.signal);
      delay = nextDelay(delay);
    }
  }
}

/** How a command reports a ClientError: its code and message on stderr; the exit code. */
export function report(command: string, err: ClientError, retries?: number): number {
  const tail = retries ? ` (gave up after ${retries} ${retries === 1 ? 'retry' : 'retries'})` : '';
  process.stderr.write(`sluice ${command}: ${err.code}: ${err.message}${tail}\n`);
  return err.exitCode;
}
