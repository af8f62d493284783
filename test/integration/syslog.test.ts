/**
 * The syslog source in a real daemon: a real rsyslogd (its own process, own
 * config, pid file and work directory) relaying to Sluice with omfwd over
 * TCP, octet-counted, delivers every line; bad input on the listeners is
 * counted by reason, Sluice stays up and good input sent afterwards arrives.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { authHeaders, freePort, startDaemon, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';
import { sampleRss } from '../helpers/peak-rss.js';
import { requires } from '../helpers/requires.js';

const run = promisify(execFile);
const RSYSLOGD = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find((p) => existsSync(p));
const LOGGER = ['/usr/bin/logger', '/bin/logger'].find((p) => existsSync(p));
if (!RSYSLOGD || !LOGGER) console.warn(`SKIPPED syslog.test.ts: ${!RSYSLOGD ? 'no rsyslogd (Debian package rsyslog; .ci/run installs it)' : ''}${!RSYSLOGD && !LOGGER ? ', ' : ''}${!LOGGER ? 'no logger (util-linux package bsdutils)' : ''}`);

let procs: ChildProcess[] = [];
afterEach(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  procs = [];
});
afterAll(() => stopAll());

interface Rec {
  message: string;
  app?: string;
  host?: string;
  fields: Record<string, unknown>;
  origin: Record<string, unknown>;
}

async function records(d: DaemonHandle, stream: string): Promise<Rec[]> {
  const out: Rec[] = [];
  let since = 0;
  for (;;) {
    const r = (await (await fetch(`${d.url}/api/records?stream=${stream}&since=${since}&limit=10000`, { headers: authHeaders })).json()) as { records: Rec[]; next_since: number };
    out.push(...r.records);
    if (r.records.length < 10000) return out;
    since = r.next_since;
  }
}

async function counters(d: DaemonHandle): Promise<Record<string, number>> {
  const st = (await (await fetch(`${d.url}/api/status`, { headers: authHeaders })).json()) as { sources: { name: string; counters: Record<string, number> }[] };
  return st.sources.find((s) => s.name === 'sys')!.counters;
}

async function daemon(extra = ''): Promise<{ d: DaemonHandle; tcp: number; udp: number }> {
  const dir = tempDir('sluice-syslog-');
  const tcp = await freePort();
  const udp = await freePort();
  const d = await startDaemon(`data_dir = "${dir}/data"\n[[sources]]\nname = "sys"\ntype = "syslog"\ntcp = "127.0.0.1:${tcp}"\nudp = "127.0.0.1:${udp}"\n${extra}\n[[streams]]\nname = "sys"\nreplay = 100000\n`, { dir });
  // /healthz answers before every source has bound its listeners
  await waitFor(async () => {
    const st = (await (await fetch(`${d.url}/api/status`, { headers: authHeaders })).json()) as { sources: { name: string; state: string }[] };
    return st.sources.find((s) => s.name === 'sys')?.state === 'running';
  }, 'the syslog source running');
  return { d, tcp, udp };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

/** Write and close; resolves when the socket is closed (whoever closed it). */
function sendAndClose(port: number, data: Buffer | string): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(data));
    s.on('error', () => resolve());
    s.on('close', () => resolve());
  });
}

describe.skipIf(!requires('rsyslogd', RSYSLOGD !== undefined, 'apt-get install rsyslog') || !requires('logger', LOGGER !== undefined, 'apt-get install bsdutils'))('syslog source behind a real rsyslogd', () => {
  it('rsyslogd relaying with omfwd (TCP, octet-counted, RFC 5424) delivers every line once', async () => {
    const { d, tcp } = await daemon();
    const dir = tempDir('sluice-rsyslog-');
    const inPort = await freePort();
    // rsyslogd sends through a pass-through proxy that keeps each connection's first bytes: the test
    // checks the frames really were octet-counted (a digit first), not LF-framed lines
    const heads: Buffer[] = [];
    const proxy = net.createServer((c) => {
      const up = net.connect(tcp, '127.0.0.1');
      const i = heads.push(Buffer.alloc(0)) - 1;
      c.on('data', (b: Buffer) => {
        if (heads[i]!.length < 32) heads[i] = Buffer.concat([heads[i]!, b]).subarray(0, 32);
      });
      c.pipe(up).pipe(c);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
    });
    proxy.unref();
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const relayPort = (proxy.address() as net.AddressInfo).port;
    const conf = path.join(dir, 'rsyslog.conf');
    writeFileSync(
      conf,
      `global(workDirectory="${dir}")
module(load="imtcp")
ruleset(name="relay") {
  action(type="omfwd" target="127.0.0.1" port="${relayPort}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
}
input(type="imtcp" port="${inPort}" address="127.0.0.1" ruleset="relay")
`,
    );
    const p = spawn(RSYSLOGD!, ['-n', '-f', conf, '-i', path.join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
    procs.push(p);
    let err = '';
    p.stderr!.on('data', (b) => (err += b));
    // rsyslogd is up when its input port answers
    await waitFor(async () => {
      if (p.exitCode !== null) throw new Error(`rsyslogd exited: ${err}`);
      return connect(inPort).then((s) => (s.destroy(), true)).catch(() => false);
    }, 'rsyslogd listening');
    const N = 3000;
    const file = path.join(dir, 'lines.txt');
    writeFileSync(file, Array.from({ length: N }, (_, i) => `relayed line ${i}`).join('\n') + '\n');
    await run(LOGGER!, ['-n', '127.0.0.1', '-P', String(inPort), '-T', '-t', 'relayapp', '-p', 'local1.notice', '-f', file]);
    await waitFor(async () => (await records(d, 'sys')).length >= N, `${N} relayed records`, 30_000, 100);
    const recs = await records(d, 'sys');
    expect(recs.length).toBe(N);
    expect(new Set(recs.map((r) => r.message))).toEqual(new Set(Array.from({ length: N }, (_, i) => `relayed line ${i}`)));
    expect(recs[0]).toMatchObject({ app: 'relayapp', fields: { facility: 'local1' }, origin: { kind: 'syslog', transport: 'tcp' } });
    const c = await counters(d);
    expect(c).toMatchObject({ parse_error: 0, oversize: 0, records: N });
    expect(heads.length).toBeGreaterThanOrEqual(1);
    for (const h of heads) expect(h.toString('latin1')).toMatch(/^[1-9]\d* <\d+>1 /); // MSG-LEN SP then an RFC 5424 header
    proxy.close();
    await d.stop();
    p.kill('SIGTERM');
  });
});

describe.skipIf(!requires('logger', LOGGER !== undefined, 'apt-get install bsdutils'))('syslog source: bad input on the listeners', () => {
  it('binary garbage, a 10 MB line, invalid UTF-8, an oversize frame, 1,000 dropped connections: counted, and good input still arrives', async () => {
    const { d, tcp, udp } = await daemon('max_frame_bytes = "8KiB"\nmax_connections = 2000\n');
    const rss = sampleRss(d.proc.pid!);
    await rss.started;
    // binary garbage that starts like text (LF framing) and like a number (octet counting: lost sync, closed)
    await sendAndClose(tcp, Buffer.concat([Buffer.from('x'), randomBytes(64 * 1024)]));
    await sendAndClose(tcp, Buffer.concat([Buffer.from('7'), randomBytes(4096)]));
    // a 10 MB line with no newline
    await sendAndClose(tcp, Buffer.alloc(10 * 1024 * 1024, 'a'));
    // invalid UTF-8
    await sendAndClose(tcp, Buffer.concat([Buffer.from('<13>bad '), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('\n')]));
    // an oversize octet-counted frame, then a good one on the same connection
    const big = '<13>' + 'y'.repeat(20_000);
    await sendAndClose(tcp, `${big.length} ${big}17 <13>same conn ok`);
    // a garbage datagram
    const u = dgram.createSocket('udp4');
    await new Promise<void>((r) => u.send(randomBytes(1000), udp, '127.0.0.1', () => r()));
    u.close();
    // 1,000 connections opened and dropped, 100 at a time
    for (let k = 0; k < 10; k++) {
      const socks = await Promise.all(Array.from({ length: 100 }, () => connect(tcp)));
      for (const s of socks) s.destroy();
    }
    await waitFor(async () => (await counters(d)).connections >= 1005, '1,005 connections seen');

    // good input afterwards, over TCP and UDP
    await run(LOGGER!, ['-n', '127.0.0.1', '-P', String(tcp), '-T', '-t', 'good', 'good over tcp']);
    await run(LOGGER!, ['-n', '127.0.0.1', '-P', String(udp), '-d', '-t', 'good', 'good over udp']);
    await waitFor(async () => (await records(d, 'sys')).filter((r) => r.app === 'good').length === 2, 'the good records');
    const recs = await records(d, 'sys');
    expect(recs.some((r) => r.message === 'same conn ok')).toBe(true);
    expect(recs.some((r) => r.message === 'bad \ufffd(\ufffd')).toBe(true);

    const c = await counters(d);
    expect(c.oversize).toBeGreaterThanOrEqual(2); // the 10 MB line, the big frame (random bytes hold LF and NUL often enough)
    expect(c.bad_octet_count).toBe(1);
    expect(c.invalid_utf8).toBeGreaterThanOrEqual(2);
    expect(c.parse_error).toBeGreaterThanOrEqual(1);
    expect(c.connections_active).toBeLessThanOrEqual(2);
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    for (const reason of ['oversize', 'bad_octet_count', 'invalid_utf8', 'parse_error']) {
      expect(metrics).toMatch(new RegExp(`sluice_dropped_total\\{stage="syslog",reason="${reason}"\\} [1-9]`));
    }
    expect(metrics).toMatch(/sluice_source_events_total\{source="sys",type="syslog",counter="connections"\} [1-9]/);
    // per listener: /api/status and /metrics name each one by transport and bound address
    const listeners = ((await (await fetch(`${d.url}/api/sources/sys`, { headers: authHeaders })).json()) as { listeners: { transport: string; address: string; counters: Record<string, number> }[] }).listeners;
    const lt = listeners.find((l) => l.transport === 'tcp')!;
    const lu = listeners.find((l) => l.transport === 'udp')!;
    expect(lt.address).toBe(`127.0.0.1:${tcp}`);
    expect(lt.counters.connections).toBeGreaterThanOrEqual(1005);
    expect(lt.counters).toMatchObject({ bad_octet_count: 1, datagrams: 0 });
    expect(lu.counters.datagrams).toBeGreaterThanOrEqual(2); // the garbage and the good one
    expect(lu.counters).toMatchObject({ connections: 0, bad_octet_count: 0 });
    const series = (listener: string, counter: string): number => Number(new RegExp(`sluice_listener_events_total\\{source="sys",listener="${listener}",counter="${counter}"\\} (\\d+)`).exec(metrics)?.[1] ?? NaN);
    expect(series(`tcp://127.0.0.1:${tcp}`, 'connections')).toBeGreaterThanOrEqual(1005);
    expect(series(`tcp://127.0.0.1:${tcp}`, 'bad_octet_count')).toBe(1);
    expect(series(`udp://127.0.0.1:${udp}`, 'datagrams')).toBeGreaterThanOrEqual(2);
    expect(series(`udp://127.0.0.1:${udp}`, 'bad_octet_count')).toBe(0);
    expect(metrics).toMatch(new RegExp(`sluice_listener_connections\\{source="sys",listener="tcp://127.0.0.1:${tcp}"\\} [0-2]\\n`));
    // RSS stays within limits.memory (default 256 MiB) plus 256 MiB for the runtime, the parse threads and the 10 MB of input:
    // at its peak while the bad input came (sampled every 50 ms) and at the end
    const st = (await (await fetch(`${d.url}/api/status`, { headers: authHeaders })).json()) as { memory: { rss: number; budget: number } };
    const { peak, samples } = await rss.stop();
    expect(samples).toBeGreaterThan(1);
    expect(peak).toBeLessThan(st.memory.budget + 256 * 1024 * 1024);
    expect(st.memory.rss).toBeLessThan(st.memory.budget + 256 * 1024 * 1024);
    await d.stop();
  }, 120_000);
});
