/**
 * Crash replay for the Docker source: re-read the last pushed batch (the
 * checkpoint's `last`) from the engine, exactly as the tail first built it,
 * so `restore` can re-publish it with the seqs it had. A non-follow logs
 * request from the position before the batch, decoded by the same code as
 * the live tail (decode.ts), skipping the boundary lines as a resume does,
 * then the batch's `count` lines.
 */
import type { Origin, LogRecord } from '../../core/record.js';
import type { DockerCheckpointLast } from './checkpoint.js';
import type { DockerClient } from './client.js';
import type { DockerSourceConfig } from './config.js';
import { DockerLines, laneSpec, LogDecoder, newCounters, ResumeSkip, resumeSince, type Std } from './decode.js';
import { parseOnly } from '../../parse/batch.js';
import { replayTransforms } from '../../transforms/plan.js';
import { metaOf } from './discovery.js';
import type { ContainerMeta } from './tailer.js';

export type RefetchResult =
  | { kind: 'ok'; records: LogRecord[] }
  /** The engine, the container or its logs are not there (any more). */
  | { kind: 'gone'; reason: string }
  /** The engine's logs no longer give the same batch (fewer lines, other timestamps). */
  | { kind: 'mismatch'; got: number };

export interface RefetchOptions {
  client: DockerClient;
  cfg: DockerSourceConfig;
  origin(meta: ContainerMeta, std: Std): Origin;
  /** Give up (as `gone`) after this long: restore must not hold the daemon's start. */
  timeoutMs?: number;
}

/** Rebuild the records of `last` (seq 0; the caller assigns seqFirst..seqLast). */
export async function refetchBatch(last: DockerCheckpointLast, o: RefetchOptions): Promise<RefetchResult> {
  const { client, cfg } = o;
  let meta: ContainerMeta;
  try {
    if (!client.version) await client.negotiate();
    const info = await client.inspect(last.id);
    if (!info) return { kind: 'gone', reason: 'container removed' };
    meta = metaOf(info);
  } catch (e) {
    return { kind: 'gone', reason: (e as Error).message };
  }
  const origins = { stdout: o.origin(meta, 'stdout'), stderr: o.origin(meta, 'stderr') };
  const since = last.from ? resumeSince(last.from) : last.since;
  let stream;
  try {
    stream = await client.logs(last.id, { follow: false, stdout: cfg.std !== 'stderr', stderr: cfg.std !== 'stdout', since });
  } catch (e) {
    return { kind: 'gone', reason: (e as Error).message };
  }
  const lines = new DockerLines();
  let newest: string | undefined;
  const skip = new ResumeSkip(last.from ?? undefined);
  const received = Date.now();
  const decoder = new LogDecoder({
    tty: meta.tty,
    cfg,
    // Scratch counters: the replay must not count lines twice.
    counters: newCounters(),
    drop: () => undefined,
    onLine: (std, line, ts, _truncated) => {
      if (lines.length >= last.count) return;
      if (ts) {
        if (skip.skip(std, ts.key)) return;
        if (newest === undefined || ts.key > newest) newest = ts.key;
      }
      lines.push(std, line, ts);
    },
  });
  const done = await new Promise<'ok' | 'timeout'>((resolve) => {
    let settled = false;
    const finish = (how: 'ok' | 'timeout') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.destroy();
      resolve(how);
    };
    const timer = setTimeout(() => finish('timeout'), o.timeoutMs ?? 15_000);
    stream.start({
      data: (buf, start, end) => {
        if (settled) return;
        decoder.push(buf.subarray(start, end));
        if (lines.length >= last.count) finish('ok');
      },
      end: (complete) => {
        // The logs end here: a last line without '\n' was emitted as it is (the container stopped).
        if (complete && !settled && decoder.end() && lines.length < last.count) decoder.flushPartial();
        finish('ok');
      },
    });
  });
  if (done === 'timeout') return { kind: 'gone', reason: 'timed out reading the logs' };
  if (lines.length !== last.count) return { kind: 'mismatch', got: lines.length };
  // The same count is not enough when the oldest logs were rotated away: the batch must end at the same time.
  if (newest !== last.to) return { kind: 'mismatch', got: lines.length };
  // parsed here, as the live tail's lane would (the records are byte for byte the same)
  return { kind: 'ok', records: replayTransforms(cfg.transforms, parseOnly(laneSpec(cfg, newCounters()), lines.take(origins, received))) };
}
