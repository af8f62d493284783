/**
 * A forward stage against a scripted transport (no network), for the unit
 * tests of src/sinks/forward: the transport's answers are given by the test,
 * one per send, in order.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LogRecord } from '../../src/core/record.js';
import { forwardSchema } from '../../src/sinks/forward/config.js';
import { ForwardStage } from '../../src/sinks/forward/forward.js';
import type { ForwardTransport, OutgoingBatch, SendResult } from '../../src/sinks/forward/transport.js';
import { serializeRecord } from '../../src/wire/json.js';
import { waitFor } from './fake-pipeline.js';

export const OK: SendResult = { ok: true, status: 200, retryable: false, error: null, snippet: '', latencyMs: 3 };

/** A transport whose answers the test gives (`answer`, or `waiting.shift()!(result)`), one per send, in order. */
export function scripted(stats?: () => Record<string, number>) {
  const sent: OutgoingBatch[] = [];
  const waiting: ((r: SendResult) => void)[] = [];
  const t: ForwardTransport = {
    target: 'scripted://central',
    peer: 'the central',
    send: (b) => {
      sent.push(b);
      return new Promise<SendResult>((r) => waiting.push(r));
    },
    close: () => undefined,
    ...(stats ? { stats } : {}),
  };
  const answer = async (r: SendResult) => {
    await waitFor(() => waiting.length > 0, 'a send');
    waiting.shift()!(r);
  };
  return { t, sent, waiting, answer };
}

let seq = 0;
/** `n` records with increasing seqs, messages `${message} ${seq}`. */
export const recs = (n: number, message = 'line', stream = 'app'): LogRecord[] =>
  Array.from({ length: n }, () => ({ seq: ++seq, time: 1_700_000_000_000, received: 1_700_000_000_000, source: 's', stream, origin: { kind: 'test' }, message: `${message} ${seq}`, fields: {} }));

/** A started stage named `f` over `t` (batch_age 1h, 1 ms backoff, no fsync unless `extra` says otherwise); `open` gets its stop. */
export function forwardStage(open: (() => Promise<void>)[], t: ForwardTransport, extra: Record<string, unknown> = {}, dataDir = mkdtempSync(path.join(tmpdir(), 'sluice-fwds-'))) {
  const drops: Record<string, number> = {};
  const logs: string[] = [];
  const cfg = forwardSchema.parse({ url: 'http://central.example/api/ingest', batch_age: '1h', backoff_base: '1ms', backoff_max: '1ms', fsync: 'off', ...extra });
  const st = new ForwardStage(cfg, { name: 'f', dataDir, drop: (s, r, n) => (drops[`${s}/${r}`] = (drops[`${s}/${r}`] ?? 0) + n), log: (m) => logs.push(m), transport: t });
  const report = st.start();
  open.push(() => st.stop(Date.now()));
  return { st, drops, logs, dataDir, report, dir: path.join(dataDir, 'spool', 'f') };
}

let lineSeq = 0;
/** One record's wire line (NDJSON, with its newline), seqs increasing, message `m<seq>` by default. */
export function line(source: string, stream: string, message = `m${lineSeq + 1}`): string {
  const r: LogRecord = { seq: ++lineSeq, time: 1_700_000_000_000, received: 0, source, stream, origin: { kind: 'test' }, message, fields: {} };
  return serializeRecord(r) + '\n';
}
