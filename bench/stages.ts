/**
 * Where a line's CPU goes on the hot path, stage by stage, in one process:
 * split (LineSplitter), parse (auto-detect), build the record, serialize,
 * encode into the batch's wire block, and the hub's publish (serialize +
 * encode + rings, no clients). The data streams through the first N stages
 * a chunk at a time, keeping nothing, as the daemon does; a stage's cost is
 * the difference between consecutive runs (GC included).
 *
 *   node --max-semi-space-size=16 --import tsx bench/stages.ts [MB]   (default 100)
 */
import { readFileSync } from 'node:fs';
import { cpuUsage } from 'node:process';
import { ensureDataset } from './gen.js';
import { LineSplitter } from '../src/framing/lines.js';
import { parseLine } from '../src/parse/detect.js';
import { type LogRecord, type ParsedLine } from '../src/core/record.js';
import { recordParts, serializeRecord } from '../src/wire/json.js';
import { Block } from '../src/wire/block.js';
import { Hub } from '../src/hub/hub.js';

const mb = Number(process.argv[2] ?? 100);
const ds = ensureDataset(1024, () => undefined);
const fd = readFileSync(ds.path).subarray(0, mb * 1024 * 1024);
const data = fd.subarray(0, fd.lastIndexOf(10) + 1);
const inputMB = data.length / 1e6;

const CHUNK = 256 * 1024;
const STAGES = ['split', 'parse', 'build record', 'serialize', 'encode block', 'hub publish (ring, no clients)'] as const;
const origin = Object.freeze({ kind: 'file', path: ds.path });

/**
 * Stream the data through the first `upTo` stages, a 256 KiB chunk at a time,
 * keeping nothing (as the daemon does), and return CPU seconds. The cost of a
 * stage is the difference between consecutive runs.
 */
function run(upTo: number): number {
  const hub = new Hub({ seqStart: 0, defaults: { replay: 10_000, replayBytes: 32 << 20 }, streams: {}, drop: () => undefined });
  let lines: string[] = [];
  const sp = new LineSplitter({ maxLineBytes: 1 << 20, onLine: (l) => lines.push(l) });
  const c0 = cpuUsage();
  let sink = 0;
  for (let off = 0; off < data.length; off += CHUNK) {
    lines = [];
    sp.push(data.subarray(off, off + CHUNK), off);
    if (upTo < 2) continue;
    const now = Date.now();
    const parsed: ParsedLine[] = lines.map((l) => parseLine(l, 'auto', now));
    if (upTo < 3) continue;
    const records: LogRecord[] = parsed.map((p) => ({ seq: 0, time: p.time ?? now, received: now, source: 'bench', stream: 'bench', origin, host: p.host, app: p.app, level: p.level, message: p.message, fields: p.fields }));
    if (upTo < 4) continue;
    if (upTo === 6) {
      hub.publish(records);
      continue;
    }
    const jsons = records.map(serializeRecord);
    if (upTo < 5) {
      sink += jsons.length;
      continue;
    }
    sink += Block.fromParts(Float64Array.from(records, (_, i) => i), records.map(recordParts)).nd.length;
  }
  const c = cpuUsage(c0);
  if (sink < 0) console.log(sink);
  return (c.user + c.system) / 1e6;
}

run(6); // warm-up: JIT
let prev = 0;
for (let i = 1; i <= STAGES.length; i++) {
  // the hub publish includes serialize + encode, so it is compared with "build record"
  const base = i === 6 ? run(3) : prev;
  const t = run(i);
  const stage = t - base;
  console.log(`${STAGES[i - 1]!.padEnd(32)} +${stage.toFixed(2)} CPU-s   (${(inputMB / Math.max(stage, 1e-6)).toFixed(0)} MB/s of input alone; cumulative ${(inputMB / t).toFixed(0)} MB/s)`);
  if (i < 6) prev = t;
}
console.log(`${inputMB.toFixed(0)} MB of ${ds.path}`);
