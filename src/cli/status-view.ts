/**
 * `sluice status` as text: a human summary of a `/api/status` answer (and,
 * from a second sample, the rate of each source). A pure function of the
 * JSON, tolerant of what an older or newer daemon leaves out or adds: every
 * field is optional, unknown ones are ignored, and text from the daemon
 * (paths, error messages) is cleaned of control characters before it
 * reaches the terminal.
 */

export interface LastErrorJson {
  code?: string;
  message?: string;
  at?: string;
}

export interface SourceJson {
  name?: string;
  type?: string;
  stream?: string;
  state?: string;
  state_since?: string;
  last_error?: LastErrorJson | null;
  paused?: boolean;
  counters?: Record<string, number>;
  files?: { path?: string; offset?: number; size?: number }[];
  containers?: unknown[];
  listeners?: { transport?: string; address?: string }[];
  connections?: number;
}

export interface StreamJson {
  name?: string;
  records?: number;
  sse_clients?: number;
  tcp?: { listen?: string; clients?: unknown[] } | null;
}

export interface SinkJson {
  name?: string;
  stream?: string;
  url?: string;
  path?: string;
  state?: string;
  last_error?: LastErrorJson | null;
  spool_bytes?: number;
  spool_records?: number;
  size?: number;
  counters?: Record<string, number>;
}

export interface StatusJson {
  version?: string;
  uptime_s?: number;
  pid?: number;
  seq?: number;
  sources?: SourceJson[];
  streams?: StreamJson[];
  all_streams_sse_clients?: number;
  drops?: Record<string, number>;
  forward?: SinkJson[];
  archive?: SinkJson[];
  recent_errors?: { at?: string; component?: string; code?: string; message?: string }[];
  rules?: { hits?: number; events_written?: number };
  webhooks?: { delivered?: number; failed?: number; dropped?: number };
}

/** The second sample and the time between the two, for rates. */
export interface Earlier {
  status: StatusJson;
  ms: number;
}

/** At most this many recent errors are shown (the daemon keeps 50). */
const RECENT_SHOWN = 10;
/** At most this many unfinished files are listed under a file source. */
const FILES_SHOWN = 5;

/** Text from the daemon, safe for a terminal: no control characters, no bidi overrides, bounded. */
export function clean(v: unknown, max = 300): string {
  const s = String(v ?? '')
    // eslint-disable-next-line no-control-regex -- removing control characters is the point
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '');
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function duration(s: number): string {
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${sec}s`;
  return `${sec}s`;
}

function rate(perSec: number): string {
  return perSec >= 100 ? String(Math.round(perSec)) : perSec.toFixed(1);
}

/** Lines per second of a source between two samples; undefined when it cannot be known (no sample, a restart). */
export function linesPerSecond(now: SourceJson, earlier: Earlier | undefined): number | undefined {
  if (earlier === undefined || earlier.ms <= 0) return undefined;
  const before = earlier.status.sources?.find((s) => s.name === now.name);
  const a = before?.counters?.lines;
  const b = now.counters?.lines;
  if (typeof a !== 'number' || typeof b !== 'number' || b < a) return undefined;
  return ((b - a) * 1000) / earlier.ms;
}

/** A file source's backlog: bytes read of bytes known, over its open files. */
export function backlog(s: SourceJson): { read: number; known: number } | undefined {
  if (!Array.isArray(s.files)) return undefined;
  let read = 0;
  let known = 0;
  for (const f of s.files) {
    if (typeof f.offset !== 'number' || typeof f.size !== 'number') continue;
    // a file truncated under its offset is read to its (new) end
    read += Math.min(f.offset, f.size);
    known += f.size;
  }
  return { read, known };
}

function lastError(e: LastErrorJson | null | undefined, indent: string): string[] {
  if (!e || (!e.code && !e.message)) return [];
  return [`${indent}last error${e.at ? ` at ${clean(e.at, 40)}` : ''}: ${e.code ? `${clean(e.code, 80)}: ` : ''}${clean(e.message)}`];
}

function table(rows: string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

function sourceLines(s: SourceJson, earlier: Earlier | undefined): string[] {
  const bits: string[] = [];
  const r = linesPerSecond(s, earlier);
  if (r !== undefined) bits.push(`${rate(r)} lines/s`);
  if (typeof s.counters?.lines === 'number') bits.push(`${s.counters.lines} lines`);
  const b = backlog(s);
  if (b !== undefined && s.files!.length > 0) bits.push(`read ${bytes(b.read)} of ${bytes(b.known)}${b.known > 0 ? ` (${Math.floor((b.read / b.known) * 100)}%)` : ''} in ${s.files!.length} file${s.files!.length === 1 ? '' : 's'}`);
  else if (b !== undefined) bits.push('no file matched yet');
  if (Array.isArray(s.containers)) bits.push(`${s.containers.length} container${s.containers.length === 1 ? '' : 's'}`);
  if (Array.isArray(s.listeners) && s.listeners.length) bits.push(`on ${s.listeners.map((l) => `${clean(l.transport, 10)} ${clean(l.address, 80)}`).join(', ')}`);
  if (typeof s.connections === 'number') bits.push(`${s.connections} connection${s.connections === 1 ? '' : 's'}`);
  if (s.paused) bits.push('paused (back-pressure)');
  return bits;
}

/** The summary, one string of lines. */
export function renderStatus(st: StatusJson, o: { url: string; earlier?: Earlier }): string {
  const out: string[] = [];
  const head = [`Sluice ${clean(st.version ?? '?', 40)} at ${o.url}`];
  if (typeof st.uptime_s === 'number') head.push(`up ${duration(st.uptime_s)}`);
  if (typeof st.pid === 'number') head.push(`pid ${st.pid}`);
  if (typeof st.seq === 'number') head.push(`last seq ${st.seq}`);
  out.push(head.join(', '));

  const sources = st.sources ?? [];
  out.push('', `Sources (${sources.length})`);
  if (sources.length === 0) out.push('  none');
  const sourceRows = table(sources.map((s) => [clean(s.name, 60), clean(s.type, 20), clean(s.state ?? '?', 20), sourceLines(s, o.earlier).join(', ')]));
  sources.forEach((s, i) => {
    out.push(sourceRows[i]!);
    if (Array.isArray(s.files) && s.files.length > 1) {
      const behind = s.files.filter((f) => typeof f.offset === 'number' && typeof f.size === 'number' && f.offset < f.size);
      for (const f of behind.slice(0, FILES_SHOWN)) out.push(`      ${clean(f.path, 200)}: ${bytes(f.offset!)} of ${bytes(f.size!)}`);
      if (behind.length > FILES_SHOWN) out.push(`      ... and ${behind.length - FILES_SHOWN} more files behind`);
    }
    out.push(...lastError(s.last_error, '      '));
  });

  const streams = st.streams ?? [];
  out.push('', `Streams (${streams.length})`);
  const rows = streams.map((s) => {
    const tcp = s.tcp ? `, TCP ${clean(s.tcp.listen, 80)}: ${Array.isArray(s.tcp.clients) ? s.tcp.clients.length : 0} clients` : '';
    return [clean(s.name, 60), `${s.records ?? 0} records`, `${s.sse_clients ?? 0} SSE clients${tcp}`];
  });
  out.push(...(rows.length ? table(rows) : ['  none']));
  if (typeof st.all_streams_sse_clients === 'number') out.push(`  all streams (/api/tail/sse): ${st.all_streams_sse_clients} SSE clients`);

  const drops = Object.entries(st.drops ?? {}).filter(([, n]) => typeof n === 'number' && n > 0);
  out.push('', 'Drops (by stage/reason)');
  out.push(...(drops.length ? table(drops.map(([k, n]) => [clean(k, 80), String(n)])) : ['  none']));

  const sinks: [string, SinkJson[] | undefined, (k: SinkJson) => string[]][] = [
    ['Forward', st.forward, (f) => [clean(f.name ?? '?', 60), clean(f.state ?? '?', 20), [f.url ? `to ${clean(f.url, 200)}` : '', typeof f.spool_bytes === 'number' ? `spool ${bytes(f.spool_bytes)} (${f.spool_records ?? 0} records)` : '', typeof f.counters?.records_sent === 'number' ? `${f.counters.records_sent} records sent` : ''].filter(Boolean).join(', ')]],
    ['Archive', st.archive, (a) => [clean(a.stream ?? a.name ?? '?', 60), clean(a.state ?? '?', 20), [a.path ? `to ${clean(a.path, 200)}` : '', typeof a.size === 'number' ? bytes(a.size) : ''].filter(Boolean).join(', ')]],
  ];
  for (const [title, list, row] of sinks) {
    if (!Array.isArray(list) || list.length === 0) continue;
    out.push('', `${title} (${list.length})`);
    const rows = table(list.map(row));
    list.forEach((k, i) => out.push(rows[i]!, ...lastError(k.last_error, '      ')));
  }

  if (st.rules || st.webhooks) {
    const bits = [];
    if (typeof st.rules?.hits === 'number') bits.push(`rules: ${st.rules.hits} hits`);
    if (st.webhooks) bits.push(`webhooks: ${st.webhooks.delivered ?? 0} delivered, ${st.webhooks.failed ?? 0} failed, ${st.webhooks.dropped ?? 0} dropped`);
    if (bits.length) out.push('', bits.join('; '));
  }

  if (Array.isArray(st.recent_errors)) {
    const recent = st.recent_errors.slice(-RECENT_SHOWN);
    out.push('', `Recent errors${st.recent_errors.length > recent.length ? ` (last ${recent.length} of ${st.recent_errors.length})` : ''}`);
    if (recent.length === 0) out.push('  none');
    for (const e of recent) out.push(`  ${clean(e.at, 40)}  ${clean(e.component, 80)}  ${e.code ? `${clean(e.code, 80)}: ` : ''}${clean(e.message)}`);
  }
  return out.join('\n') + '\n';
}
