/**
 * What the syslog listeners share: their context (config, parse stage,
 * pipeline, lane spec), the one place a bad-input event is counted (the
 * listener's counter and `sluice_dropped_total{stage="syslog",reason}`),
 * the record origin, and the "room" wait of back-pressure.
 */
import type { AddressInfo } from 'node:net';
import type { Pipeline } from '../../core/pipeline.js';
import type { Origin } from '../../core/record.js';
import { LANE_MAX_PENDING, type Lane, type LaneSpec, type ParseStage } from '../../parse/stage.js';
import type { SyslogSourceConfig } from './config.js';
import { reasonCounter, type ListenerCounters, type Reason } from './counters.js';

export type Transport = 'udp' | 'tcp' | 'tls';

export interface ListenerContext {
  cfg: SyslogSourceConfig;
  stage: ParseStage;
  pipeline: Pipeline;
  /** Lanes are made from it (one per TCP/TLS connection, one per UDP socket). */
  spec: LaneSpec;
}

export interface ListenerStatus {
  transport: Transport;
  listen: string;
  /** The bound address (the port when `listen` asked for 0). */
  address: string | null;
  counters: ListenerCounters;
  [extra: string]: unknown;
}

export interface SyslogListener {
  readonly transport: Transport;
  readonly counters: ListenerCounters;
  start(): Promise<void>;
  /** Stop reading; resolves when every frame read was pushed. */
  stop(): Promise<void>;
  status(): ListenerStatus;
}

/** Count a bad-input event of a listener. */
export function countBad(c: ListenerCounters, pipeline: Pipeline, reason: Reason, n = 1): void {
  if (n <= 0) return;
  c[reasonCounter(reason)] += n;
  pipeline.drop('syslog', reason, n);
}

/** "ip:port", IPv6 in brackets. */
export function peerOf(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return 'unknown';
  return address.includes(':') ? `[${address}]:${port ?? 0}` : `${address}:${port ?? 0}`;
}

export function boundOf(a: AddressInfo | string | null): string | null {
  if (a === null) return null;
  return typeof a === 'string' ? a : peerOf(a.address, a.port);
}

/** `origin` of the records of one peer: { kind: "syslog", transport, peer }. */
export function syslogOrigin(transport: Transport, peer: string): Origin {
  return Object.freeze({ kind: 'syslog', transport, peer });
}

/** Split "host:port" (host may be "[v6]" or empty for every interface). */
export function splitListen(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '');
  return { host, port: Number(addr.slice(i + 1)) };
}

/**
 * Back-pressure of one producer: resolves when its lane is below its bound
 * and the pipeline takes batches again (`more` false until then).
 */
export async function room(lane: Lane, pipeline: Pipeline, more: () => boolean): Promise<void> {
  while (lane.pending >= LANE_MAX_PENDING) await lane.oldest();
  if (!more()) await new Promise<void>((resolve) => pipeline.onDrain(resolve));
}

export function mustWait(lane: Lane, more: boolean): boolean {
  return !more || lane.pending >= LANE_MAX_PENDING;
}
