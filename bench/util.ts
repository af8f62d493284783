/**
 * Small helpers shared by the bench modules: free ports, child process
 * groups that are always killed, RSS of a process tree from /proc, a precise
 * wall clock and percentiles. Nothing here knows about Sluice or rsyslog.
 */

import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync, readdirSync, openSync, closeSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

export const BENCH_ROOT = process.env.BENCH_DIR ?? '/tmp/sluice-bench';

/** Wall-clock epoch milliseconds with sub-millisecond resolution (same clock in every process). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port that was free a moment ago (bind to 0, read it, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------- processes

export interface Managed {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or signal name) when the process exits. */
  exited: Promise<number | string>;
  isRunning(): boolean;
  /** SIGTERM the whole process group, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Managed>();

/**
 * Spawn in its own process group (detached) with stdout/stderr appended to
 * `logFile`, so a chatty child can never block on a full pipe and every
 * descendant dies with it.
 */
export function spawnManaged(name: string, cmd: string, args: string[], opts: SpawnOptions & { logFile: string }): Managed {
  const fd = openSync(opts.logFile, 'a');
  const { logFile: _logFile, ...rest } = opts;
  const child = spawn(cmd, args, { ...rest, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`failed to spawn ${cmd}`);
  let running = true;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve(code ?? signal ?? -1);
    });
    child.once('error', () => {
      running = false;
      resolve(-1);
    });
  });
  const pid = child.pid;
  const m: Managed = {
    name,
    child,
    pid,
    exited,
    isRunning: () => running,
    async stop(graceMs = 5000) {
      live.delete(m);
      if (!running) return;
      killGroup(pid, 'SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!done) {
        killGroup(pid, 'SIGKILL');
        await Promise.race([exited, sleep(2000)]);
      }
      // The leader may be gone while children linger: sweep the group.
      killGroup(pid, 'SIGKILL');
    },
  };
  live.add(m);
  return m;
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    /* already gone */
  }
}

/** Kill every managed process still alive (exit hooks; idempotent). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((m) => m.stop(2000)));
}

export function stopAllSync(): void {
  for (const m of live) killGroup(m.pid, 'SIGKILL');
  live.clear();
}

// ---------------------------------------------------------------- memory

/** VmRSS of one process in bytes, or 0 when it is gone. */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The pid and all its descendants (a launcher such as tsx runs node as a child). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const ent of readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      const stat = readFileSync(`/proc/${ent}/stat`, 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(after[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(ent));
      children.set(ppid, list);
    } catch {
      /* raced with exit */
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    for (const c of children.get(p) ?? []) stack.push(c);
  }
  return out;
}

/** Sum of VmRSS over the process tree rooted at `pid`, and the largest single process. */
export function treeRss(pid: number): { total: number; largest: number; pids: number } {
  let total = 0;
  let largest = 0;
  const pids = processTree(pid);
  for (const p of pids) {
    const r = rssOf(p);
    total += r;
    if (r > largest) largest = r;
  }
  return { total, largest, pids: pids.length };
}

let clkTck = 0;
function ticksPerSecond(): number {
  if (clkTck === 0) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/**
 * CPU seconds (user + system, all threads) used so far by the process tree
 * rooted at `pid`. On a shared 2-core machine wall time is noisy; CPU time per
 * GiB is the steadier efficiency figure beside it.
 */
export function treeCpuSeconds(pid: number): number {
  let s = 0;
  for (const p of processTree(pid)) s += processCpuSeconds(p);
  return s;
}

/** CPU seconds (user + system, all threads) used so far by the process `pid` alone (0 when it is gone). */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the comm field.
    return (Number(f[11]) + Number(f[12])) / ticksPerSecond();
  } catch {
    return 0; // gone
  }
}

// ---------------------------------------------------------------- stats

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export const MiB = 1024 * 1024;

export function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Poll `fn` until it returns true or `timeoutMs` elapses; returns whether it succeeded. */
export async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() >= end) return false;
    await sleep(everyMs);
  }
}

/**
 * Run a measurement with this thread's scheduling priority raised (nice -10,
 * when allowed: root), then restore it. The counting client shares the 2
 * cores with the program it measures; at normal priority a scheduling delay
 * of ~20 ms let Sluice's TCP stream run more than its ring ahead of it, and
 * the client was dropped (a gap) in about one run in six. Only this thread
 * is raised (Linux priorities are per thread), after the measured program
 * was started, so nothing it spawns inherits it. Used for Sluice and rsyslog
 * alike.
 */
export async function atMeasuringPriority<T>(fn: () => Promise<T>): Promise<T> {
  let before: number | undefined;
  try {
    before = os.getPriority();
    os.setPriority(Math.min(before, -10));
  } catch {
    before = undefined; // not permitted: measure at the normal priority
  }
  try {
    return await fn();
  } finally {
    if (before !== undefined) {
      try {
        os.setPriority(before);
      } catch {
        // raising a priority back up to its old value is always allowed
      }
    }
  }
}
