/**
 * Datagrams the kernel dropped on one UDP socket (its receive buffer was
 * full): the `drops` column of /proc/net/udp and /proc/net/udp6 (Linux),
 * found by the socket's inode. Node does not expose a dgram socket's fd, so
 * the inode is the one row with our local port whose inode is among this
 * process's open sockets (/proc/self/fd -> "socket:[inode]").
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface UdpRow {
  port: number;
  inode: number;
  drops: number;
}

/** The rows of a /proc/net/udp(6) table (the header line skipped; malformed lines ignored). */
export function parseProcUdp(text: string): UdpRow[] {
  const out: UdpRow[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 13) continue;
    const local = f[1]!;
    const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    const inode = Number(f[9]);
    const drops = Number(f[12]);
    if (Number.isFinite(port) && Number.isFinite(inode) && Number.isFinite(drops)) out.push({ port, inode, drops });
  }
  return out;
}

function read(file: string): UdpRow[] {
  try {
    return parseProcUdp(readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}

function ownSocketInodes(): Set<number> {
  const out = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) out.add(Number(m[1]));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

export class KernelDrops {
  readonly #port: number;
  readonly #file: string;
  #inode: number | undefined;

  /** `family` 4 or 6: which table the socket is in. */
  constructor(port: number, family: 4 | 6) {
    this.#port = port;
    this.#file = family === 6 ? '/proc/net/udp6' : '/proc/net/udp';
  }

  /** The socket's drop count so far, or undefined when it cannot be read (not Linux, or the socket is not found). */
  read(): number | undefined {
    const rows = read(this.#file);
    if (this.#inode === undefined) {
      const mine = rows.filter((r) => r.port === this.#port);
      if (mine.length === 0) return undefined;
      // another process may hold the same port on another address: ours is among our fds
      const own = ownSocketInodes();
      this.#inode = mine.find((r) => own.has(r.inode))?.inode;
      if (this.#inode === undefined) return undefined;
    }
    return rows.find((r) => r.inode === this.#inode)?.drops;
  }
}
