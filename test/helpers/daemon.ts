/**
 * Start a real `sluice run` process for integration tests (from source via
 * tsx, so tests never run a stale build), wait for /healthz, and stop it
 * (SIGTERM, then SIGKILL after a deadline). Every process started here is
 * killed by stopAll() in afterAll/afterEach.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { daemonNodeFlags } from '../../src/cli/node-flags.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const running = new Set<ChildProcess>();

export function tempDir(prefix = 'sluice-it-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/**
 * A port for a daemon (or a server) a test is about to start.
 *
 * Under vitest: one from a block of 1,000 ports of this test worker's own
 * (VITEST_POOL_ID), below the kernel's ephemeral range (32768+ on Linux), that
 * nothing listens on now. A port that `listen(0)` handed out and freed again
 * could be handed to another process before the daemon bound it: a server of
 * another test file running beside (which then answered the daemon's
 * /healthz probe in its place) or the bench, which happened with
 * `npm run bench` beside `npm test`. Below the ephemeral range nobody gets a
 * port without naming it, and each worker names its own.
 * Outside vitest (scripts): any free port, as before.
 */
const POOL = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? NaN);
let nextInBlock = 0;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  if (Number.isInteger(POOL) && POOL >= 1) {
    const base = 20_000 + ((POOL - 1) % 12) * 1000;
    for (let i = 0; i < 1000; i++) {
      const port = base + (nextInBlock++ % 1000);
      if (await canListen(port)) return port;
    }
  }
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface DaemonHandle {
  proc: ChildProcess;
  url: string;
  port: number;
  configFile: string;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  kill9(): Promise<void>;
}

export function sluiceArgs(...args: string[]): string[] {
  return [...daemonNodeFlags(), '--import', 'tsx', path.join(ROOT, 'src/cli/entry.ts'), ...args];
}

/** The same, runnable from any directory (tsx named by its absolute path: no ./node_modules there). */
export function sluiceArgsAnywhere(...args: string[]): string[] {
  return sluiceArgs(...args).map((a) => (a === 'tsx' ? path.join(ROOT, 'node_modules/tsx/dist/loader.mjs') : a));
}

/** No token, data_dir or listen address from the environment the tests run in (the CLI's own lookups). */
export const CLEAN_ENV = { SLUICE_TOKEN: '', SLUICE_ADMIN_TOKEN: '', SLUICE_SERVER_ADMIN_TOKEN: '', SLUICE_DATA_DIR: '', SLUICE_SERVER_LISTEN: '' };

/**
 * Run the CLI to completion (for check, rules test, ...). `cwd`: run it there
 * (an empty directory: no ./sluice.toml, no ./data) instead of the checkout.
 */
export async function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const argv = opts.cwd !== undefined ? sluiceArgsAnywhere(...args) : sluiceArgs(...args);
  const p = spawn(process.execPath, argv, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(p);
  let stdout = '';
  let stderr = '';
  p.stdout!.on('data', (d) => (stdout += d));
  p.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  const code = await new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
  clearTimeout(timer);
  running.delete(p);
  return { code, stdout, stderr };
}

export async function startDaemon(configToml: string, opts: { dir?: string; port?: number; env?: NodeJS.ProcessEnv } = {}): Promise<DaemonHandle> {
  const dir = opts.dir ?? tempDir();
  const port = opts.port ?? (await freePort());
  const configFile = path.join(dir, 'sluice.toml');
  // [server] goes last: top-level keys of the given config must come before any table header
  const full = configToml.includes('[server]') ? configToml : `${configToml}\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "test-admin-token-0123456789"\n`;
  writeFileSync(configFile, full);
  return launch(configFile, port, opts.env);
}

/** (Re)start a daemon on an existing config file (e.g. after kill9). */
export async function launch(configFile: string, port: number, env?: NodeJS.ProcessEnv, probe?: () => Promise<boolean>): Promise<DaemonHandle> {
  const proc = spawn(process.execPath, sluiceArgs('run', '-c', configFile), {
    cwd: ROOT, // tsx resolves from here; tests use absolute paths
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(proc);
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => proc.on('exit', (c) => {
    running.delete(proc);
    r(c);
  }));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`sluice exited with ${proc.exitCode}: ${err}`);
    try {
      if (probe ? await probe() : (await fetch(`${url}/healthz`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`sluice did not become healthy: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proc,
    url,
    port,
    configFile,
    stderr: () => err,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
    async kill9() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export function stopAll(): void {
  for (const p of running) p.kill('SIGKILL');
  running.clear();
}

export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 20_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const ADMIN = 'test-admin-token-0123456789';
export const authHeaders = { Authorization: `Bearer ${ADMIN}` };

/** The TOML of a file source reading `file` from its start, polling fast (tests append and wait). */
export function fileSourceToml(name: string, file: string, extra = ''): string {
  return `[[sources]]\nname = "${name}"\ntype = "file"\npaths = ["${file}"]\nfrom = "start"\npoll_interval = "100ms"\n${extra}`;
}
