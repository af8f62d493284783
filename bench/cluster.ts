/**
 * Scale-out throughput (`npm run bench -- --only cluster`): how fast 1, 2
 * and 3 servers (`role = "server"`) take records off JetStream, on this
 * machine, with a nats-server of the bench's own.
 *
 * One agent (`role = "agent"`) first publishes a copy of the bench dataset
 * (BENCH_CLUSTER_MB, default 128 MiB of the mixed lines, bench/gen.ts) into
 * the records stream; its rate is reported as `agent publish`. Then, for
 * each count of servers, that many servers start on a durable consumer of
 * their own (a fresh one per case, so every case reads the same messages)
 * and the clock runs until JetStream has every message acknowledged: every
 * record pushed through each server's pipeline (hub, a rule, its SQLite
 * store) and acknowledged. Each server also follows the whole stream for
 * its live tail (bus/tail.ts), as in production. Prints one JSON line per
 * case: records/s, MiB/s of raw log, the servers' CPU-seconds and the
 * nats-server's, and the machine's cores (what bounds it is named in
 * bench/README.md).
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { ensureDataset } from './gen.js';
import { STREAM, TOKEN, runDirFor, startSluiceWith, type SluiceHandle } from './sluice.js';
import { BENCH_ROOT, MiB, freePort, nowMs, sleep, spawnManaged, stopAll, treeCpuSeconds, waitFor } from './util.js';

const SIZE_MB = Number(process.env.BENCH_CLUSTER_MB ?? 128);
const NATS_BIN = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p));

function busToml(url: string, consumer = 'sluice-servers'): string {
  return `[bus]\nkind = "nats"\nurl = "${url}"\nmax_bytes = "8GiB"\nconsumer = "${consumer}"\nfetch_batch = 64\n`;
}

async function startNats(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  if (NATS_BIN === undefined) throw new Error('nats-server is not installed (apt-get install nats-server)');
  const port = await freePort();
  const dir = path.join(BENCH_ROOT, `nats-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const proc = spawnManaged('nats-server', NATS_BIN, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], { logFile: path.join(dir, 'nats.out') });
  const url = `nats://127.0.0.1:${port}`;
  const up = await waitFor(async () => {
    try {
      const nc = await connect({ servers: url, timeout: 500 });
      await nc.close();
      return true;
    } catch {
      return false;
    }
  }, 15_000, 100);
  if (!up) throw new Error(`nats-server did not answer on ${url}`);
  return {
    url,
    pid: proc.pid,
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function consumerState(url: string, consumer: string): Promise<{ pending: number; ackPending: number; acked: number } | undefined> {
  const nc = await connect({ servers: url });
  try {
    const i = await (await jetstreamManager(nc)).consumers.info('sluice-records', consumer);
    return { pending: i.num_pending, ackPending: i.num_ack_pending, acked: i.ack_floor.stream_seq };
  } catch {
    return undefined;
  } finally {
    await nc.close();
  }
}

async function streamState(url: string): Promise<{ messages: number; bytes: number; lastSeq: number }> {
  const nc = await connect({ servers: url });
  try {
    const s = (await (await jetstreamManager(nc)).streams.info('sluice-records')).state;
    return { messages: s.messages, bytes: s.bytes, lastSeq: s.last_seq };
  } finally {
    await nc.close();
  }
}

async function startServer(url: string, consumer: string, k: number): Promise<SluiceHandle> {
  return startSluiceWith(`cluster-server-${k}`, async ({ dataDir, httpPort }) => ({
    toml: `role = "server"\ndata_dir = "${dataDir}"\n\n[server]\nlisten = "127.0.0.1:${httpPort}"\nadmin_token = "${TOKEN}"\n\n[[streams]]\nname = "${STREAM}"\n\n[rules]\nbucket_capacity = 1000000\n\n${busToml(url, consumer)}`,
  }));
}

async function main(): Promise<void> {
  const ds = ensureDataset(SIZE_MB);
  const nats = await startNats();
  try {
    // the agent publishes the dataset once; every case reads it
    const runDir = runDirFor('cluster-agent');
    const inDir = path.join(runDir, 'in');
    mkdirSync(inDir, { recursive: true });
    const file = path.join(inDir, 'mixed.log');
    const agent = await startSluiceWith('cluster-agent', async ({ dataDir, httpPort }) => ({
      toml: `role = "agent"\ndata_dir = "${dataDir}"\n\n[server]\nlisten = "127.0.0.1:${httpPort}"\nadmin_token = "${TOKEN}"\n\n[[sources]]\nname = "bench"\ntype = "file"\nstream = "${STREAM}"\npaths = ["${file}"]\nfrom = "start"\n\n${busToml(nats.url)}\n[bus.publish]\nbatch_records = 2000\nbatch_age = "50ms"\n`,
    }), runDir);
    const cpuA = agent.cpu();
    const cpuN0 = treeCpuSeconds(nats.pid);
    const t0 = nowMs();
    copyFileSync(ds.path, file);
    const published = await waitFor(async () => {
      const st = (await agent.getJson('/api/status')) as { sources: { name: string; counters: { records: number } }[]; forward: { spool_batches: number; open_batch_records: number }[] };
      const read = st.sources.find((s) => s.name === 'bench')?.counters.records ?? 0;
      const p = st.forward[0]!;
      return read >= ds.lines && p.spool_batches === 0 && p.open_batch_records === 0;
    }, 600_000, 100);
    const pubS = (nowMs() - t0) / 1000;
    const stream = await streamState(nats.url);
    console.log(JSON.stringify({
      case: 'agent publish', complete: published, records: ds.lines, mib_per_s: ds.bytes / MiB / pubS, records_per_s: ds.lines / pubS,
      wall_s: pubS, agent_cpu_s: agent.cpu() - cpuA, nats_cpu_s: treeCpuSeconds(nats.pid) - cpuN0, messages: stream.messages, stream_mib: stream.bytes / MiB, cores: cpus().length,
    }));
    await agent.stop();

    for (const n of [1, 2, 3]) {
      const consumer = `bench-${n}-servers`;
      const servers: SluiceHandle[] = [];
      try {
        for (let k = 0; k < n; k++) servers.push(await startServer(nats.url, consumer, k));
        // the clock starts once every server is up (the first ones start taking messages while the others start)
        const cpuN = treeCpuSeconds(nats.pid);
        const t1 = nowMs();
        const cpu0 = servers.map((s) => s.cpu());
        const before = await consumerState(nats.url, consumer);
        const ackedBefore = before?.acked ?? 0;
        // a rule on each (its own SQLite store): every record is matched
        for (const s of servers) {
          await fetch(`${s.baseUrl}/api/rules`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'errors', pattern: 'level=error|"level":"error"', severity: 'error' }) });
        }
        let seen = false;
        const done = await waitFor(async () => {
          const c = await consumerState(nats.url, consumer);
          if (c !== undefined) seen = true;
          return seen && c !== undefined && c.pending === 0 && c.ackPending === 0;
        }, 900_000, 100);
        const wallS = (nowMs() - t1) / 1000;
        const cpuDone = servers.map((s, i) => s.cpu() - cpu0[i]!);
        // each server's live tail reads every message too: when had they all read the last one
        const lastSeq = (await streamState(nats.url)).lastSeq;
        const tailsDone = await waitFor(async () => {
          for (const s of servers) {
            const st = (await s.getJson('/api/status')) as { bus_tail?: { last_message: number } };
            if ((st.bus_tail?.last_message ?? 0) < lastSeq) return false;
          }
          return true;
        }, 300_000, 100);
        const tailS = (nowMs() - t1) / 1000;
        const handled: number[] = [];
        for (const s of servers) {
          const st = (await s.getJson('/api/status')) as { sources: { name: string; counters: { records: number } }[] };
          handled.push(st.sources.find((x) => x.name === 'bus')?.counters.records ?? 0);
        }
        const cpu = cpuDone;
        const cpuTails = servers.map((s, i) => s.cpu() - cpu0[i]!).reduce((a, b) => a + b, 0);
        // what was acknowledged within the clock: the messages after the ack floor at its start (records in proportion)
        const share = stream.messages > 0 ? (stream.messages - ackedBefore) / stream.messages : 1;
        const timed = ds.lines * share;
        console.log(JSON.stringify({
          case: `${n} server${n > 1 ? 's' : ''}`, servers: n, complete: done, records: handled.reduce((a, b) => a + b, 0), per_server: handled,
          records_per_s: timed / wallS, mib_per_s: (ds.bytes * share) / MiB / wallS, wall_s: wallS, timed_share: share,
          servers_cpu_s: cpu.reduce((a, b) => a + b, 0), cpu_us_per_record: (cpu.reduce((a, b) => a + b, 0) * 1e6) / timed,
          tails_caught_up: tailsDone, tails_wall_s: tailS, servers_cpu_s_with_tails: cpuTails,
          nats_cpu_s: treeCpuSeconds(nats.pid) - cpuN, cores: cpus().length,
        }));
      } finally {
        for (const s of servers) await s.stop();
      }
      await sleep(500);
    }
  } finally {
    await nats.stop();
  }
}

main()
  .catch((e) => console.log(JSON.stringify({ error: (e as Error).message.split('\n')[0] })))
  .finally(() => void stopAll());
