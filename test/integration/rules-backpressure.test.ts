/**
 * "hub -> rules -> store: bounded queue; on overflow pause sources, durable
 * path" (ARCHITECTURE.md §2; docs/operations.md, Back-pressure: "when full,
 * sources pause"), with the real parts wired as main.ts and alerting.ts wire
 * them: a FileSource, the PipelineRuntime and Hub, and the RuleEngine as the
 * durable stage over a real SQLite store whose insertEvents is held shut. The
 * engine cannot finish its slice, its queue fills, the file source stops
 * reading (its offset and checkpoint stay at what the pipeline accepted, even
 * as it notices a new file), nothing is dropped; opened again, every line
 * arrives once and becomes an event. In-process: a daemon's store cannot be
 * held shut without stalling the daemon itself.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../../src/core/bus.js';
import { Hub } from '../../src/hub/hub.js';
import { Metrics } from '../../src/core/metrics.js';
import { PipelineRuntime } from '../../src/core/pipeline-runtime.js';
import { rulesSchema } from '../../src/rules/config.js';
import { RuleEngine } from '../../src/rules/engine.js';
import { CheckpointStore } from '../../src/sources/file/checkpoint.js';
import { fileSourceSchema } from '../../src/sources/file/config.js';
import { FileSource } from '../../src/sources/file/source.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/store.js';
import type { SluiceEvent } from '../../src/store/types.js';
import { waitFor } from '../helpers/daemon.js';
import { describeParseModes, parseModes } from '../helpers/parse-modes.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const LINE = (i: number) => `ERROR job ${String(i).padStart(5, '0')}\n`; // 16 bytes each
const BYTES = LINE(0).length;

function lines(from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += LINE(i);
  return s;
}

/** The real SQLite store with insertEvents held until open() is called. */
function gatedStore(): { store: Store; entered: () => number; open: () => void } {
  const real = openSqliteStore(':memory:');
  let entered = 0;
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const store = new Proxy(real, {
    get(target, key) {
      if (key === 'insertEvents') {
        return async (...args: Parameters<Store['insertEvents']>) => {
          entered++;
          await gate;
          return target.insertEvents(...args);
        };
      }
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Store;
  return { store, entered: () => entered, open };
}

describeParseModes(() => {
  describe('a rules stage that cannot keep up', () => {
    it('pauses the file source at what was accepted, drops nothing, and it resumes when the stage drains', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'sluice-rules-bp-'));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      const N = 3000;
      const M = 200;
      const a = path.join(dir, 'a.log');
      const b = path.join(dir, 'b.log');
      writeFileSync(a, lines(0, N));

      const metrics = new Metrics();
      const hub = new Hub({ seqStart: 0, defaults: { replay: 10_000, replayBytes: 64 * 1024 * 1024 }, streams: {}, drop: (s, r, n) => metrics.drop(s, r, n) });
      const pipeline = new PipelineRuntime(hub, metrics);
      const { store, entered, open } = gatedStore();
      cleanup.push(() => store.close());
      const QUEUE = 500;
      const engine = new RuleEngine({
        store, bus: new InProcessBus<SluiceEvent>(), config: { ...rulesSchema.parse({}), queue_size: QUEUE, bucket_capacity: 1_000_000 },
        drop: (s, r, n) => metrics.drop(s, r, n),
      });
      await store.createRule({ name: 'errors', pattern: 'ERROR', severity: 'error', source: null, overrides: null, std: 'both', cooldown_s: 0, enabled: true });
      await engine.reload();
      pipeline.addStage({ name: 'rules', push: (batch) => engine.push(batch), onDrain: (cb) => engine.onDrain(cb) });

      const dataDir = path.join(dir, 'data');
      const cfg = fileSourceSchema.parse({ name: 'app', type: 'file', paths: [path.join(dir, '*.log')], from: 'start', format: 'plain', poll_interval: '50ms', read_buffer: 4096 });
      const source = new FileSource(cfg, { dataDir, parsePool: parseModes.pool, poolMinChars: 0 });
      cleanup.push(() => source.stop());
      await source.start(pipeline);

      const offsets = () => Object.fromEntries((source.status().files as { path: string; offset: number }[]).map((f) => [path.basename(f.path), f.offset]));
      const saved = () => {
        const cp = new CheckpointStore(dataDir, 'app');
        const l = cp.load();
        cp.close();
        if (l.kind !== 'ok') throw new Error(`checkpoint ${l.kind}`);
        return Object.fromEntries(l.doc.files.map((f) => [path.basename(f.path), f.offset]));
      };

      // the engine's first slice is stuck in the store; the queue behind it fills; the source waits
      await waitFor(() => entered() === 1 && source.status().paused === true, 'the source to pause');
      const accepted = hub.lastSeq;
      expect(accepted).toBeGreaterThanOrEqual(QUEUE);
      expect(accepted).toBeLessThan(N);
      // everything accepted is in the engine's hands (queued, or in the slice held at the store), none written yet
      expect(engine.stats()).toMatchObject({ events_written: 0, store_errors: 0 });
      expect(engine.stats().records_scanned + engine.stats().queue.records).toBe(accepted);
      // the offset and the checkpoint are at the end of the last accepted line, not past it
      expect(offsets()).toEqual({ 'a.log': accepted * BYTES });
      expect(saved()).toEqual({ 'a.log': accepted * BYTES });

      // paused, not stuck: it still scans, and opens a new file, but reads nothing
      writeFileSync(b, lines(N, N + M));
      await waitFor(() => source.status().counters.files_opened === 2, 'the new file to be opened');
      expect(source.status().paused).toBe(true);
      expect(hub.lastSeq).toBe(accepted);
      expect(offsets()).toEqual({ 'a.log': accepted * BYTES, 'b.log': 0 });
      expect(metrics.drops()).toEqual({});

      open();
      await waitFor(() => hub.lastSeq === N + M, 'every line after the stage drained', 60_000);
      await engine.flush();
      expect(offsets()).toEqual({ 'a.log': N * BYTES, 'b.log': M * BYTES });
      expect(saved()).toEqual({ 'a.log': N * BYTES, 'b.log': M * BYTES });
      // every line once, and every one an event: nothing dropped on the way
      const msgs = hub.records(null, 0, 100_000).map((e) => e.message);
      expect([...msgs].sort()).toEqual(lines(0, N + M).split('\n').slice(0, -1).sort());
      expect(await store.countEvents()).toBe(N + M);
      expect(engine.stats()).toMatchObject({ records_scanned: N + M, events_written: N + M, store_errors: 0 });
      expect(metrics.drops()).toEqual({});
      expect(source.status().paused).toBe(false);
    }, 90_000);
  });
});
