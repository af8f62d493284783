/**
 * `sluice check` on a valid configuration that the machine will make fail:
 * a warning for each thing it can see (exit 0: the config itself is valid),
 * and none when the machine agrees with the configuration.
 */
import dgram from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, runCli, stopAll, tempDir } from '../helpers/daemon.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
  stopAll();
});

function listenTcp(port: number): Promise<void> {
  const s = net.createServer();
  closers.push(() => s.close());
  return new Promise((r) => s.listen(port, '127.0.0.1', () => r()));
}

function listenUnix(p: string): Promise<void> {
  const s = net.createServer((c) => c.destroy());
  closers.push(() => s.close());
  return new Promise((r) => s.listen(p, () => r()));
}

async function bindUdp(): Promise<number> {
  const s = dgram.createSocket('udp4');
  closers.push(() => s.close());
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s.address().port;
}

function config(dir: string, o: { listen: number; dockerSocket: string; glob: string; udp: number; tcp: number }): string {
  const f = path.join(dir, 'sluice.toml');
  writeFileSync(
    f,
    `data_dir = "${dir}/data"
[server]
listen = "127.0.0.1:${o.listen}"
admin_token = "preflight-token-0123456789"
[[sources]]
name = "app"
type = "file"
paths = ["${o.glob}"]
[[sources]]
name = "dock"
type = "docker"
socket = "${o.dockerSocket}"
[[sources]]
name = "sys"
type = "syslog"
udp = "127.0.0.1:${o.udp}"
tcp = "127.0.0.1:${o.tcp}"
`,
  );
  return f;
}

describe('sluice check looks at the machine', () => {
  it('warns about an absent Docker socket, a missing directory and addresses in use, with their key paths, and exits 0', async () => {
    const dir = tempDir();
    const [listen, tcp] = [await freePort(), await freePort()];
    await listenTcp(listen);
    await listenTcp(tcp);
    const udp = await bindUdp();
    const f = config(dir, { listen, tcp, udp, dockerSocket: path.join(dir, 'missing', 'docker.sock'), glob: path.join(dir, 'logs', 'app', '*.log') });
    const r = await runCli(['check', '-c', f]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: /);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: '));
    expect(warnings).toEqual([
      `warning: sources[0].paths[0]: directory ${path.join(dir, 'logs', 'app')} does not exist: nothing is read there until it is created`,
      `warning: sources[1].socket: ${path.join(dir, 'missing', 'docker.sock')} does not exist (is Docker installed and running?): the source will be in error and retry`,
      `warning: server.listen: 127.0.0.1:${listen} is already in use (another process listens there): the daemon will not start`,
      `warning: sources[2].tcp: 127.0.0.1:${tcp} is already in use (another process listens there): the daemon will not start`,
      `warning: sources[2].udp: 127.0.0.1:${udp} is already in use (another process listens there): the daemon will not start`,
    ]);
  });

  it('a Docker socket path that is a regular file is "not a socket"', async () => {
    const dir = tempDir();
    const sock = path.join(dir, 'docker.sock');
    writeFileSync(sock, '');
    mkdirSync(path.join(dir, 'logs'));
    const f = config(dir, { listen: await freePort(), tcp: await freePort(), udp: await freePort(), dockerSocket: sock, glob: path.join(dir, 'logs', '*.log') });
    const r = await runCli(['check', '-c', f]);
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('warning: '))).toEqual([`warning: sources[1].socket: ${sock} is not a socket`]);
  });

  it('no warning when the machine agrees: the directory exists, a socket answers, the ports are free', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'logs'));
    const sock = path.join(dir, 'docker.sock');
    await listenUnix(sock);
    const f = config(dir, { listen: await freePort(), tcp: await freePort(), udp: await freePort(), dockerSocket: sock, glob: path.join(dir, 'logs', '**', '*.log') });
    const r = await runCli(['check', '-c', f]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('warning:');
  });
});
