/**
 * A JetStream records message's NDJSON (wire records of one agent's batch,
 * bus/jetstream.ts) back into records for this server's pipeline. Unlike
 * HTTP ingest (sources/records/record.ts), which makes a posted record its
 * own source's, a record from the bus stays what it was on the agent: its
 * source, stream, origin, host, app, level, time and fields; only `seq` is
 * this server's. The agent's id and seq go into `origin.agent` and
 * `origin.agent_seq`: together they name the record across the cluster
 * (what a later dedupe by record identity keys on). A line that is not a
 * wire record is counted and skipped, never guessed at.
 */
import { LEVELS, type Level, type LogRecord } from '../../core/record.js';
import { forbiddenKeyPath } from '../../api/json-body.js';
import { LineSplitter } from '../../framing/lines.js';

const LEVEL_SET: ReadonlySet<string> = new Set(LEVELS);

export interface Decoded {
  records: LogRecord[];
  /** Lines that were not wire records. */
  bad: number;
}

/**
 * The message's bytes, decoded line by line the way the line splitter does
 * (framing/lines.ts): decoding a whole message at once takes V8's slow path
 * for all of it when a few lines are not ASCII (bench/cluster.ts).
 */
export function decodeRecords(bytes: Buffer, agent: string, now: number): Decoded {
  const records: LogRecord[] = [];
  let bad = 0;
  if (bytes.length === 0) return { records, bad };
  const sp = new LineSplitter({
    maxLineBytes: bytes.length,
    onLine: (line) => {
      if (line.length === 0) return;
      const r = decodeLine(line, agent, now);
      if (r === undefined) bad++;
      else records.push(r);
    },
  });
  sp.push(bytes, 0);
  sp.flushPartial();
  return { records, bad };
}

function decodeLine(line: string, agent: string, now: number): LogRecord | undefined {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return undefined;
  const { seq, time, source, stream, origin, message, fields, host, app, level } = o;
  if (typeof message !== 'string' || typeof source !== 'string' || typeof stream !== 'string' || source === '' || stream === '') return undefined;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || typeof time !== 'string') return undefined;
  const t = Date.parse(time);
  if (Number.isNaN(t)) return undefined;
  if (origin === null || typeof origin !== 'object' || Array.isArray(origin) || typeof (origin as { kind?: unknown }).kind !== 'string') return undefined;
  if (fields !== undefined && (fields === null || typeof fields !== 'object' || Array.isArray(fields))) return undefined;
  if ((host !== undefined && typeof host !== 'string') || (app !== undefined && typeof app !== 'string')) return undefined;
  if (level !== undefined && (typeof level !== 'string' || !LEVEL_SET.has(level))) return undefined;
  // JSON.parse makes "__proto__" an own key, harmless here, but a record must not carry one onward
  if ((line.includes('__proto__') || line.includes('constructor') || line.includes('\\u')) && (forbiddenKeyPath(origin) !== undefined || forbiddenKeyPath(fields) !== undefined)) return undefined;
  const r: LogRecord = { seq: 0, time: t, received: now, source, stream, origin: { ...(origin as Record<string, unknown>), kind: (origin as { kind: string }).kind, agent, agent_seq: seq }, message, fields: (fields as Record<string, unknown> | undefined) ?? {} };
  if (host !== undefined) r.host = host as string;
  if (app !== undefined) r.app = app as string;
  if (level !== undefined) r.level = level as Level;
  return r;
}
