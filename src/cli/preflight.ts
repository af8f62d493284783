/**
 * `sluice check`'s look at the machine: a configuration can be valid and
 * still fail at run time. Warnings (not errors: the daemon starts, retries
 * and says so in its state) for what can be seen from here: a Docker socket
 * that is absent, not a socket or refusing; a path whose directory does not
 * exist; a listener address already in use or not allowed.
 */
import dgram from 'node:dgram';
import { statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import picomatch from 'picomatch';
import type { Config } from '../config/schema.js';
import { splitHostPort } from '../sinks/tcp/server.js';

export async function preflight(cfg: Config): Promise<string[]> {
  const out: string[] = [];
  const tcp: [string, string][] = [['server.listen', cfg.server.listen]];
  const udp: [string, string][] = [];
  cfg.streams.forEach((s, i) => s.tcp && tcp.push([`streams[${i}].tcp`, s.tcp]));
  for (const [i, s] of cfg.sources.entries()) {
    const key = `sources[${i}]`;
    if (s.type === 'docker') {
      const w = await dockerSocket(s.socket);
      if (w) out.push(`${key}.socket: ${s.socket} ${w}`);
    } else if (s.type === 'file') {
      s.paths.forEach((p, j) => {
        const base = globBase(p);
        if (base !== null && !exists(base)) out.push(`${key}.paths[${j}]: directory ${base} does not exist: nothing is read there until it is created`);
      });
    } else if (s.type === 'socket') {
      const dir = path.dirname(path.resolve(s.path));
      if (!exists(dir)) out.push(`${key}.path: directory ${dir} does not exist: the socket cannot be created and the daemon will not start`);
    } else if (s.type === 'syslog') {
      if (s.tcp) tcp.push([`${key}.tcp`, s.tcp]);
      if (s.tls) tcp.push([`${key}.tls.listen`, s.tls.listen]);
      if (s.udp) udp.push([`${key}.udp`, s.udp]);
    }
  }
  for (const [key, addr] of tcp) {
    const w = await bindable(addr, 'tcp');
    if (w) out.push(`${key}: ${addr} ${w}`);
  }
  for (const [key, addr] of udp) {
    const w = await bindable(addr, 'udp');
    if (w) out.push(`${key}: ${addr} ${w}`);
  }
  return out;
}

/** The directory a glob starts from (its part before the first wildcard), or null for a relative pattern. */
export function globBase(pattern: string): string | null {
  const base = picomatch.scan(pattern).base;
  return base && path.isAbsolute(base) ? base : base ? path.resolve(base) : null;
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

const SOCKET_HINT: Record<string, string> = {
  ENOENT: 'does not exist (is Docker installed and running?): the source will be in error and retry',
  ECONNREFUSED: 'refuses connections (is dockerd running?): the source will be in error and retry',
  EACCES: 'is not accessible to this user (add it to the docker group, or run as root)',
};

async function dockerSocket(socket: string): Promise<string | null> {
  let st;
  try {
    st = statSync(socket);
  } catch (err) {
    return SOCKET_HINT[(err as NodeJS.ErrnoException).code ?? ''] ?? `cannot be read: ${(err as Error).message}`;
  }
  if (!st.isSocket()) return 'is not a socket';
  return new Promise((resolve) => {
    const c = net.connect(socket);
    const done = (w: string | null) => {
      c.destroy();
      resolve(w);
    };
    c.setTimeout(2000, () => done(null)); // slow, not refused: the daemon will see
    c.once('connect', () => done(null));
    c.once('error', (err: NodeJS.ErrnoException) => done(SOCKET_HINT[err.code ?? ''] ?? `cannot be reached: ${err.message}`));
  });
}

const BIND_HINT: Record<string, string> = {
  EADDRINUSE: 'is already in use (another process listens there): the daemon will not start',
  EACCES: 'needs privileges (a port below 1024): the daemon will not start as this user',
  EADDRNOTAVAIL: 'is not an address of this machine: the daemon will not start',
};

/** Try to bind the address and let it go at once: why not, or null when it can be bound. */
function bindable(addr: string, kind: 'tcp' | 'udp'): Promise<string | null> {
  const { host, port } = splitHostPort(addr);
  return new Promise((resolve) => {
    const fail = (err: NodeJS.ErrnoException) => resolve(BIND_HINT[err.code ?? ''] ?? `cannot be bound: ${err.message}`);
    if (kind === 'udp') {
      const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
      s.once('error', (err) => {
        s.close();
        fail(err);
      });
      s.bind(port, host, () => s.close(() => resolve(null)));
      return;
    }
    const s = net.createServer();
    s.once('error', fail);
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(null)));
  });
}
