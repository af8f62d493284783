/**
 * A nats-server with JetStream of the test's own (never the machine's on
 * 4222): a free loopback port, a temp store directory, ready when it says
 * so on its log; stopped (or SIGKILLed) by the test, and every one still
 * running killed by stopAllNats().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort, tempDir, waitFor } from './daemon.js';

export const NATS_SERVER = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p));

const running = new Set<ChildProcess>();

export interface NatsHandle {
  url: string;
  port: number;
  dir: string;
  log(): string;
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

export async function startNats(opts: { port?: number; dir?: string; args?: string[] } = {}): Promise<NatsHandle> {
  if (NATS_SERVER === undefined) throw new Error('nats-server is not installed');
  const port = opts.port ?? (await freePort());
  const dir = opts.dir ?? tempDir('sluice-nats-');
  const proc = spawn(NATS_SERVER, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', path.join(dir, 'js'), ...(opts.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let log = '';
  const ready = new Promise<void>((resolve, reject) => {
    const on = (d: Buffer) => {
      log += d.toString();
      if (log.includes('Server is ready')) resolve();
    };
    proc.stdout!.on('data', on);
    proc.stderr!.on('data', on);
    proc.on('exit', (c) => reject(new Error(`nats-server exited with ${c}: ${log}`)));
  });
  const exited = new Promise<void>((r) => proc.on('exit', () => {
    running.delete(proc);
    r();
  }));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  try {
    await ready;
  } finally {
    clearTimeout(timer);
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    dir,
    log: () => log,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
    async kill9() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * A JetStream cluster of `n` nodes on loopback (routes between all of them),
 * returned once JetStream answers through every node (a meta leader elected).
 */
export async function startNatsCluster(n = 3): Promise<NatsHandle[]> {
  const cports = await Promise.all(Array.from({ length: n }, () => freePort()));
  const routes = cports.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const nodes = await Promise.all(cports.map((cp, i) => startNats({ args: ['--cluster_name', 'sluice-test', '-n', `n${i + 1}`, '--cluster', `nats://127.0.0.1:${cp}`, '--routes', routes] })));
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  for (const node of nodes) {
    await waitFor(async () => {
      let nc;
      try {
        nc = await connect({ servers: node.url });
        await (await jetstreamManager(nc, { timeout: 1000 })).getAccountInfo();
        return true;
      } catch {
        return false;
      } finally {
        await nc?.close();
      }
    }, `JetStream through ${node.url}`, 30_000, 200);
  }
  return nodes;
}

export function stopAllNats(): void {
  for (const p of running) p.kill('SIGKILL');
  running.clear();
}
