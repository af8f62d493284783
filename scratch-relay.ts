import { readFileSync } from 'node:fs';
import { parseLine } from './src/parse/detect.js';
import { serializeRecord, middleText } from './src/wire/json.js';
import { Relay } from './src/sources/records/relay.js';
import type { LogRecord } from './src/core/record.js';
const text = readFileSync('/tmp/sluice-bench/mixed-128m.log', 'latin1').slice(0, 40 * 1024 * 1024);
const lines = Buffer.from(text, 'latin1').toString('utf8').split('\n').slice(0, 100000);
const origin = Object.freeze({ kind: 'file', path: '/tmp/sluice-bench/sluice-forward-agent-gzip-13551-1796674204535/in/mixed.log' });
let seq = 1;
const wire = lines.map((l) => { const p = parseLine(l, 'auto', 1717245591491); const r: LogRecord = { seq: seq++, time: p.time ?? 1717245591491, received: 0, source: 'app', stream: 'app', origin, message: p.message, fields: p.fields }; if (p.level) r.level = p.level; if (p.host) r.host = p.host; if (p.app) r.app = p.app; return serializeRecord(r); }).join('\n') + '\n';
const buf = Buffer.from(wire, 'utf8');
console.log('wire bytes', buf.length, 'per record', buf.length / lines.length);
const relay = Relay.for((o) => middleText('edge', 'edge', o), JSON.stringify({ kind: 'http', remote: '127.0.0.1' }))!;
let ok = 0;
for (let round = 0; round < 8; round++) {
  const t0 = process.hrtime.bigint();
  ok = 0;
  let p = 0;
  while (p < buf.length) { const nl = buf.indexOf(10, p); const e = nl < 0 ? buf.length : nl; if (relay.scan(buf, p, e)) ok++; p = e + 1; }
  const dt = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(`scan ${ok}/${lines.length} in ${dt.toFixed(1)} ms: ${(dt * 1000 / lines.length).toFixed(3)} us/record, ${(buf.length / dt / 1000).toFixed(0)} MB/s`);
}
