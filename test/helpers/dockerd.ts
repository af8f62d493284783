/**
 * Test harness for the Docker source: a private `dockerd` (vfs storage, no
 * bridge, no iptables, its own data/exec roots and socket under a temp dir),
 * a busybox image imported from the host's `busybox-static` binary, helpers
 * to run containers through the docker CLI, restart the engine, and stop
 * everything (containers, dockerd and its containerd, temp dirs) afterwards.
 *
 * `hasDockerd` is false when the binaries are missing; suites use
 * `describe.skipIf(!hasDockerd)` and call `warnSkipped()` so the skip is loud.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, copyFileSync, openSync, closeSync, readFileSync, symlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { requires } from './requires.js';

function which(bin: string, extra: string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/usr/local/bin', ...extra];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, bin);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export const dockerdBin = which('dockerd');
export const dockerBin = which('docker');
export const busyboxBin = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export const hasDockerd = Boolean(dockerdBin && dockerBin && busyboxBin && isRoot);
export const skipReason = !dockerdBin
  ? 'no dockerd binary (install Debian docker.io)'
  : !dockerBin
    ? 'no docker CLI'
    : !busyboxBin
      ? 'no /bin/busybox (install Debian busybox-static)'
      : !isRoot
        ? 'dockerd needs root'
        : '';

/** Print loudly which tests a suite skipped and why. */
export function warnSkipped(suite: string, tests: string[]): void {
  // skipped loudly; under SLUICE_REQUIRE_ALL=1 (.ci/run) the file fails instead
  if (requires(`a Docker engine for ${suite}`, hasDockerd, skipReason)) return;
  console.warn(tests.map((t) => `!!!   - ${t}`).join('\n') + '\n');
}

export const TEST_IMAGE = 'sluice-test/busybox:latest';

export interface RunOptions {
  name: string;
  /** Shell script run by busybox sh -c. */
  script: string;
  tty?: boolean;
  labels?: Record<string, string>;
  restart?: string;
}

export interface Engine {
  /** Path of the engine's Unix socket. */
  readonly socket: string;
  readonly dir: string;
  /** Run the docker CLI against this engine; resolves with stdout (trimmed). */
  docker(args: string[], input?: Buffer): Promise<string>;
  /** `docker run -d --network none ...`; resolves with the container id. */
  run(opts: RunOptions): Promise<string>;
  /** Engine API GET, JSON decoded. */
  get<T = unknown>(p: string): Promise<T>;
  /** Stop dockerd (SIGTERM, wait) and start it again over the same roots. */
  restart(): Promise<void>;
  /** Remove every container, stop dockerd, delete the temp dirs. Idempotent. */
  stop(): Promise<void>;
}

export interface EngineOptions {
  /** Keep containers running while dockerd is down (needed to restart it mid-stream). */
  liveRestore?: boolean;
}

const liveDaemons = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort if a test run dies before afterAll: never leave a dockerd behind.
  process.on('exit', () => {
    for (const c of liveDaemons) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath: socket, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

/**
 * dockerd bind-mounts its data root onto itself and does not always undo it
 * on exit; lazily unmount whatever is still mounted under `dir` (deepest
 * first) so the temp dir can be removed.
 */
async function unmountUnder(dir: string): Promise<void> {
  let mounts: string[];
  try {
    mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m === dir || m.startsWith(dir + '/'));
  } catch {
    return;
  }
  mounts.sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    await new Promise<void>((resolve) => execFile('umount', ['-l', m], () => resolve()));
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startEngine(opts: EngineOptions = {}): Promise<Engine> {
  if (!hasDockerd) throw new Error(`cannot start dockerd: ${skipReason}`);
  installExitHook();
  // Short path: the socket path must fit in sun_path (108 bytes).
  const dir = mkdtempSync(path.join(tmpdir(), 'sdk-'));
  const socket = path.join(dir, 'docker.sock');
  const args = [
    '--storage-driver=vfs',
    '--bridge=none',
    '--iptables=false',
    '--ip6tables=false',
    '--userland-proxy=false',
    '--data-root', path.join(dir, 'data'),
    '--exec-root', path.join(dir, 'exec'),
    '--pidfile', path.join(dir, 'docker.pid'),
    '-H', `unix://${socket}`,
  ];
  if (opts.liveRestore) args.push('--live-restore');
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: path.join(dir, 'cli') };
  let daemon: ChildProcess | undefined;
  let stopped = false;

  async function launch(): Promise<void> {
    const fd = openSync(path.join(dir, 'dockerd.log'), 'a');
    const child = spawn(dockerdBin!, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    liveDaemons.add(child);
    child.once('exit', () => liveDaemons.delete(child));
    daemon = child;
    for (let i = 0; i < 300; i++) {
      if (child.exitCode !== null) break;
      if (await ping(socket)) return;
      await sleep(100);
    }
    const log = readFileSync(path.join(dir, 'dockerd.log'), 'utf8').split('\n').slice(-20).join('\n');
    throw new Error(`dockerd did not answer /_ping:\n${log}`);
  }

  async function halt(): Promise<void> {
    const child = daemon;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  function docker(argv: string[], input?: Buffer): Promise<string> {
    return new Promise((resolve, reject) => {
      const p = execFile(dockerBin!, argv, { env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`docker ${argv.join(' ')}: ${err.message}\n${stderr}`));
        else resolve(String(stdout).trim());
      });
      if (input) p.stdin!.end(input);
      else p.stdin?.end();
    });
  }

  function get<T>(p: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = http.get({ socketPath: socket, path: p }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
          } catch (e) {
            reject(e as Error);
          }
        });
      });
      req.on('error', reject);
    });
  }

  try {
    await launch();
    // A minimal image: busybox-static plus its applet symlinks.
    const rootfs = path.join(dir, 'rootfs');
    mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    mkdirSync(path.join(rootfs, 'tmp'), { recursive: true });
    copyFileSync(busyboxBin!, path.join(rootfs, 'bin', 'busybox'));
    // Relative links: `busybox --install -s DIR` would point them at the host's busybox path.
    const applets = await new Promise<string[]>((resolve, reject) =>
      execFile(busyboxBin!, ['--list'], (err, out) => (err ? reject(err) : resolve(String(out).split('\n').filter(Boolean)))),
    );
    for (const a of applets) if (a !== 'busybox' && !a.includes('/')) symlinkSync('busybox', path.join(rootfs, 'bin', a));
    const tar = await new Promise<Buffer>((resolve, reject) =>
      execFile('tar', ['-C', rootfs, '-cf', '-', '.'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (err, out) =>
        err ? reject(err) : resolve(out),
      ),
    );
    await docker(['import', '-', TEST_IMAGE], tar);
  } catch (e) {
    await halt();
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw e;
  }

  return {
    socket,
    dir,
    docker,
    get,
    async run(o: RunOptions): Promise<string> {
      const argv = ['run', '-d', '--network', 'none', '--name', o.name];
      if (o.tty) argv.push('-t');
      if (o.restart) argv.push('--restart', o.restart);
      for (const [k, v] of Object.entries(o.labels ?? {})) argv.push('--label', `${k}=${v}`);
      argv.push(TEST_IMAGE, 'sh', '-c', o.script);
      return docker(argv);
    },
    async restart(): Promise<void> {
      await halt();
      await launch();
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      if (daemon && daemon.exitCode === null && (await ping(socket))) {
        const ids = (await docker(['ps', '-aq']).catch(() => '')).split('\n').filter(Boolean);
        if (ids.length) await docker(['rm', '-f', ...ids]).catch(() => '');
      }
      await halt();
      await unmountUnder(dir);
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    },
  };
}
