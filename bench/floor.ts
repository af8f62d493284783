/**
 * A floor for file -> TCP on this machine: what one core spends per MiB to
 * split the dataset into lines, JSON-escape each line as a bare message in a
 * minimal record and encode it, with no parsing at all. The real pipeline
 * parses every line into the contract's record, so it cannot be cheaper.
 *
 *   node --max-semi-space-size=16 --import tsx bench/floor.ts [MiB]   (default 300)
 */
import { openSync, readSync, closeSync } from 'node:fs';
import { LineSplitter } from '../src/framing/lines.js';
import { utf8Write } from '../src/wire/utf8.js';
import { ensureDataset } from './gen.js';

const mib = Number(process.argv[2] ?? 300);
const ds = ensureDataset(1024, () => undefined);
const fd = openSync(ds.path, 'r');
let lines: string[] = [];
const sp = new LineSplitter({ maxLineBytes: 1 << 20, onLine: (l) => lines.push(l) });
const chunk = Buffer.allocUnsafe(256 * 1024);

function run(encode: boolean): number {
  const c0 = process.cpuUsage();
  let pos = 0;
  let sink = 0;
  while (pos < mib * 1024 * 1024) {
    const n = readSync(fd, chunk, 0, chunk.length, pos);
    if (n === 0) break;
    lines = [];
    sp.push(chunk.subarray(0, n), pos);
    pos += n;
    if (!encode) continue;
    let size = 0;
    const out = new Array<string>(lines.length);
    for (let i = 0; i < lines.length; i++) {
      out[i] = '{"seq":1,"time":"2026-01-01T00:00:00.000Z","source":"x","message":' + JSON.stringify(lines[i]) + ',"fields":{}}';
      size += out[i]!.length;
    }
    const buf = Buffer.allocUnsafe(size * 3);
    let off = 0;
    for (const s of out) off += utf8Write(buf, s, off);
    sink += off;
  }
  const c = process.cpuUsage(c0);
  if (sink < 0) console.log(sink);
  return (c.user + c.system) / 1e6;
}

sp.reset();
const split = run(false);
sp.reset();
const all = run(true);
closeSync(fd);
console.log(`split only:                ${(mib / split).toFixed(0)} MiB per CPU-s`);
console.log(`split + escape + encode:   ${(mib / all).toFixed(0)} MiB per CPU-s   (${mib} MiB of ${ds.path})`);
