/**
 * `npm run bench`: generate (or reuse) the dataset, run the selected
 * measurements, print a table of figures against their targets and write
 * everything to bench/out/results.json. A missed target is reported, never an
 * exit code; every process the bench started is stopped on the way out, also
 * on failure or Ctrl-C.
 *
 *   npm run bench                                  # everything, 1 GiB
 *   npm run bench -- --only throughput,latency     # a subset
 *   BENCH_SIZE_MB=200 npm run bench                # a quick run
 *
 * See bench/README.md for what each figure means and the other knobs.
 */

import { spawnSync } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { VerifyReport } from './clients.js';
import { ensureDataset, type Dataset } from './gen.js';
import { rsyslogVersion, runRsyslogThroughput, type PeerResult } from './rsyslog.js';
import { sluiceFanout, sluiceLatency, sluiceThroughput, type FanoutResult, type LatencyResult, type ThroughputResult } from './scenarios.js';
import { REPO_ROOT, sluiceCommand, sluiceMissing } from './sluice.js';
import { fmt, stopAll, stopAllSync } from './util.js';

const ALL = ['throughput', 'rsyslog', 'transforms', 'latency', 'rss', 'rules', 'docker', 'syslog', 'ingest', 'forward', 'cluster'] as const;
type Bench = (typeof ALL)[number];
const ALIASES: Record<string, Bench> = { fanout: 'rss', memory: 'rss', peer: 'rsyslog', lat: 'latency' };

const TARGETS = {
  throughputMiBs: 100,
  ratio: 1.0,
  latencyP99Ms: 20,
  rssMB: 400,
} as const;

function parseArgs(argv: string[]): Set<Bench> {
  let only: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      console.log(`usage: npm run bench [-- --only ${ALL.join(',')}]\nenv: BENCH_SIZE_MB, BENCH_REPEAT, BENCH_VERIFY=1, BENCH_KEEP=1, BENCH_DIR; see bench/README.md`);
      process.exit(0);
    } else if (a === '--only') only = argv[++i] ?? '';
    else if (a.startsWith('--only=')) only = a.slice(7);
    else {
      console.error(`unknown argument ${a}`);
      process.exit(2);
    }
  }
  if (only === null) return new Set(ALL);
  const out = new Set<Bench>();
  for (const raw of only.split(',').map((s) => s.trim()).filter(Boolean)) {
    const name = (ALIASES[raw] ?? raw) as Bench;
    if (!ALL.includes(name)) {
      console.error(`unknown bench "${raw}"; choose from ${ALL.join(', ')}`);
      process.exit(2);
    }
    out.add(name);
  }
  return out;
}

const num = (name: string, def: number): number => {
  const v = process.env[name];
  return v === undefined || v === '' ? def : Number(v);
};

function log(s: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}`);
}

interface Row {
  figure: string;
  value: string;
  target: string;
  result: 'pass' | 'FAIL' | '';
}

/** The median run by `key`, among the complete runs when there are any (an incomplete run's rate means little). */
function median<T extends { outcome: string }>(runs: T[], key: (t: T) => number): T {
  const complete = runs.filter((r) => r.outcome === 'complete');
  const sorted = [...(complete.length ? complete : runs)].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

interface RunSet<T> {
  runs: T[];
  median: T;
  /** Runs in which every line arrived, of all runs. */
  completeRuns: number;
}

function runSet<T extends { outcome: string; deliveredLines: number; expectedLines: number }>(runs: T[], key: (t: T) => number): RunSet<T> {
  return { runs, median: median(runs, key), completeRuns: runs.filter((r) => r.outcome === 'complete' && r.deliveredLines === r.expectedLines).length };
}

function gitRev(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const selected = parseArgs(process.argv.slice(2));
  const sizeMB = num('BENCH_SIZE_MB', 1024);
  const repeat = Math.max(1, num('BENCH_REPEAT', 1));
  const verify = process.env.BENCH_VERIFY === '1';
  const results: {
    transforms?: RunSet<ThroughputResult> | { error: string };
    meta: Record<string, unknown>;
    dataset?: Dataset;
    throughput?: RunSet<ThroughputResult> | { error: string };
    rsyslog?: (RunSet<Omit<PeerResult, 'config'>> & { config: string }) | { error: string };
    latency?: LatencyResult | { error: string };
    rss?: FanoutResult | { error: string };
    rules?: Record<string, unknown>;
    docker?: Record<string, unknown>[];
    ingest?: Record<string, unknown>[];
    forward?: Record<string, unknown>[];
    cluster?: Record<string, unknown>[];
    syslog?: Record<string, unknown>[];
    table?: Row[];
  } = {
    meta: {
      date: new Date().toISOString(),
      git: gitRev(),
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
      loadavgAtStart: os.loadavg(),
      selected: [...selected],
      sizeMB,
      repeat,
      verify,
      rsyslog: selected.has('rsyslog') ? rsyslogVersion() : undefined,
      sluice: ((c) => ('missing' in c ? `missing: ${c.missing}` : c.how))(sluiceCommand()),
    },
  };

  const missing = sluiceMissing();
  const needsSluice = selected.has('throughput') || selected.has('latency') || selected.has('rss');
  if (needsSluice && missing) log(`Sluice parts skipped: ${missing}`);
  else if (needsSluice) log(`Sluice: ${String(results.meta.sluice)}`);

  try {
    // the rule stage (issue 3) and the Docker source (issue 4) run as their own processes;
    // the CPU-bound rule stage first, before the daemons of the other scenarios have run
    if (selected.has('rules')) results.rules = childJson(['--import', 'tsx', path.join(REPO_ROOT, 'bench/rules.ts')], 'rules', log)[0];
    if (selected.has('throughput') || selected.has('rsyslog') || selected.has('transforms')) {
      results.dataset = ensureDataset(sizeMB, log);
      const ds = results.dataset;
      log(`dataset ${ds.path}: ${(ds.bytes / 2 ** 20).toFixed(0)} MiB, ${ds.lines.toLocaleString('en-US')} lines${ds.reused ? ' (cached)' : ''}`);
      const sRuns: ThroughputResult[] = [];
      const tRuns: ThroughputResult[] = [];
      let tErr: string | null = selected.has('transforms') && missing ? missing : null;
      const rRuns: PeerResult[] = [];
      let sErr: string | null = selected.has('throughput') && missing ? missing : null;
      let rErr: string | null = null;
      // Interleaved so both see the same machine conditions.
      for (let i = 0; i < repeat; i++) {
        if (selected.has('throughput') && !sErr) {
          try {
            const r = await sluiceThroughput(ds, { verify, log });
            log(`sluice throughput: ${fmt(r.mibPerS)} MiB/s, ${fmt(r.linesPerS, 0)} lines/s, ${r.deliveredLines}/${r.expectedLines} lines (${r.outcome}) in ${fmt(r.wallS, 2)} s`);
            sRuns.push(r);
          } catch (e) {
            sErr = (e as Error).message;
            log(`sluice throughput failed: ${sErr}`);
          }
        }
        if (selected.has('transforms') && !tErr) {
          try {
            const r = await sluiceThroughput(ds, { verify, log, transforms: true });
            log(`sluice with extract+redact+dedupe: ${fmt(r.mibPerS)} MiB/s, ${fmt(r.linesPerS, 0)} lines/s, ${r.deliveredLines}/${r.expectedLines} lines (${r.outcome}) in ${fmt(r.wallS, 2)} s`);
            tRuns.push(r);
          } catch (e) {
            tErr = (e as Error).message;
            log(`sluice with transforms failed: ${tErr}`);
          }
        }
        if (selected.has('rsyslog') && !rErr) {
          try {
            const r = await runRsyslogThroughput(ds, { verify, log });
            log(`rsyslog throughput: ${fmt(r.mibPerS)} MiB/s, ${fmt(r.linesPerS, 0)} lines/s, ${r.deliveredLines}/${r.expectedLines} lines (${r.outcome}) in ${fmt(r.wallS, 2)} s`);
            rRuns.push(r);
          } catch (e) {
            rErr = (e as Error).message;
            log(`rsyslog failed: ${rErr}`);
          }
        }
      }
      if (selected.has('throughput')) results.throughput = sRuns.length ? runSet(sRuns, (r) => r.mibPerS) : { error: sErr ?? 'no run' };
      if (selected.has('transforms')) results.transforms = tRuns.length ? runSet(tRuns, (r) => r.mibPerS) : { error: tErr ?? 'no run' };
      if (selected.has('rsyslog')) {
        if (rRuns.length) {
          const strip = ({ config: _c, ...rest }: PeerResult) => rest;
          results.rsyslog = { ...runSet(rRuns.map(strip), (r) => r.mibPerS), config: rRuns[0].config };
        } else results.rsyslog = { error: rErr ?? 'no run' };
      }
    }

    if (selected.has('latency')) {
      if (missing) results.latency = { error: missing };
      else {
        try {
          results.latency = await sluiceLatency({ rate: num('BENCH_LAT_RATE', 10_000), seconds: num('BENCH_LAT_SECONDS', 10), log });
          const l = results.latency;
          log(`latency: p50 ${fmt(l.p50Ms, 2)} ms, p99 ${fmt(l.p99Ms, 2)} ms, max ${fmt(l.maxMs, 2)} ms (${l.received}/${l.written})`);
        } catch (e) {
          results.latency = { error: (e as Error).message };
          log(`latency failed: ${(e as Error).message}`);
        }
      }
    }

    if (selected.has('rss')) {
      if (missing) results.rss = { error: missing };
      else {
        try {
          results.rss = await sluiceFanout({
            clients: num('BENCH_FANOUT_CLIENTS', 10_000),
            rate: num('BENCH_FANOUT_RATE', 1000),
            flowSeconds: num('BENCH_FANOUT_SECONDS', 30),
            clientKind: process.env.BENCH_FANOUT_CLIENT === 'http' ? 'http' : 'raw',
            procs: num('BENCH_FANOUT_PROCS', Math.min(2, os.cpus().length)),
            concurrency: num('BENCH_FANOUT_CONCURRENCY', 256),
            openUnderFlow: process.env.BENCH_FANOUT_OPEN_UNDER_FLOW === '1',
            log,
          });
          const f = results.rss;
          log(
            `fan-out: RSS ${fmt(f.rssBeforeMB)} MB -> ${fmt(f.rssAfterFlowMB)} MB (peak ${fmt(f.rssPeakMB)}) with ${f.connected}/${f.clients} clients; ` +
              `records per client min ${f.eventsPerClient.min} / median ${f.eventsPerClient.median} of ${f.writtenInWindow} written; ${fmt(f.deliveredEventsPerS, 0)} records/s delivered; ${f.clientsWithGaps} clients with gaps`,
          );
        } catch (e) {
          results.rss = { error: (e as Error).message };
          log(`fan-out failed: ${(e as Error).message}`);
        }
      }
    }
    if (selected.has('docker')) results.docker = childJson(['--import', 'tsx', path.join(REPO_ROOT, 'bench/docker.ts')], 'docker', log);
    if (selected.has('ingest')) results.ingest = childJson(['--import', 'tsx', path.join(REPO_ROOT, 'bench/ingest.ts')], 'ingest', log);
    if (selected.has('forward')) results.forward = childJson(['--import', 'tsx', path.join(REPO_ROOT, 'bench/forward.ts')], 'forward', log);
    if (selected.has('cluster')) results.cluster = childJson(['--import', 'tsx', path.join(REPO_ROOT, 'bench/cluster.ts')], 'cluster', log);
    if (selected.has('syslog')) results.syslog = childJson(['--import', 'tsx', path.join(REPO_ROOT, 'bench/syslog.ts')], 'syslog', log);
  } finally {
    await stopAll();
  }

  results.table = buildTable(results);
  for (const row of extraRows(results)) results.table.push(row);
  printTable(results.table);
  const outDir = path.join(REPO_ROOT, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const outFile = path.join(outDir, 'results.json');
  writeFileSync(outFile, JSON.stringify(results, null, 2) + '\n');
  log(`wrote ${path.relative(process.cwd(), outFile) || outFile}`);
}

function isErr(x: unknown): x is { error: string } {
  return typeof x === 'object' && x !== null && 'error' in x;
}

const passFail = (ok: boolean): Row['result'] => (ok ? 'pass' : 'FAIL');

function verifyRow(figure: string, v: VerifyReport): Row {
  const ok = v.missing === 0 && v.duplicates === 0 && v.unnumbered === 0 && v.outOfRange === 0;
  return { figure, value: `missing ${v.missing}, dup ${v.duplicates}, unnumbered ${v.unnumbered}`, target: 'none', result: passFail(ok) };
}

function buildTable(r: {
  throughput?: RunSet<ThroughputResult> | { error: string };
  transforms?: RunSet<ThroughputResult> | { error: string };
  rsyslog?: RunSet<Omit<PeerResult, 'config'>> | { error: string };
  latency?: LatencyResult | { error: string };
  rss?: FanoutResult | { error: string };
}): Row[] {
  const rows: Row[] = [];
  const err = (figure: string, e: string, target = ''): Row => ({ figure, value: `error: ${e.split('\n')[0].slice(0, 70)}`, target, result: target ? 'FAIL' : '' });
  let sMib: number | null = null;
  let rMib: number | null = null;
  let sCpu: number | null = null;
  let rCpu: number | null = null;

  if (r.throughput) {
    if (isErr(r.throughput)) rows.push(err('Sluice file->TCP throughput', r.throughput.error, `>= ${TARGETS.throughputMiBs} MiB/s`));
    else {
      const t = r.throughput.median;
      const n = r.throughput.runs.length;
      const complete = r.throughput.completeRuns === n;
      sMib = t.mibPerS;
      sCpu = t.cpuSPerGiB;
      rows.push({ figure: `Sluice file->TCP throughput${n > 1 ? ' (median)' : ''}`, value: `${fmt(t.mibPerS)} MiB/s`, target: `>= ${TARGETS.throughputMiBs} MiB/s`, result: passFail(complete && t.mibPerS >= TARGETS.throughputMiBs) });
      rows.push({ figure: 'Sluice lines/s', value: fmt(t.linesPerS, 0), target: '', result: '' });
      rows.push({
        figure: 'Sluice records delivered',
        value: n > 1 ? `all in ${r.throughput.completeRuns} of ${n} runs (min ${Math.min(...r.throughput.runs.map((x) => x.deliveredLines)).toLocaleString('en-US')})` : `${t.deliveredLines.toLocaleString('en-US')} / ${t.expectedLines.toLocaleString('en-US')}`,
        target: 'all',
        result: passFail(complete),
      });
      rows.push({ figure: 'Sluice wall time (peak RSS)', value: `${fmt(t.wallS, 2)} s (${fmt(t.peakRssMB, 0)} MB)`, target: '', result: '' });
      rows.push({ figure: 'Sluice CPU per GiB of input', value: `${fmt(t.cpuSPerGiB, 2)} s`, target: '', result: '' });
      if (t.verify) rows.push(verifyRow('Sluice seq check', t.verify));
    }
  }
  if (r.rsyslog) {
    if (isErr(r.rsyslog)) rows.push(err('rsyslog imfile->omfwd throughput', r.rsyslog.error));
    else {
      const p = r.rsyslog.median;
      rMib = p.mibPerS;
      rCpu = p.cpuSPerGiB;
      rows.push({ figure: `rsyslog ${p.version} throughput${r.rsyslog.runs.length > 1 ? ' (median)' : ''}`, value: `${fmt(p.mibPerS)} MiB/s`, target: '', result: '' });
      rows.push({ figure: 'rsyslog lines/s', value: fmt(p.linesPerS, 0), target: '', result: '' });
      const n = r.rsyslog.runs.length;
      rows.push({
        figure: 'rsyslog lines delivered',
        value: n > 1 ? `all in ${r.rsyslog.completeRuns} of ${n} runs (min ${Math.min(...r.rsyslog.runs.map((x) => x.deliveredLines)).toLocaleString('en-US')})` : `${p.deliveredLines.toLocaleString('en-US')} / ${p.expectedLines.toLocaleString('en-US')}`,
        target: '',
        result: '',
      });
      rows.push({ figure: 'rsyslog CPU per GiB of input', value: `${fmt(p.cpuSPerGiB, 2)} s`, target: '', result: '' });
      if (p.verify) rows.push({ ...verifyRow('rsyslog seq check', p.verify), target: '', result: '' });
    }
  }
  if (r.transforms) {
    if (isErr(r.transforms)) rows.push(err('Sluice file->TCP with extract+redact+dedupe', r.transforms.error));
    else {
      const t = r.transforms.median;
      const complete = r.transforms.completeRuns === r.transforms.runs.length;
      rows.push({ figure: `Sluice file->TCP with extract+redact+dedupe${r.transforms.runs.length > 1 ? ' (median)' : ''}`, value: `${fmt(t.mibPerS)} MiB/s (${fmt(t.linesPerS, 0)} lines/s)`, target: '', result: passFail(complete) });
      rows.push({ figure: 'Sluice CPU per GiB with transforms', value: `${fmt(t.cpuSPerGiB, 2)} s`, target: '', result: '' });
      if (sMib !== null) rows.push({ figure: 'with transforms / plain (MiB/s)', value: fmt(t.mibPerS / sMib, 2), target: '>= 0.50', result: passFail(complete && t.mibPerS / sMib >= 0.5) });
    }
  }
  if (sMib !== null && rMib !== null) {
    const ratio = sMib / rMib;
    rows.push({ figure: 'Sluice / rsyslog (MiB/s)', value: fmt(ratio, 2), target: `>= ${TARGETS.ratio.toFixed(1)}`, result: passFail(ratio >= TARGETS.ratio) });
  }
  if (sCpu !== null && rCpu !== null && sCpu > 0) {
    rows.push({ figure: 'rsyslog CPU / Sluice CPU (efficiency)', value: fmt(rCpu / sCpu, 2), target: '', result: '' });
  }
  if (r.latency) {
    if (isErr(r.latency)) rows.push(err('append->SSE latency p99', r.latency.error, `<= ${TARGETS.latencyP99Ms} ms`));
    else {
      const l = r.latency;
      const all = l.received >= l.written;
      rows.push({ figure: `append->SSE latency p50 / p90`, value: `${fmt(l.p50Ms, 2)} / ${fmt(l.p90Ms, 2)} ms`, target: '', result: '' });
      rows.push({ figure: `append->SSE latency p99`, value: `${fmt(l.p99Ms, 2)} ms`, target: `<= ${TARGETS.latencyP99Ms} ms`, result: passFail(all && l.p99Ms <= TARGETS.latencyP99Ms) });
      rows.push({ figure: `append->SSE latency max`, value: `${fmt(l.maxMs, 2)} ms`, target: '', result: '' });
      rows.push({ figure: `latency records received`, value: `${l.received.toLocaleString('en-US')} / ${l.written.toLocaleString('en-US')} at ${l.rateLinesPerS}/s`, target: 'all', result: passFail(all) });
    }
  }
  if (r.rss) {
    if (isErr(r.rss)) rows.push(err('RSS with 10,000 SSE clients', r.rss.error, `<= ${TARGETS.rssMB} MB`));
    else {
      const f = r.rss;
      const all = f.opened === f.clients && f.connected === f.clients;
      rows.push({ figure: 'RSS before clients', value: `${fmt(f.rssBeforeMB)} MB`, target: '', result: '' });
      rows.push({ figure: `SSE clients open / failed of ${f.clients.toLocaleString('en-US')}`, value: `${f.opened} / ${f.failed} in ${fmt(f.openMs / 1000, 2)} s`, target: 'all', result: passFail(f.opened === f.clients) });
      rows.push({
        figure: `RSS with ${f.clients.toLocaleString('en-US')} SSE clients`,
        value: `${fmt(f.rssAfterFlowMB)} MB (steady ${fmt(f.rssSteadyMB)}, peak ${fmt(f.rssPeakMB)})`,
        target: `<= ${TARGETS.rssMB} MB`,
        result: passFail(all && f.rssAfterFlowMB <= TARGETS.rssMB && f.rssPeakMB <= TARGETS.rssMB),
      });
      rows.push({ figure: 'SSE clients connected / with records', value: `${f.connected} / ${f.clientsWithRecords}`, target: 'all', result: passFail(all && f.clientsWithRecords === f.clients) });
      rows.push({
        figure: `records per client min / median (${f.flowSeconds} s)`,
        value: `${f.eventsPerClient.min} / ${f.eventsPerClient.median} of ${f.writtenInWindow} written`,
        target: '',
        result: '',
      });
      rows.push({ figure: 'fan-out records/s delivered (all clients)', value: `${fmt(f.deliveredEventsPerS, 0)} (${fmt(f.deliveredFraction * 100)}%)`, target: '', result: '' });
      rows.push({ figure: 'fan-out clients with gaps / records missed', value: `${f.clientsWithGaps} / ${f.missedTotal}`, target: '', result: '' });
    }
  }
  return rows;
}

function printTable(rows: Row[]): void {
  const head: Row = { figure: 'figure', value: 'value', target: 'target', result: '' };
  const w = (k: keyof Row) => Math.max(...[head, ...rows].map((x) => x[k].length));
  const wf = w('figure');
  const wv = w('value');
  const wt = w('target');
  const line = (x: Row, res: string) => `${x.figure.padEnd(wf)}  ${x.value.padStart(wv)}  ${x.target.padEnd(wt)}  ${res}`;
  console.log('\n' + line(head, 'result'));
  console.log('-'.repeat(wf + wv + wt + 14));
  for (const x of rows) console.log(line(x, x.result));
  console.log('');
}

let shuttingDown = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (shuttingDown) return;
    shuttingDown = true;
    console.error(`\n${sig}: stopping everything the bench started`);
    stopAllSync();
    process.exit(130);
  });
}
process.on('exit', stopAllSync);

main().catch(async (e) => {
  console.error(e);
  await stopAll();
  process.exitCode = 1;
});

/** Run a bench script as a child process and collect the JSON objects it prints, one per line. */
/** bench/syslog.ts: per case, Sluice and rsyslogd side by side, and their ratio. */
function syslogRows(res: Record<string, unknown>[]): Row[] {
  const rows: Row[] = [];
  const get = (c: string, peer: string) => res.find((x) => x.case === c && x.peer === peer);
  for (const e of res.filter((x) => 'error' in x)) rows.push({ figure: 'Syslog', value: `error: ${String(e.error).slice(0, 70)}`, target: '', result: 'FAIL' });
  for (const c of ['tcp-1', 'tcp-8']) {
    const s = get(c, 'sluice');
    const p = get(c, 'rsyslog');
    if (!s || !p) continue;
    const conns = c.slice(4);
    rows.push({ figure: `Syslog TCP RFC 5424, ${conns} conn: Sluice`, value: `${fmt(Number(s.lines_per_s), 0)} lines/s${s.outcome === 'complete' ? '' : ` (${String(s.outcome)})`}`, target: '', result: '' });
    rows.push({ figure: `Syslog TCP RFC 5424, ${conns} conn: rsyslog`, value: `${fmt(Number(p.lines_per_s), 0)} lines/s${p.outcome === 'complete' ? '' : ` (${String(p.outcome)})`}`, target: '', result: '' });
    const ratio = Number(s.lines_per_s) / Number(p.lines_per_s);
    rows.push({ figure: `Syslog TCP ${conns} conn: Sluice / rsyslog`, value: fmt(ratio, 2), target: '>= 1.0', result: passFail(ratio >= 1) });
  }
  for (const c of ['udp-100k', 'udp-200k']) {
    const s = get(c, 'sluice');
    const p = get(c, 'rsyslog');
    if (!s || !p) continue;
    const at = (x: Record<string, unknown>) => `${fmt(Number(x.delivered_pct), 2)} % (sent at ${fmt(Number(x.achieved_rate) / 1000, 0)}k/s)`;
    rows.push({ figure: `Syslog UDP ${c.slice(4)}/s delivered: Sluice`, value: at(s), target: c === 'udp-100k' ? '>= 99.9 %' : '', result: c === 'udp-100k' ? passFail(Number(s.delivered_pct) >= 99.9) : '' });
    rows.push({ figure: `Syslog UDP ${c.slice(4)}/s delivered: rsyslog`, value: at(p), target: '', result: '' });
  }
  return rows;
}

/** bench/ingest.ts: HTTP ingest MiB/s of NDJSON accepted, plain and gzipped. */
function ingestRows(res: Record<string, unknown>[]): Row[] {
  return res.map((x) => {
    if ('error' in x) return { figure: `HTTP ingest${x.case ? ` (${String(x.case)})` : ''}`, value: `error: ${String(x.error).slice(0, 70)}`, target: '', result: 'FAIL' as const };
    const gz = x.case === 'gzip';
    return {
      figure: `HTTP ingest ${gz ? 'gzip' : 'NDJSON'} (${String(x.body_kib)} KiB bodies, ${String(x.concurrency)} clients)`,
      value: `${fmt(Number(x.mib_per_s))} MiB/s, ${fmt(Number(x.records_per_s), 0)} rec/s${gz ? ` (${fmt(Number(x.wire_mib_per_s))} MiB/s on the wire)` : ''}${Number(x.busy_429) > 0 ? `, ${String(x.busy_429)} x 429` : ''}`,
      target: '',
      result: '' as const,
    };
  });
}

function childJson(args: string[], name: string, log: (m: string) => void): Record<string, unknown>[] {
  log(`${name}: node ${args.slice(2).join(' ')}`);
  const r = spawnSync(process.execPath, args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 600_000, env: process.env });
  const out: Record<string, unknown>[] = [];
  for (const line of (r.stdout ?? '').split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      out.push(JSON.parse(t) as Record<string, unknown>);
    } catch {
      /* not a result line */
    }
  }
  if (out.length === 0) out.push({ error: `${name} bench printed no result (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` });
  for (const o of out) log(`${name}: ${JSON.stringify(o)}`);
  return out;
}

/** bench/forward.ts: agent -> central MiB/s of raw log, with and without gzip, and rsyslog's omfwd -> imtcp relay of the same data. */
function forwardRows(res: Record<string, unknown>[]): Row[] {
  const peer = res.find((x) => x.case === 'rsyslog omfwd -> imtcp' && !('error' in x));
  return res.map((x) => {
    if ('error' in x) return { figure: `Forward agent -> central${x.case ? ` (${String(x.case)})` : ''}`, value: `error: ${String(x.error).slice(0, 70)}`, target: '', result: 'FAIL' as const };
    const lines = `${Number(x.lines).toLocaleString('en-US')} / ${Number(x.expected).toLocaleString('en-US')} lines`;
    if (x === peer) return { figure: 'Forward peer: rsyslog omfwd -> imtcp -> omfile', value: `${fmt(Number(x.mib_per_s))} MiB/s, ${lines}`, target: '', result: x.complete !== true ? ('FAIL' as const) : ('' as const) };
    const gz = x.case === 'gzip';
    const ratio = peer !== undefined ? `, ${fmt(Number(x.mib_per_s) / Number(peer.mib_per_s), 2)}x rsyslog` : '';
    return {
      figure: `Forward agent -> central ${gz ? 'gzip' : 'NDJSON'} (spool ${fmt(Number(x.spool_mib_per_s))} MiB/s)`,
      value: `${fmt(Number(x.mib_per_s))} MiB/s${ratio}, ${lines}`,
      target: gz ? '>= 50 MiB/s' : '',
      result: x.complete !== true ? ('FAIL' as const) : gz ? passFail(Number(x.mib_per_s) >= 50) : ('' as const),
    };
  });
}

/** bench/cluster.ts: the agent's publish rate, then 1, 2 and 3 servers taking the same records off JetStream. */
function clusterRows(res: Record<string, unknown>[]): Row[] {
  return res.map((x) => {
    if ('error' in x) return { figure: `Cluster${x.case ? ` (${String(x.case)})` : ''}`, value: `error: ${String(x.error).slice(0, 70)}`, target: '', result: 'FAIL' as const };
    const done = x.complete === true ? ('' as const) : ('FAIL' as const);
    if (x.case === 'agent publish') return { figure: 'Cluster: agent -> JetStream publish', value: `${fmt(Number(x.records_per_s) / 1000, 0)}k records/s (${fmt(Number(x.mib_per_s))} MiB/s)`, target: '', result: done };
    return {
      figure: `Cluster: ${String(x.case)} from JetStream (${x.cores} cores)`,
      value: `${fmt(Number(x.records_per_s) / 1000, 0)}k records/s, ${fmt(Number(x.cpu_us_per_record), 1)} CPU-us/record`,
      target: '',
      result: done,
    };
  });
}

function extraRows(r: { rules?: Record<string, unknown>; docker?: Record<string, unknown>[]; syslog?: Record<string, unknown>[]; ingest?: Record<string, unknown>[]; forward?: Record<string, unknown>[]; cluster?: Record<string, unknown>[] }): Row[] {
  const rows: Row[] = [];
  if (r.rules) {
    if ('error' in r.rules) rows.push({ figure: 'Rule stage (100 rules)', value: `error: ${String(r.rules.error).slice(0, 70)}`, target: '>= 500k lines/s', result: 'FAIL' });
    else {
      const cpu = Number(r.rules.match_lines_per_cpu_s);
      rows.push({ figure: 'Rule matching, 100 rules (per CPU-s)', value: `${fmt(cpu / 1000, 0)}k lines/s`, target: '>= 500k lines/s', result: passFail(cpu >= 500_000) });
      rows.push({ figure: 'Rule engine incl. store (per CPU-s)', value: `${fmt(Number(r.rules.engine_lines_per_cpu_s) / 1000, 0)}k lines/s`, target: '', result: '' });
      rows.push({
        figure: 'ReDoS ^(a+)+$ on 100 kB: test / engine',
        value: `${fmt(Number(r.rules.redos_test_ms), 2)} / ${fmt(Number(r.rules.redos_engine_ms), 2)} ms${r.rules.redos_correct === false ? ' (wrong answer)' : ''}`,
        target: '< 1000 ms each',
        result: passFail(r.rules.redos_pass === true),
      });
    }
  }
  for (const d of r.docker ?? []) {
    if ('error' in d) rows.push({ figure: 'Docker source', value: `error: ${String(d.error).slice(0, 70)}`, target: '', result: '' });
    else {
      rows.push({ figure: `Docker source, ${String(d.case)}`, value: `${fmt(Number(d.lines_per_s), 0)} lines/s`, target: '', result: '' });
      if (d.read_lines_per_s !== undefined) rows.push({ figure: `Docker source, ${String(d.case)}, first to last record`, value: `${fmt(Number(d.read_lines_per_s), 0)} lines/s`, target: '', result: '' });
    }
  }
  rows.push(...syslogRows(r.syslog ?? []));
  rows.push(...ingestRows(r.ingest ?? []));
  rows.push(...forwardRows(r.forward ?? []));
  rows.push(...clusterRows(r.cluster ?? []));
  return rows;
}
