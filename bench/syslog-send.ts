/**
 * The syslog bench's sender, a process of its own (so its CPU is not the
 * receiver's event loop): RFC 5424 lines with structured data, built up
 * front, then on "go" (a line on stdin) sent as fast as TCP takes them over
 * `conns` connections (LF framing), or over UDP at a paced `rate` per second
 * for `seconds`. Prints one JSON line when ready and one with what it sent.
 *
 *   node --import tsx bench/syslog-send.ts '{"mode":"tcp","port":5514,"conns":8,"lines":500000}'
 *   node --import tsx bench/syslog-send.ts '{"mode":"udp","port":5514,"rate":100000,"seconds":3}'
 */
import dgram from 'node:dgram';
import net from 'node:net';

interface Args {
  mode: 'tcp' | 'udp';
  port: number;
  host?: string;
  conns?: number;
  lines?: number;
  rate?: number;
  seconds?: number;
}

const a = JSON.parse(process.argv[2] ?? '{}') as Args;
const host = a.host ?? '127.0.0.1';
const WORDS = ['accepted', 'connection', 'from', 'user', 'session', 'opened', 'closed', 'request', 'served', 'in', 'ms', 'cache', 'miss', 'hit'];

/** One RFC 5424 line (no terminator) numbered `seq`, about 200 bytes. */
function line5424(seq: number): string {
  const sev = seq % 8;
  const ms = String(seq % 1000).padStart(3, '0');
  const words = Array.from({ length: 6 }, (_, i) => WORDS[(seq * 7 + i * 3) % WORDS.length]).join(' ');
  return `<${128 + sev}>1 2026-12-06T01:02:03.${ms}Z web-${seq % 16}.example.net nginx ${1000 + (seq % 50)} ACCESS [req@32473 id="${seq}" src_ip="10.1.${seq % 256}.${(seq >> 8) % 256}" status="${200 + (seq % 5)}"] ${words} seq=${String(seq).padStart(10, '0')}`;
}

function waitGo(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.once('data', () => resolve());
  });
}

async function tcp(): Promise<void> {
  const conns = a.conns ?? 1;
  const total = a.lines ?? 500_000;
  const per = Math.ceil(total / conns);
  const bufs: Buffer[] = [];
  let seq = 1;
  for (let c = 0; c < conns; c++) {
    const parts: string[] = [];
    for (let i = 0; i < per && seq <= total; i++) parts.push(line5424(seq++) + '\n');
    bufs.push(Buffer.from(parts.join('')));
  }
  const socks = await Promise.all(bufs.map(() => new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host, port: a.port }, () => resolve(s));
    s.once('error', reject);
  })));
  console.log(JSON.stringify({ ready: true, lines: total, bytes: bufs.reduce((n, b) => n + b.length, 0) }));
  await waitGo();
  const t0 = Date.now();
  await Promise.all(socks.map((s, i) => new Promise<void>((resolve) => {
    const buf = bufs[i]!;
    let off = 0;
    const CH = 256 * 1024;
    const pump = (): void => {
      while (off < buf.length) {
        const end = Math.min(buf.length, off + CH);
        const ok = s.write(buf.subarray(off, end));
        off = end;
        if (!ok) {
          s.once('drain', pump);
          return;
        }
      }
      s.end(() => resolve());
    };
    pump();
  })));
  console.log(JSON.stringify({ done: true, sent: total, startedAt: t0, endedAt: Date.now() }));
}

async function udp(): Promise<void> {
  const rate = a.rate ?? 100_000;
  const seconds = a.seconds ?? 3;
  const total = Math.round(rate * seconds);
  const msgs: Buffer[] = [];
  for (let i = 1; i <= Math.min(total, 65_536); i++) msgs.push(Buffer.from(line5424(i)));
  const sock = dgram.createSocket({ type: 'udp4', sendBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((resolve) => sock.connect(a.port, host, () => resolve()));
  console.log(JSON.stringify({ ready: true, datagrams: total }));
  await waitGo();
  const t0 = performance.now();
  const start = Date.now();
  let sent = 0;
  let errors = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      while (sent < due) {
        sock.send(msgs[sent % msgs.length]!, (err) => {
          if (err) errors++;
        });
        sent++;
      }
      if (sent >= total) resolve();
      else setImmediate(tick);
    };
    tick();
  });
  const wall = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 200));
  sock.close();
  console.log(JSON.stringify({ done: true, sent, errors, startedAt: start, endedAt: Date.now(), achievedRate: sent / wall }));
}

await (a.mode === 'udp' ? udp() : tcp());
process.exit(0);
