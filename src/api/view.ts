/**
 * What the HTTP API sees of the running daemon: a narrow view, so routes do
 * not reach into main.ts's wiring.
 */
import type { Hub } from '../hub/hub.js';
import type { Metrics } from '../core/metrics.js';
import type { SourceStatus } from '../core/pipeline.js';
import type { Config } from '../config/schema.js';
import type { TcpClientInfo } from '../sinks/tcp/server.js';

export interface ReloadResult {
  ok: boolean;
  problems?: string[];
  changed?: string[];
  restart_required?: string[];
}

export interface DaemonView {
  readonly version: string;
  readonly startedAt: number;
  hub(): Hub;
  /** What live clients and /api/records read: the hub, or on a role = "server" the cluster's live tail (bus/tail.ts). */
  liveHub?(): Hub;
  metrics(): Metrics;
  config(): Config;
  sources(): SourceStatus[];
  tcpOutputs(): { stream: string; listen: string; clients: TcpClientInfo[] }[];
  reload(): Promise<ReloadResult>;
  /** Status of other components (rules, webhooks), merged into /api/status. */
  extraStatus(): Record<string, unknown>;
  /** A source's transform chain with per-transform counters (GET /api/sources/{name}); [] without transforms. */
  transformChain?(source: string): unknown[];
}
