/**
 * The fuzz driver's seed corpus (native/fuzz/fuzz_core.c, `npm run fuzz`): the bench
 * generator's lines (bench/gen.ts, every template kind), the differential suite's
 * hand-picked edge lines (test/helpers/native-edge-lines.ts) in every format, and long
 * lines near 64 KiB (the output budget's worst case among them), each file a driver input:
 * two setup bytes (format, seq digits, UTC, `now`; mode, stretch, maxLine) and the lines.
 * Also writes a libFuzzer dictionary of the tokens the parsers look for, from the
 * TypeScript tables.
 *
 *   node --import tsx native/fuzz/seeds.ts DIR [DICT]
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTemplates, renderLine } from '../../bench/gen.js';
import { NATIVE_EDGE_LINES } from '../../test/helpers/native-edge-lines.js';
import { ROLES } from '../../src/parse/keys.js';
import { WORDS } from '../../src/parse/level.js';
import { MONTH_NAMES, WEEKDAY_NAMES } from '../../src/parse/time.js';
import { LEVEL_ASSIGN_KEYS } from '../../src/parse/plain.js';
import { FORMAT_CODE } from '../../src/parse/native.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: seeds.ts DIR [DICT]');
const dictPath = process.argv[3];

type Format = keyof typeof FORMAT_CODE;
const FORMATS = Object.keys(FORMAT_CODE) as Format[];

interface Setup {
  format?: Format;
  seq?: 0 | 1 | 2 | 3; // 0, 1, 4, 10 digits
  utc?: boolean;
  now?: 0 | 2 | 3; // a 2026 time, 0, -1
  mode?: 0 | 2; // normal, trustWriter
  stretch?: boolean; // with trustCap 7 (the driver stretches one input in 16)
  maxLine?: 0 | 1 | 2 | 3; // 1 MiB, 64 KiB, 4 KiB, 100
  trustCap?: number; // 0..7
}

function header(s: Setup): Buffer {
  const b0 = FORMAT_CODE[s.format ?? 'auto'] | ((s.seq ?? 0) << 3) | ((s.utc ?? true) ? 32 : 0) | ((s.now ?? 0) << 6);
  const b1 = (s.mode ?? 0) | (s.stretch === true ? 4 : 0) | ((s.maxLine ?? 0) << 3) | ((s.trustCap ?? 0) << 5);
  return Buffer.from([b0, b1]);
}

mkdirSync(dir, { recursive: true });
for (const f of readdirSync(dir)) rmSync(join(dir, f));
let count = 0;
let bytes = 0;
function seed(name: string, s: Setup, lines: readonly (string | Buffer)[]): void {
  const body = Buffer.concat(lines.map((l) => Buffer.concat([typeof l === 'string' ? Buffer.from(l) : l, Buffer.from('\n')])));
  const data = Buffer.concat([header(s), body]);
  writeFileSync(join(dir, `${String(count).padStart(5, '0')}-${name}`), data);
  count++;
  bytes += data.length;
}

// the bench corpus: eight lines a seed, every template kind, in auto and in each forced format
const bench = buildTemplates(3000, 7).flat().map((t, i) => renderLine(t, i));
for (let i = 0; i < bench.length; i += 8) {
  const lines = bench.slice(i, i + 8);
  seed('bench-auto', { seq: (i / 8) % 2 === 0 ? 0 : 2 }, lines);
  if (i % 64 === 0) for (const f of FORMATS.filter((x) => x !== 'auto')) seed(`bench-${f}`, { format: f, seq: 1 }, lines);
}

// the edge lines, one a seed in every format, and all of them at once (also with a small output)
for (const [k, line] of NATIVE_EDGE_LINES.entries()) {
  for (const f of FORMATS) seed(`edge${k}-${f}`, { format: f, seq: k % 2 === 0 ? 0 : 2, utc: k % 7 !== 3 }, [line]);
}
for (const f of FORMATS) {
  seed(`edges-${f}`, { format: f, seq: 2 }, NATIVE_EDGE_LINES);
  seed(`edges-${f}-trust`, { format: f, mode: 2, trustCap: 6 }, NATIVE_EDGE_LINES);
}

// long lines near 64 KiB and past a 64 KiB maxLine; the budget's worst case: logfmt, raw control
// bytes in quoted values, no message key
const ctl = (n: number): string => Array.from({ length: n }, (_, i) => String.fromCharCode(1 + (i % 8))).join('');
const long: [string, string][] = [
  ['plain', 'x'.repeat(65000)],
  ['plain-ctl', 'ERROR ' + ctl(65000)],
  ['json', JSON.stringify({ msg: 'm'.repeat(65000), level: 'info', a: [1, 2, { b: 'c' }] })],
  ['json-nomsg', JSON.stringify({ a: '"'.repeat(32000), level: 30 })],
  ['logfmt-ctl', Array.from({ length: 2000 }, (_, i) => `k${i}="${ctl(30)}"`).join(' ')],
  ['logfmt', `level=warn msg="${'q '.repeat(32000)}" a=1`],
  ['syslog5424', `<34>1 2026-11-30T10:00:02.000Z h a p m [x@1 a="1"] ${'s'.repeat(65000)}`],
  ['syslog3164', `<13>Nov 30 10:00:03 web-2 CRON[99]: ${'c'.repeat(65000)}`],
];
for (const [name, line] of long) {
  seed(`long-${name}`, { seq: 2 }, [line]);
  seed(`long-${name}-64k`, { seq: 0, maxLine: 1 }, [line, line.slice(0, 65536), line.slice(0, 65537)]);
}
// stretched by the driver: the first line repeated to ~64 KiB
for (const line of ['a="\x01\x02\x03" ', '{"msg":"x"} ', '<13>Nov 30 10:00:03 h t: x ', 'x\t'])
  seed('stretch', { stretch: true, trustCap: 7, seq: 1 }, [line, 'after']);

if (dictPath !== undefined) {
  const tokens = new Set<string>();
  for (const k of ROLES.keys()) tokens.add(k);
  for (const [w] of WORDS) {
    tokens.add(w);
    tokens.add(w.toUpperCase());
  }
  for (const m of [...MONTH_NAMES, ...WEEKDAY_NAMES]) tokens.add(m[0]!.toUpperCase() + m.slice(1));
  for (const k of LEVEL_ASSIGN_KEYS) tokens.add(k + '=');
  for (const t of ['{"', '":"', '","', '":', '"}', '\\"', '\\\\', '\\/', '\\u00', '\\n', '<13>', '<34>1 ', '<191>', ' - - ', '[x@1 ', 'a="', '"]', 'T10:00:00', '2026-11-30', '.123Z', '+01:00', 'Z ', '10:00:03 ', '/Nov/2026:', '__proto__', 'null', 'true', 'false', '1e5', '-0', '0.000001', '\ufeff', '\r'])
    tokens.add(t);
  const esc = (t: string): string => [...Buffer.from(t)].map((b) => (b === 34 || b === 92 ? '\\' + String.fromCharCode(b) : b >= 32 && b < 127 ? String.fromCharCode(b) : '\\x' + b.toString(16).padStart(2, '0'))).join('');
  writeFileSync(dictPath, [...tokens].map((t) => `"${esc(t)}"`).join('\n') + '\n');
}
console.log(`seeds: ${count} inputs, ${(bytes / 1048576).toFixed(1)} MiB in ${dir}`);
