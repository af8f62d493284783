/**
 * The record: the one shape every stage shares (ARCHITECTURE.md §1). Plain
 * data: `seq` is 0 until the hub assigns it; times are epoch milliseconds
 * (RFC 3339 with milliseconds on the wire). Its bytes are src/wire's.
 */

export const LEVELS = ['trace', 'debug', 'info', 'notice', 'warn', 'error', 'critical', 'alert', 'emergency'] as const;
export type Level = (typeof LEVELS)[number];

/** Where a record came from. `kind` names the source type; the rest is source specific. */
export interface Origin {
  kind: string;
  [key: string]: unknown;
}

export interface LogRecord {
  /** Hub-assigned, monotonic per node; the SSE event id. 0 before the hub. */
  seq: number;
  /** Event time (from the line when present, else `received`), epoch ms. */
  time: number;
  /** When Sluice read it, epoch ms. */
  received: number;
  /** Name of the configured source. */
  source: string;
  /** Stream the record is published on. */
  stream: string;
  origin: Origin;
  host?: string;
  app?: string;
  level?: Level;
  message: string;
  fields: Record<string, unknown>;
  /** The raw line, kept only when a stage needs it. */
  raw?: string;
}

/** What parsers return: the line-derived part of a record. */
export interface ParsedLine {
  time?: number;
  level?: Level;
  message: string;
  fields: Record<string, unknown>;
  host?: string;
  app?: string;
}

const EMPTY_FIELDS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

export function emptyFields(): Record<string, unknown> {
  return EMPTY_FIELDS;
}

/** A level as one byte (0: none, else its index in LEVELS + 1): how records' levels cross threads and sit beside their bytes. */
export const LEVEL_CODE: ReadonlyMap<Level, number> = new Map(LEVELS.map((l, i) => [l, i + 1]));

export function levelOfCode(code: number): Level | undefined {
  return code === 0 ? undefined : LEVELS[code - 1];
}
