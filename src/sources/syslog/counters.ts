/**
 * The syslog source's counters: plain numbers (read by /api/status and, as
 * `sluice_source_events_total{counter}`, by /metrics at scrape time), one
 * set for the source and one per listener. Every bad-input reason is also a
 * `sluice_dropped_total{stage="syslog",reason}` (see `REASONS`).
 */
import type { StageCounters } from '../../parse/stage.js';

/** Bounded reasons, each a counter here and a `sluice_dropped_total{stage="syslog",reason}`. */
export const REASONS = [
  'oversize',
  'parse_error',
  'invalid_utf8',
  'bad_octet_count',
  'incomplete',
  'idle_timeout',
  'max_connections',
  'tls_error',
  'socket_error',
  'udp_overflow',
  'kernel',
] as const;
export type Reason = (typeof REASONS)[number];

export interface ListenerCounters {
  connections: number;
  connections_active: number;
  connections_refused: number;
  datagrams: number;
  bytes: number;
  frames: number;
  oversize: number;
  parse_error: number;
  invalid_utf8: number;
  bad_octet_count: number;
  incomplete: number;
  idle_timeout: number;
  tls_error: number;
  socket_error: number;
  udp_overflow: number;
  /** Datagrams the kernel dropped on this socket (the `drops` column of /proc/net/udp). */
  kernel_drops: number;
  /** Times a connection was paused because the parse stage or the pipeline was full. */
  paused: number;
}

export function newListenerCounters(): ListenerCounters {
  return {
    connections: 0,
    connections_active: 0,
    connections_refused: 0,
    datagrams: 0,
    bytes: 0,
    frames: 0,
    oversize: 0,
    parse_error: 0,
    invalid_utf8: 0,
    bad_octet_count: 0,
    incomplete: 0,
    idle_timeout: 0,
    tls_error: 0,
    socket_error: 0,
    udp_overflow: 0,
    kernel_drops: 0,
    paused: 0,
  };
}

/** The counter each reason adds to (`max_connections` refusals are `connections_refused`, kernel drops `kernel_drops`). */
export function reasonCounter(r: Reason): keyof ListenerCounters {
  if (r === 'max_connections') return 'connections_refused';
  if (r === 'kernel') return 'kernel_drops';
  return r;
}

export function newStageCounters(): StageCounters {
  return { lines: 0, records: 0, parsed_inline: 0, push_errors: 0 };
}

/** The listeners' counters summed (the source's own view). */
export function sumCounters(list: readonly ListenerCounters[]): ListenerCounters {
  const out = newListenerCounters();
  for (const c of list) for (const k in c) out[k as keyof ListenerCounters] += c[k as keyof ListenerCounters];
  return out;
}
