/**
 * Agent -> central on loopback (`npm run bench -- --only forward`): two
 * daemons (the built CLI); the agent tails a copy of the bench dataset
 * (BENCH_FORWARD_MB, default 256 MiB of the mixed lines, bench/gen.ts) and
 * forwards it to the central's HTTP source; the clock runs from the file's
 * appearance until the central's source has counted every line. Cases: with
 * gzip (the default) and without. MiB/s = raw log MiB / wall time; also the
 * spool's write rate (the agent's bytes through its spool per second) and
 * both daemons' CPU. Then the same dataset through two rsyslogd, omfwd ->
 * imtcp (bench/rsyslog-forward.ts). Prints one JSON line per case;
 * BENCH_FORWARD_CASES=gzip,ndjson,rsyslog picks some.
 */
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ensureDataset } from './gen.js';
import { runRsyslogForward } from './rsyslog-forward.js';
import { runDirFor, startSluice } from './sluice.js';
import { MiB, nowMs, sleep, stopAll } from './util.js';

const SIZE_MB = Number(process.env.BENCH_FORWARD_MB ?? 256);
/** BENCH_FORWARD_CASES=gzip,ndjson,rsyslog: only these cases (default all three). */
const ONLY = process.env.BENCH_FORWARD_CASES?.split(',').map((s) => s.trim());
const wanted = (c: string): boolean => ONLY === undefined || ONLY.includes(c);
const INGEST_TOKEN = 'bench-ingest-token-0123456789';

async function runCase(gzip: boolean): Promise<Record<string, unknown>> {
  const ds = ensureDataset(SIZE_MB);
  const central = await startSluice({
    label: `forward-central-${gzip ? 'gzip' : 'plain'}`,
    paths: [path.join(runDirFor('none'), '*.log')],
    from: 'end',
    tcp: false,
    extraToml: `\n[[sources]]\nname = "edge"\ntype = "http"\ntoken = "${INGEST_TOKEN}"\nmax_body_bytes = "64MiB"\nmax_inflated_bytes = "64MiB"\n`,
  });
  const runDir = runDirFor(`forward-agent-${gzip ? 'gzip' : 'plain'}`);
  const inDir = path.join(runDir, 'in');
  mkdirSync(inDir, { recursive: true });
  const file = path.join(inDir, 'mixed.log');
  const agent = await startSluice({
    label: 'forward-agent',
    runDir,
    paths: [file],
    from: 'start',
    tcp: false,
    extraToml: `\n[[forward]]\nurl = "${central.baseUrl}/api/ingest?source=edge"\ntoken = "${INGEST_TOKEN}"\nallow_hosts = ["127.0.0.1:${central.httpPort}"]\ngzip = ${gzip}\nbatch_bytes = "4MiB"\n`,
  });
  try {
    const records = async (): Promise<number> => {
      // the source's own status: /api/status also reads the process's memory and every counter
      const st = (await central.getJson('/api/sources/edge')) as { counters: { records?: number } };
      return st.counters.records ?? 0;
    };
    const cpuA = agent.cpu();
    const cpuC = central.cpu();
    const t0 = nowMs();
    copyFileSync(ds.path, file);
    let got = 0;
    const deadline = t0 + 600_000;
    while ((got = await records()) < ds.lines && nowMs() < deadline) await sleep(100);
    const wallS = (nowMs() - t0) / 1000;
    const fw = ((await agent.getJson('/api/status')) as { forward: { counters: Record<string, number> }[] }).forward[0]!;
    return {
      case: gzip ? 'gzip' : 'ndjson',
      mib_per_s: ds.bytes / MiB / wallS,
      lines_per_s: got / wallS,
      lines: got,
      expected: ds.lines,
      complete: got >= ds.lines,
      wall_s: wallS,
      spool_mib_per_s: (fw.counters.bytes_sent ?? 0) / MiB / wallS,
      batches: fw.counters.batches_sent,
      retries: fw.counters.retries,
      // from the POST to the central's answer, per batch (one batch is in flight at a time)
      send_ms_avg: Number(((fw.counters.send_ms_total ?? 0) / Math.max(1, fw.counters.batches_sent ?? 0)).toFixed(1)),
      agent_cpu_s: agent.cpu() - cpuA,
      central_cpu_s: central.cpu() - cpuC,
      input_mib: statSync(file).size / MiB,
    };
  } finally {
    await agent.stop();
    await central.stop();
  }
}

async function main(): Promise<void> {
  for (const gzip of [true, false]) {
    if (!wanted(gzip ? 'gzip' : 'ndjson')) continue;
    try {
      console.log(JSON.stringify(await runCase(gzip)));
    } catch (e) {
      console.log(JSON.stringify({ case: gzip ? 'gzip' : 'ndjson', error: (e as Error).message.split('\n')[0] }));
    }
  }
  // the same dataset relayed by rsyslog (omfwd -> imtcp), in the same run
  if (!wanted('rsyslog')) return;
  try {
    console.log(JSON.stringify(await runRsyslogForward(ensureDataset(SIZE_MB), (s) => console.error(s))));
  } catch (e) {
    console.log(JSON.stringify({ case: 'rsyslog omfwd -> imtcp', error: (e as Error).message.split('\n')[0] }));
  }
}

main()
  .catch((e) => console.log(JSON.stringify({ error: (e as Error).message })))
  .finally(() => void stopAll());
