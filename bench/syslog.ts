/**
 * Syslog ingest, side by side with the bench's own rsyslogd in the same run
 * (never the system service: own config, pid file and work directory, own
 * process group, stopped at the end):
 *
 * - tcp-1 / tcp-8: RFC 5424 lines with structured data sent as fast as TCP
 *   takes them over 1 and 8 connections (LF framing) by a sender process
 *   (bench/syslog-send.ts). Sluice parses them into records and publishes
 *   them on a stream, counted by a client of the stream's TCP output;
 *   rsyslogd (`imtcp` -> `omfile`, RSYSLOG_FileFormat) parses them and
 *   writes a file, counted by polling the file. lines/s = lines / (time of
 *   the last line - "go").
 * - udp-100k / udp-200k: datagrams paced at 100k and 200k per second for
 *   BENCH_SYSLOG_UDP_SECONDS (default 3) to Sluice (`udp_rcvbuf = 4MiB`) and
 *   to rsyslogd (`imudp`, `rcvbufSize = 4m`); delivered % = records / sent.
 *   The sender is bench/syslog-blast.c (sendmmsg, built with cc at the
 *   start; without a compiler bench/syslog-send.ts, which may fall short of
 *   the asked rate on a small machine); its achieved rate is reported.
 *
 * Each case runs Sluice, then rsyslogd, one after the other (the daemons
 * stay up for all cases). Run alone: `node --import tsx bench/syslog.ts`;
 * prints one JSON line per case (what `npm run bench -- --only syslog` reads).
 * BENCH_SYSLOG_LINES (default 2000000: a 500,000-line case lasted ~0.5 s, where
 * warm-up and the 10-20 ms polls of both peers weighed) sets the TCP lines per case,
 * BENCH_SYSLOG_CASES a subset of the cases (tcp-1,tcp-8,udp-100k,udp-200k),
 * BENCH_SYSLOG_UDP_NATIVE=0 reads Sluice's UDP with Node's dgram instead of
 * the native reader (`udp_native = false`); each UDP line names the reader.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { LineCounter, connectCounter } from './clients.js';
import { RSYSLOGD, rsyslogVersion } from './rsyslog.js';
import { REPO_ROOT, startSluice, type SluiceHandle } from './sluice.js';
import { BENCH_ROOT, freePort, nowMs, sleep, spawnManaged, stopAll, treeCpuSeconds, type Managed } from './util.js';

const env = process.env;
const LINES = Number(env.BENCH_SYSLOG_LINES ?? 2_000_000);
const UDP_SECONDS = Number(env.BENCH_SYSLOG_UDP_SECONDS ?? 3);
const UDP_NATIVE = env.BENCH_SYSLOG_UDP_NATIVE !== '0';
/** BENCH_SYSLOG_CASES=tcp-1,udp-100k: only these cases (default all four). */
const ONLY = env.BENCH_SYSLOG_CASES?.split(',').map((s) => s.trim());

interface Receiver {
  peer: 'sluice' | 'rsyslog';
  tcpPort: number;
  udpPort: number;
  /** Records delivered so far (monotonic over the whole run): Sluice's published records, rsyslog's file lines. */
  delivered(): number;
  /** Sluice: lines a live TCP client of the stream received. */
  streamed?(): number;
  /** Sluice: the syslog source's counters (kernel_drops, udp_overflow, ...). */
  counters?(): Promise<Record<string, number>>;
  /** Sluice: which reader reads its UDP socket (native or dgram) and its effective receive buffer. */
  udpReader?(): Promise<{ reader: string; rcvbuf: number }>;
  cpu(): number;
  stop(): Promise<void>;
}

/** Spawn the sender, wait until it is ready, then say "go"; resolves with its final report and the "go" time. */
async function send(args: Record<string, unknown>): Promise<{ goAt: number; done: Promise<Record<string, number>> }> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'bench/syslog-send.ts'), JSON.stringify(args)], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout! });
  const lines: Record<string, number>[] = [];
  let wake: (() => void) | undefined;
  rl.on('line', (l) => {
    if (!l.startsWith('{')) return;
    lines.push(JSON.parse(l) as Record<string, number>);
    wake?.();
  });
  const next = async (): Promise<Record<string, number>> => {
    while (lines.length === 0) {
      if (child.exitCode !== null) throw new Error(`sender exited (${child.exitCode})`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200);
      });
    }
    return lines.shift()!;
  };
  await next(); // ready
  const goAt = nowMs();
  child.stdin!.write('go\n');
  return { goAt, done: next().finally(() => child.kill()) };
}

async function sluiceReceiver(): Promise<Receiver> {
  const tcpPort = await freePort();
  const udpPort = await freePort();
  const h: SluiceHandle = await startSluice({
    label: 'syslog',
    paths: [path.join(BENCH_ROOT, 'syslog-none', '*.log')],
    from: 'end',
    tcp: true,
    replay: 10_000,
    extraToml: `
[[sources]]
name = "syslog"
type = "syslog"
stream = "bench"
tcp = "127.0.0.1:${tcpPort}"
udp = "127.0.0.1:${udpPort}"
udp_rcvbuf = "4MiB"
udp_native = ${UDP_NATIVE}
max_connections = 64
`,
  });
  // /healthz answers before the sources have bound their listeners (the UDP receiver is a thread that starts)
  for (let t0 = nowMs(); ; ) {
    const st = (await h.getJson('/api/status').catch(() => undefined)) as { sources?: { name: string; state: string }[] } | undefined;
    if (st?.sources?.find((x) => x.name === 'syslog')?.state === 'running') break;
    if (nowMs() - t0 > 30_000) throw new Error('the syslog source did not start within 30 s');
    await sleep(50);
  }
  // Published = accepted by the hub: the source's `records` counter, polled (a live TCP client of the
  // stream is counted too, but it may lose records to its lag bound at full speed: that is the hub's policy).
  // The source's own status, not /api/status: that one also reads the process's memory and every
  // counter, ~2.5 ms of the daemon's main thread 50 times a second, about 10% of what it had.
  let records = 0;
  let polling = true;
  const statusPoll = (async () => {
    while (polling) {
      try {
        const st = (await h.getJson('/api/sources/syslog')) as { counters: Record<string, number> };
        records = st.counters.records ?? records;
      } catch {
        /* busy: next time */
      }
      await sleep(20);
    }
  })();
  const counter = new LineCounter();
  const sock = await connectCounter('127.0.0.1', h.tcpPort!, counter);
  return {
    peer: 'sluice',
    tcpPort,
    udpPort,
    delivered: () => records,
    streamed: () => counter.lines,
    async counters() {
      const st = (await h.getJson('/api/status')) as { sources: { name: string; counters: Record<string, number> }[] };
      return st.sources.find((x) => x.name === 'syslog')?.counters ?? {};
    },
    async udpReader() {
      const st = (await h.getJson('/api/status')) as { sources: { name: string; listeners?: { transport: string; reader: string; rcvbuf: number }[] }[] };
      const l = st.sources.find((x) => x.name === 'syslog')?.listeners?.find((x) => x.transport === 'udp');
      return { reader: l?.reader ?? '?', rcvbuf: l?.rcvbuf ?? 0 };
    },
    cpu: () => h.cpu(),
    async stop() {
      polling = false;
      await statusPoll;
      sock.destroy();
      await h.stop();
    },
  };
}

async function rsyslogReceiver(): Promise<Receiver> {
  if (!existsSync(RSYSLOGD)) throw new Error(`${RSYSLOGD} not found`);
  const runDir = path.join(BENCH_ROOT, `rsyslog-syslog-${process.pid}-${Date.now()}`);
  const workDir = path.join(runDir, 'work');
  mkdirSync(workDir, { recursive: true });
  const tcpPort = await freePort();
  const udpPort = await freePort();
  const out = path.join(runDir, 'out.log');
  writeFileSync(out, '');
  const conf = path.join(runDir, 'rsyslog.conf');
  writeFileSync(
    conf,
    `# Generated by bench/syslog.ts: the bench's own rsyslogd, not the system service.
global(workDirectory="${workDir}" maxMessageSize="64k")
module(load="imtcp")
module(load="imudp")
ruleset(name="bench") {
  action(type="omfile" file="${out}" template="RSYSLOG_FileFormat")
}
input(type="imtcp" port="${tcpPort}" address="127.0.0.1" ruleset="bench")
input(type="imudp" port="${udpPort}" address="127.0.0.1" ruleset="bench" rcvbufSize="4m")
`,
  );
  const proc: Managed = spawnManaged('rsyslogd', RSYSLOGD, ['-n', '-f', conf, '-i', path.join(runDir, 'rsyslogd.pid')], { logFile: path.join(runDir, 'rsyslogd.out') });
  await sleep(700);
  if (!proc.isRunning()) throw new Error('rsyslogd exited at start');
  // count the output file's lines as it grows
  let lines = 0;
  let off = 0;
  const buf = Buffer.allocUnsafe(1 << 20);
  const poll = (): void => {
    let size: number;
    try {
      size = statSync(out).size;
    } catch {
      return;
    }
    if (size <= off) return;
    const fd = openSync(out, 'r');
    try {
      while (off < size) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, size - off), off);
        if (n <= 0) break;
        let i = buf.indexOf(10, 0);
        while (i !== -1 && i < n) {
          lines++;
          i = buf.indexOf(10, i + 1);
        }
        off += n;
      }
    } finally {
      closeSync(fd);
    }
  };
  const timer = setInterval(poll, 10);
  return {
    peer: 'rsyslog',
    tcpPort,
    udpPort,
    delivered: () => (poll(), lines),
    cpu: () => treeCpuSeconds(proc.pid),
    async stop() {
      clearInterval(timer);
      await proc.stop();
    },
  };
}

/** Wait until `target` more records arrived than `base`, or none arrived for `idleMs`; returns when the last one came. */
async function settle(r: Receiver, base: number, target: number, idleMs: number, timeoutMs: number): Promise<{ got: number; lastAt: number; outcome: string }> {
  const t0 = nowMs();
  let last = r.delivered();
  let lastAt = t0;
  for (;;) {
    await sleep(10);
    const n = r.delivered();
    const t = nowMs();
    if (n !== last) {
      last = n;
      lastAt = t;
    }
    if (n - base >= target) return { got: n - base, lastAt, outcome: 'complete' };
    if (t - lastAt > idleMs) return { got: n - base, lastAt, outcome: 'idle' };
    if (t - t0 > timeoutMs) return { got: n - base, lastAt, outcome: 'timeout' };
  }
}

async function tcpCase(r: Receiver, conns: number): Promise<Record<string, unknown>> {
  const base = r.delivered();
  const streamed0 = r.streamed?.() ?? 0;
  const cpu0 = r.cpu();
  const c0 = (await r.counters?.()) ?? {};
  const s = await send({ mode: 'tcp', port: r.tcpPort, conns, lines: LINES });
  const res = await settle(r, base, LINES, 5000, 300_000);
  await s.done;
  const wallS = (res.lastAt - s.goAt) / 1000;
  const out: Record<string, unknown> = { case: `tcp-${conns}`, peer: r.peer, lines: LINES, delivered: res.got, outcome: res.outcome, wall_s: +wallS.toFixed(3), lines_per_s: Math.round(res.got / wallS), cpu_s: +(r.cpu() - cpu0).toFixed(2) };
  if (r.streamed) out.streamed_to_live_client = r.streamed() - streamed0;
  if (r.counters) {
    // batches the main thread parsed itself (the threads were busy), and reads paused by back-pressure
    const c1 = await r.counters();
    for (const k of ['parsed_inline', 'paused']) out[k] = (c1[k] ?? 0) - (c0[k] ?? 0);
  }
  return out;
}

/** bench/syslog-blast.c built with cc (once per run), or undefined when there is no compiler: then the Node sender. */
let blaster: string | undefined | null = null;
function blast(): string | undefined {
  if (blaster !== null) return blaster;
  const out = path.join(BENCH_ROOT, `syslog-blast-${process.pid}`);
  try {
    execFileSync(env.CC ?? 'cc', ['-O2', '-o', out, path.join(REPO_ROOT, 'bench/syslog-blast.c')], { stdio: 'ignore' });
    blaster = out;
  } catch {
    blaster = undefined;
  }
  return blaster;
}

async function sendUdp(port: number, rate: number): Promise<Record<string, number>> {
  const b = blast();
  if (b === undefined) return (await send({ mode: 'udp', port, rate, seconds: UDP_SECONDS })).done;
  const out = await new Promise<string>((resolve, reject) => execFile(b, [String(port), String(rate), String(UDP_SECONDS)], (err, stdout) => (err ? reject(err) : resolve(stdout))));
  return JSON.parse(out.trim()) as Record<string, number>;
}

async function udpCase(r: Receiver, rate: number): Promise<Record<string, unknown>> {
  const base = r.delivered();
  const c0 = (await r.counters?.()) ?? {};
  const rep = await sendUdp(r.udpPort, rate);
  const res = await settle(r, base, rep.sent!, 1500, 60_000);
  const out: Record<string, unknown> = { case: `udp-${rate / 1000}k`, peer: r.peer, sender: blast() !== undefined ? 'syslog-blast.c' : 'syslog-send.ts', asked_rate: rate, achieved_rate: Math.round(rep.achievedRate!), sent: rep.sent, delivered: res.got, delivered_pct: +((100 * res.got) / rep.sent!).toFixed(3) };
  if (r.counters) {
    const c1 = await r.counters();
    for (const k of ['datagrams', 'kernel_drops', 'udp_overflow']) out[k] = (c1[k] ?? 0) - (c0[k] ?? 0);
  }
  if (r.udpReader) Object.assign(out, await r.udpReader());
  return out;
}

async function main(): Promise<void> {
  mkdirSync(BENCH_ROOT, { recursive: true });
  const receivers: Receiver[] = [];
  try {
    receivers.push(await sluiceReceiver());
    receivers.push(await rsyslogReceiver());
    const version = rsyslogVersion();
    const want = (c: string) => ONLY === undefined || ONLY.includes(c);
    for (const conns of [1, 8]) {
      if (want(`tcp-${conns}`)) for (const r of receivers) console.log(JSON.stringify({ ...(await tcpCase(r, conns)), rsyslog_version: version }));
    }
    for (const rate of [100_000, 200_000]) {
      if (want(`udp-${rate / 1000}k`)) for (const r of receivers) console.log(JSON.stringify({ ...(await udpCase(r, rate)), rsyslog_version: version }));
    }
  } catch (e) {
    console.log(JSON.stringify({ error: (e as Error).message }));
  } finally {
    await Promise.all(receivers.map((r) => r.stop()));
    await stopAll();
  }
}

await main();
