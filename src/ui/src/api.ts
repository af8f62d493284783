/**
 * The UI's one way to the daemon: JSON calls with the session's bearer token
 * (never in a URL: only the header), errors in the API's documented shape,
 * and one place that reacts to a 401 (back to the token prompt).
 */

const TOKEN_KEY = 'sluice.token';

export type Role = 'admin' | 'viewer';

export function savedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    /* storage disabled: the token lives for this page only */
  }
  current = token;
}

let current: string | null = savedToken();
let onUnauthorized: (message: string) => void = () => undefined;

/** Who hears about a refused token (the app: back to the prompt). */
export function setUnauthorizedHandler(fn: (message: string) => void): void {
  onUnauthorized = fn;
}

export function token(): string | null {
  return current;
}

/** An API error: the HTTP status, the stable code and the server's message (and details). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  try {
    const j = (await res.json()) as { error?: { code?: string; message?: string; details?: unknown } };
    return new ApiError(res.status, j.error?.code ?? `HTTP_${res.status}`, j.error?.message ?? res.statusText, j.error?.details);
  } catch {
    return new ApiError(res.status, `HTTP_${res.status}`, res.statusText || `HTTP ${res.status}`);
  }
}

export function authHeaders(t = current): Record<string, string> {
  return t ? { authorization: `Bearer ${t}` } : {};
}

/** Report a 401 once per call site; the caller still gets the error. */
export function refused(err: ApiError): void {
  if (err.status === 401) onUnauthorized(err.message);
}

export async function api<T>(method: string, path: string, body?: unknown, opts: { signal?: AbortSignal; token?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(opts.token ?? current) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: opts.signal, cache: 'no-store' });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'cannot reach Sluice (network error)');
  }
  if (!res.ok) {
    const e = await errorOf(res);
    if (opts.token === undefined) refused(e);
    throw e;
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const get = <T>(path: string, signal?: AbortSignal) => api<T>('GET', path, undefined, { signal });

/** Query string from the defined, non-empty values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? '?' + s : '';
}

// ---- API shapes (docs/api.md) ----

export interface LogRecordJson {
  seq: number;
  time: string;
  source: string;
  stream: string;
  origin: Record<string, unknown>;
  host?: string;
  app?: string;
  level?: string;
  message: string;
  fields: Record<string, unknown>;
}

export interface StreamInfo {
  name: string;
  sources: string[];
  tcp: string | null;
  records: number;
  first_seq: number | null;
  last_seq: number | null;
  clients: number;
}

export const SEVERITIES = ['info', 'warn', 'error', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const LEVELS = ['trace', 'debug', 'info', 'notice', 'warn', 'error', 'critical', 'alert', 'emergency'] as const;

export interface Rule {
  id: number;
  name: string;
  pattern: string;
  severity: Severity;
  source: string | null;
  overrides: number | null;
  std: 'both' | 'stdout' | 'stderr';
  cooldown_s: number;
  enabled: boolean;
  compile_error?: string;
}

export interface RuleStats {
  hits: number;
  suppressed_by_cooldown: number;
  suppressed_by_bucket: number;
  compile_errors: { rule_id: number; name: string; pattern: string; error: string }[];
  rules: Record<string, { hits: number; suppressed_by_cooldown: number; suppressed_by_bucket: number }>;
}

export interface SluiceEventJson {
  id: number;
  time: string;
  severity: Severity;
  source: string;
  rule_id: number;
  rule_name: string;
  message: string;
  captures: Record<string, string>;
  record_seq: number;
  origin: Record<string, unknown>;
}

export interface Trigger {
  id: number;
  name: string;
  url: string;
  secret: string;
  filter: { severity: Severity[]; source: string[]; message_re: string | null };
  enabled: boolean;
}

export interface Delivery {
  delivery_id: string;
  result: 'ok' | 'failed' | 'dropped';
  status: number | null;
  latency_ms: number | null;
  attempts: number;
  error: string | null;
  response_snippet: string | null;
  test: boolean;
  time: string;
}

export interface TestResult {
  ok: boolean;
  status: number | null;
  latency_ms: number | null;
  response_snippet: string | null;
  error: string | null;
}

export interface Backtest {
  matched: number;
  scanned: number;
  first_seq: number | null;
  last_seq: number | null;
  examples: { seq: number; source: string; stream: string; record: LogRecordJson; captures: Record<string, string> }[];
}
