/**
 * Bench data: a large file of mixed, realistic log lines, generated once and
 * cached under BENCH_DIR (default /tmp/sluice-bench).
 *
 * ~10k distinct templates are built up front from a seeded PRNG (zap and pino
 * JSON, logrus logfmt, RFC 3164 and 5424 syslog, nginx access lines, plain
 * app lines, the occasional multi-KB line and a few Java stack traces). The
 * file is then written by copying template bytes into big Buffers and filling
 * in a 10-digit `seq=` number, so 1 GiB takes a few seconds and every line is
 * unique and numbered (line N carries seq=N, starting at 1) for count checks.
 * A `.meta.json` beside the file records size, line count and the mix; the
 * file is reused when its size matches.
 */

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { BENCH_ROOT, MiB } from './util.js';

/** Bump when the templates change so cached files are regenerated. */
const GEN_VERSION = 4;
const SEED = 0x51_1c_e5;
const TEMPLATE_COUNT = 10_000;
export const SEQ_DIGITS = 10;
/** Marker that precedes the number on every line. */
export const SEQ_MARK = 'seq=';

export type Kind = 'zap' | 'pino' | 'logfmt' | 'rfc3164' | 'rfc5424' | 'nginx' | 'plain' | 'big' | 'stack';

/** A template line: text before and after the 10-digit seq number (no newline). */
export interface LineTemplate {
  kind: Kind;
  pre: string;
  post: string;
}

/** One pick: usually one line, a stack trace is several consecutive lines. */
export type TemplateGroup = LineTemplate[];

export interface Dataset {
  path: string;
  bytes: number;
  lines: number;
  byKind: Record<string, number>;
  /** Longest line in bytes (rsyslog's maxMessageSize must exceed it). */
  maxLineBytes: number;
  generatedMs: number;
  reused: boolean;
}

// ---------------------------------------------------------------- PRNG and vocab

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const pick = <T>(r: Rng, a: readonly T[]): T => a[Math.floor(r() * a.length)];
const int = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const hex = (r: Rng, n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(r() * 16)];
  return s;
};

const HOSTS = ['web-1', 'web-2', 'web-3', 'api-7f9c4', 'worker-0', 'worker-1', 'db-primary', 'edge-lon-2', 'ip-10-0-3-17', 'build-agent-4'];
const APPS = ['api', 'auth', 'billing', 'orders', 'search', 'mailer', 'scheduler', 'gateway', 'inventory', 'payments'];
const DAEMONS = ['sshd', 'CRON', 'systemd', 'kernel', 'sudo', 'dhclient', 'postfix/smtpd', 'nginx', 'dockerd', 'containerd'];
const PATHS = ['/api/v1/users', '/api/v1/orders', '/api/v2/search', '/healthz', '/static/app.js', '/login', '/api/v1/items', '/metrics', '/api/v1/carts', '/graphql'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
const STATUSES = [200, 200, 200, 200, 201, 204, 301, 304, 400, 401, 403, 404, 429, 500, 502, 503];
const UAS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'curl/8.5.0',
  'Go-http-client/1.1',
  'kube-probe/1.29',
  'python-requests/2.31.0',
];
const LEVEL_WORDS = ['debug', 'info', 'info', 'info', 'info', 'warn', 'error'] as const;
const PINO_LEVELS: Record<string, number> = { debug: 20, info: 30, warn: 40, error: 50 };
const LOGRUS_LEVELS: Record<string, string> = { debug: 'debug', info: 'info', warn: 'warning', error: 'error' };
const MESSAGES = [
  'request completed',
  'user logged in',
  'cache miss for key',
  'retrying upstream call',
  'connection pool exhausted, waiting',
  'payment authorised',
  'order placed',
  'failed to decode body',
  'slow query detected',
  'token refreshed',
  'scheduled job started',
  'scheduled job finished',
  'rate limit exceeded for client',
  'upstream returned 503',
  'config reloaded',
  'webhook delivered',
  'message published to queue',
  'session expired',
  'file uploaded',
  'débit refusé pour le compte café',
  'ユーザーがログインしました',
  'disk usage above 85% on /var',
];
const SYSLOG_MSGS = [
  'Accepted publickey for deploy from 10.0.4.21 port 51234 ssh2: ED25519 SHA256:Xk2b',
  'pam_unix(sudo:session): session opened for user root(uid=0) by deploy(uid=1001)',
  '(root) CMD (   cd / && run-parts --report /etc/cron.hourly)',
  'Started Daily apt download activities.',
  'eth0: Link is Up - 10Gbps Full Duplex, Flow Control: None',
  'DHCPACK of 10.0.3.17 from 10.0.0.1',
  'connect from unknown[203.0.113.9]',
  'Out of memory: Killed process 4123 (java) total-vm:8123456kB',
  'Failed password for invalid user admin from 198.51.100.23 port 40022 ssh2',
  'container 3f9a2c1b7d exited with code 137',
];
const JAVA_CLASSES = ['com.example.orders.OrderService', 'com.example.api.UserController', 'org.springframework.web.servlet.FrameworkServlet', 'com.zaxxer.hikari.pool.HikariPool', 'java.base/java.util.concurrent.ThreadPoolExecutor'];
const EXCEPTIONS = ['java.lang.NullPointerException: Cannot invoke "String.length()" because "name" is null', 'java.lang.IllegalStateException: Order already settled', 'java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms.', 'java.util.concurrent.TimeoutException: upstream inventory did not answer in 5s'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const BASE_EPOCH_MS = Date.UTC(2024, 5, 1, 0, 0, 0);

const SEQ = '@@SEQ@@';

function split(kind: Kind, text: string): LineTemplate {
  const i = text.indexOf(SEQ);
  if (i < 0) throw new Error('template without seq: ' + text);
  return { kind, pre: text.slice(0, i) + SEQ_MARK, post: text.slice(i + SEQ.length) };
}

function timeParts(r: Rng) {
  const ms = BASE_EPOCH_MS + Math.floor(r() * 86_400_000);
  const d = new Date(ms);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return {
    ms,
    iso: d.toISOString(),
    isoMicro: d.toISOString().replace('Z', String(int(r, 0, 999)).padStart(3, '0') + 'Z'),
    plain: `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())},${String(d.getUTCMilliseconds()).padStart(3, '0')}`,
    bsd: `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`,
    clf: `${p2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`,
  };
}

// ---------------------------------------------------------------- templates

function zap(r: Rng): LineTemplate {
  const t = timeParts(r);
  const lvl = pick(r, LEVEL_WORDS);
  const method = pick(r, METHODS);
  const obj = {
    level: lvl,
    ts: t.ms / 1000 + int(r, 0, 999) / 1e6,
    caller: `${pick(r, APPS)}/${pick(r, ['handler', 'server', 'store', 'client'])}.go:${int(r, 20, 900)}`,
    msg: `${pick(r, MESSAGES)} ${SEQ}`,
    method,
    path: `${pick(r, PATHS)}/${int(r, 1, 99999)}`,
    status: pick(r, STATUSES),
    latency: int(r, 1, 5000) / 10,
    request_id: hex(r, 16),
  };
  return split('zap', JSON.stringify(obj));
}

function pino(r: Rng): LineTemplate {
  const t = timeParts(r);
  const lvl = pick(r, LEVEL_WORDS);
  const obj: Record<string, unknown> = {
    level: PINO_LEVELS[lvl],
    time: t.ms,
    pid: int(r, 100, 65000),
    hostname: pick(r, HOSTS),
    reqId: `req-${int(r, 1, 999999)}`,
    msg: `${pick(r, MESSAGES)} ${SEQ}`,
  };
  if (r() < 0.5) obj.res = { statusCode: pick(r, STATUSES) };
  if (r() < 0.3) obj.user = { id: int(r, 1, 1e6), plan: pick(r, ['free', 'pro', 'team']) };
  if (r() < 0.1) obj.tags = ['checkout', 'mobile'];
  return split('pino', JSON.stringify(obj));
}

function logfmt(r: Rng): LineTemplate {
  const t = timeParts(r);
  const lvl = pick(r, LEVEL_WORDS);
  const extra = r() < 0.5 ? ` duration=${int(r, 1, 9000)}ms` : ` key=user:${int(r, 1, 99999)} hit=${r() < 0.5}`;
  return split('logfmt', `time="${t.iso}" level=${LOGRUS_LEVELS[lvl]} msg="${pick(r, MESSAGES)} ${SEQ}" component=${pick(r, APPS)}${extra} host=${pick(r, HOSTS)}`);
}

function rfc3164(r: Rng): LineTemplate {
  const t = timeParts(r);
  const pri = int(r, 0, 23) * 8 + int(r, 0, 7);
  const daemon = pick(r, DAEMONS);
  const pid = daemon === 'kernel' ? '' : `[${int(r, 100, 65000)}]`;
  return split('rfc3164', `<${pri}>${t.bsd} ${pick(r, HOSTS)} ${daemon}${pid}: ${pick(r, SYSLOG_MSGS)} ${SEQ}`);
}

function rfc5424(r: Rng): LineTemplate {
  const t = timeParts(r);
  const pri = int(r, 0, 23) * 8 + int(r, 0, 7);
  const sd = r() < 0.6 ? `[exampleSDID@32473 iut="${int(r, 1, 9)}" eventSource="${pick(r, APPS)}" eventID="${int(r, 1000, 9999)}"]` : '-';
  return split('rfc5424', `<${pri}>1 ${t.isoMicro} ${pick(r, HOSTS)}.example.com ${pick(r, APPS)} ${int(r, 100, 65000)} ID${int(r, 1, 99)} ${sd} ${pick(r, [...MESSAGES, ...SYSLOG_MSGS])} ${SEQ}`);
}

function nginx(r: Rng): LineTemplate {
  const t = timeParts(r);
  const ip = `${int(r, 1, 223)}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`;
  const ref = r() < 0.6 ? '-' : `https://shop.example.com${pick(r, PATHS)}`;
  return split('nginx', `${ip} - ${r() < 0.8 ? '-' : 'alice'} [${t.clf}] "${pick(r, METHODS)} ${pick(r, PATHS)}/${int(r, 1, 9999)}?${SEQ} HTTP/1.1" ${pick(r, STATUSES)} ${int(r, 0, 90000)} "${ref}" "${pick(r, UAS)}" rt=${(int(r, 1, 3000) / 1000).toFixed(3)}`);
}

function plain(r: Rng): LineTemplate {
  const t = timeParts(r);
  const lvl = pick(r, ['DEBUG', 'INFO ', 'INFO ', 'INFO ', 'WARN ', 'ERROR']);
  return split('plain', `${t.plain} ${lvl} [${pick(r, ['main', 'worker-3', 'http-nio-8080-exec-7', 'scheduler-1', 'kafka-consumer-2'])}] ${pick(r, JAVA_CLASSES)} - ${pick(r, MESSAGES)} id=${int(r, 1, 1e7)} ${SEQ}`);
}

function big(r: Rng): LineTemplate {
  const size = int(r, 2048, 16384);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let blob = '';
  while (blob.length < size) blob += alphabet[Math.floor(r() * 64)];
  if (r() < 0.5) {
    const t = timeParts(r);
    return split('big', JSON.stringify({ level: 'debug', ts: t.ms / 1000, msg: `response body dump ${SEQ}`, body: blob, content_type: 'application/octet-stream' }));
  }
  const t = timeParts(r);
  return split('big', `${t.plain} DEBUG [http-nio-8080-exec-2] com.example.api.AuditFilter - request headers and body: ${blob} ${SEQ}`);
}

function stack(r: Rng): TemplateGroup {
  const t = timeParts(r);
  const lines: LineTemplate[] = [split('stack', `${t.plain} ERROR [http-nio-8080-exec-${int(r, 1, 20)}] ${pick(r, JAVA_CLASSES)} - Unhandled exception while processing request ${SEQ}`)];
  lines.push(split('stack', `${pick(r, EXCEPTIONS)} ${SEQ}`));
  const depth = int(r, 4, 12);
  for (let i = 0; i < depth; i++) {
    const cls = pick(r, JAVA_CLASSES);
    const file = cls.split('.').pop()!;
    lines.push(split('stack', `\tat ${cls}.${pick(r, ['run', 'invoke', 'doFilter', 'handle', 'place', 'getConnection'])}(${file}.java:${int(r, 10, 900)}) ${SEQ}`));
  }
  if (r() < 0.5) lines.push(split('stack', `\t... ${int(r, 5, 60)} more ${SEQ}`));
  return lines;
}

/**
 * The template set, in pick order. Weights (per pick): zap 18%, pino 14%,
 * logfmt 18%, rfc3164 10%, rfc5424 8%, nginx 17%, plain ~14.6%, stack 0.3%
 * (several lines each), big 0.05% (about one line in 2,000).
 */
export function buildTemplates(count = TEMPLATE_COUNT, seed = SEED): TemplateGroup[] {
  const r = mulberry32(seed);
  const out: TemplateGroup[] = [];
  for (let i = 0; i < count; i++) {
    const x = r();
    if (x < 0.18) out.push([zap(r)]);
    else if (x < 0.32) out.push([pino(r)]);
    else if (x < 0.5) out.push([logfmt(r)]);
    else if (x < 0.6) out.push([rfc3164(r)]);
    else if (x < 0.68) out.push([rfc5424(r)]);
    else if (x < 0.85) out.push([nginx(r)]);
    else if (x < 0.9965) out.push([plain(r)]);
    else if (x < 0.9995) out.push(stack(r));
    else out.push([big(r)]);
  }
  return out;
}

/** Render one template line with its number (no newline). */
export function renderLine(t: LineTemplate, seq: number): string {
  return t.pre + String(seq).padStart(SEQ_DIGITS, '0') + t.post;
}

/** Single-line templates only: realistic filler for the latency and fan-out benches. */
export function sampleTemplates(count = 1000): LineTemplate[] {
  return buildTemplates(count, SEED + 1)
    .filter((g) => g.length === 1 && g[0].kind !== 'big')
    .map((g) => g[0]);
}

// ---------------------------------------------------------------- the file

export function datasetPath(sizeMB: number): string {
  const name = sizeMB % 1024 === 0 ? `mixed-${sizeMB / 1024}g.log` : `mixed-${sizeMB}m.log`;
  return path.join(BENCH_ROOT, name);
}

interface Meta {
  version: number;
  targetBytes: number;
  bytes: number;
  lines: number;
  byKind: Record<string, number>;
  maxLineBytes: number;
}

/** The cached dataset of at least `sizeMB` MiB, generated when missing or stale. */
export function ensureDataset(sizeMB: number, log: (s: string) => void = () => {}): Dataset {
  const file = datasetPath(sizeMB);
  const metaFile = file + '.meta.json';
  const targetBytes = Math.round(sizeMB * MiB);
  if (existsSync(file) && existsSync(metaFile)) {
    try {
      const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as Meta;
      if (meta.version === GEN_VERSION && meta.targetBytes === targetBytes && statSync(file).size === meta.bytes) {
        return { path: file, bytes: meta.bytes, lines: meta.lines, byKind: meta.byKind, maxLineBytes: meta.maxLineBytes, generatedMs: 0, reused: true };
      }
    } catch {
      /* regenerate */
    }
  }
  mkdirSync(BENCH_ROOT, { recursive: true });
  log(`generating ${file} (${sizeMB} MiB) ...`);
  const t0 = performance.now();
  const meta = writeDataset(file + '.tmp', targetBytes);
  renameSync(file + '.tmp', file);
  writeFileSync(metaFile, JSON.stringify(meta, null, 2) + '\n');
  const generatedMs = performance.now() - t0;
  log(`generated ${meta.lines.toLocaleString('en-US')} lines, ${(meta.bytes / MiB).toFixed(1)} MiB in ${(generatedMs / 1000).toFixed(1)} s`);
  return { path: file, bytes: meta.bytes, lines: meta.lines, byKind: meta.byKind, maxLineBytes: meta.maxLineBytes, generatedMs, reused: false };
}

function writeDataset(file: string, targetBytes: number): Meta {
  const groups = buildTemplates();
  // Pre-encode every template once; the loop only copies bytes and digits.
  const enc = groups.map((g) => g.map((t) => ({ kind: t.kind, pre: Buffer.from(t.pre), post: Buffer.from(t.post + '\n') })));
  let maxLineBytes = 0;
  for (const g of enc) for (const t of g) maxLineBytes = Math.max(maxLineBytes, t.pre.length + SEQ_DIGITS + t.post.length - 1);
  const kinds: Kind[] = [];
  const kindIndex = new Map<Kind, number>();
  for (const g of enc) for (const t of g) if (!kindIndex.has(t.kind)) kindIndex.set(t.kind, kinds.push(t.kind) - 1);
  const encIdx = enc.map((g) => g.map((t) => kindIndex.get(t.kind)!));
  const perKind = new Float64Array(kinds.length);

  const CHUNK = 16 * MiB;
  const slack = 64 * 1024;
  const buf = Buffer.allocUnsafe(CHUNK + slack);
  const r = mulberry32(SEED ^ 0xabcdef);
  const fd = openSync(file, 'w');
  let written = 0;
  let pos = 0;
  let seq = 0;
  try {
    while (written + pos < targetBytes) {
      const gi = Math.floor(r() * enc.length);
      const g = enc[gi];
      const gk = encIdx[gi];
      for (let li = 0; li < g.length; li++) {
        const t = g[li];
        seq++;
        pos += t.pre.copy(buf, pos);
        let v = seq;
        for (let d = SEQ_DIGITS - 1; d >= 0; d--) {
          buf[pos + d] = 48 + (v % 10);
          v = Math.floor(v / 10);
        }
        pos += SEQ_DIGITS;
        pos += t.post.copy(buf, pos);
        perKind[gk[li]]++;
      }
      if (pos >= CHUNK) {
        writeAll(fd, buf, pos);
        written += pos;
        pos = 0;
      }
    }
    if (pos > 0) writeAll(fd, buf, pos);
    written += pos;
  } finally {
    closeSync(fd);
  }
  const byKind: Record<string, number> = {};
  kinds.forEach((k, i) => (byKind[k] = perKind[i]));
  return { version: GEN_VERSION, targetBytes, bytes: written, lines: seq, byKind, maxLineBytes };
}

function writeAll(fd: number, buf: Buffer, len: number): void {
  let off = 0;
  while (off < len) off += writeSync(fd, buf, off, len - off);
}

// Standalone: `node --import tsx bench/gen.ts [MiB]` generates (or reports) the file.
if (import.meta.url === `file://${process.argv[1]}`) {
  const mb = Number(process.argv[2] ?? process.env.BENCH_SIZE_MB ?? 1024);
  const ds = ensureDataset(mb, console.log);
  console.log(JSON.stringify(ds, null, 2));
}
