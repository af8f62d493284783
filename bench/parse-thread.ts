/**
 * What one parse thread costs: `runJob` (src/parse/worker.ts, the work of a
 * parse thread: split, parse, serialize, encode) over the first N MiB of the
 * bench dataset in 256 KiB runs of lines, as the file source hands them
 * over, on this thread. Prints MiB of input per CPU-second (three passes; the
 * first warms up the JIT) and the output/input byte ratio.
 *
 *   node --max-semi-space-size=16 --import tsx bench/parse-thread.ts [MiB]   (default 100)
 *
 * BENCH_TRANSFORMS=1: the job carries the stateless part of the bench's
 * transforms case (extract + redact, scenarios.ts TRANSFORMS_TOML), as a
 * parse thread runs it for that source.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { runJob } from '../src/parse/worker.js';
import { transformSchema, type TransformConfig } from '../src/transforms/config.js';
import { statelessPrefix } from '../src/transforms/plan.js';
import { ensureDataset } from './gen.js';
import { TRANSFORMS_TOML } from './scenarios.js';

const mib = Number(process.argv[2] ?? 100);
const ds = ensureDataset(1024, () => undefined);
const fd = openSync(ds.path, 'r');
const runs: Uint8Array[] = [];
const chunk = Buffer.allocUnsafe(256 * 1024);
let pos = 0;
while (pos < mib * 1024 * 1024) {
  const n = readSync(fd, chunk, 0, chunk.length, pos);
  if (n === 0) break;
  const last = chunk.lastIndexOf(10, n - 1);
  if (last < 0) break;
  runs.push(Uint8Array.from(chunk.subarray(0, last + 1)));
  pos += last + 1;
}
closeSync(fd);
const origin = JSON.stringify({ kind: 'file', path: ds.path });
const transforms: TransformConfig[] | undefined = process.env.BENCH_TRANSFORMS === '1' ? statelessPrefix(((parseToml(TRANSFORMS_TOML) as { sources: { transforms: unknown[] } }).sources.transforms).map((t) => transformSchema.parse(t))) : undefined;
if (transforms) console.log(`transforms in the thread: ${transforms.map((t) => t.type).join(', ')}`);
for (let pass = 1; pass <= 3; pass++) {
  const c0 = process.cpuUsage();
  let out = 0;
  for (let i = 0; i < runs.length; i++) {
    const r = runJob({ id: i, items: [runs[i]!], maxLineBytes: 1 << 20, format: 'auto', now: Date.now(), source: 'bench', stream: 'bench', origin, seqDigits: 7, ...(transforms ? { transforms } : {}) });
    out += r.buf.length;
  }
  const c = process.cpuUsage(c0);
  const cpuS = (c.user + c.system) / 1e6;
  console.log(`pass ${pass}: ${(pos / 1048576 / cpuS).toFixed(1)} MiB of input per CPU-s (${(pos / 1048576).toFixed(0)} MiB in ${cpuS.toFixed(2)} s), output/input ${(out / pos).toFixed(2)}`);
}
