/**
 * The native UDP reader against its twin, Node's dgram reader: both
 * receivers (udp-receiver.ts) get the same datagrams, in the same order, from
 * the same peers, and must hand on the same frames from the same peers with
 * the same counts (batch boundaries may differ: they follow timing). Also:
 * the reader switch, and the receive buffer past net.core.rmem_max.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { UdpReceiver, type UdpCounts, type UdpReceiverOptions } from './udp-receiver.js';
import { nativeUdp, nativeUdpState } from './udp-native.js';
import type { Reason } from './counters.js';

let cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

const OPTS: UdpReceiverOptions = { host: '127.0.0.1', port: 0, rcvbuf: 4 * 1024 * 1024, maxFrameBytes: 64, checkSyslog: true, holdBytes: 1 << 30, native: true };

interface Got {
  /** "peer|frame" per frame, the frame as latin1 (any byte kept), a string item marked S */
  frames: string[];
  counts: UdpCounts;
}

/** A receiver collecting what it hands on; `until(n)` resolves once n datagrams were counted. */
async function receiver(o: UdpReceiverOptions) {
  const got: Got = { frames: [], counts: { datagrams: 0, bytes: 0, frames: 0, bad: {} } };
  let want = Infinity;
  let wake: (() => void) | undefined;
  // counts as they were when handed on (the receiver's thread posts them: a later change to the object is lost)
  const add = (handed: UdpCounts) => {
    const c = structuredClone(handed);
    got.counts.datagrams += c.datagrams;
    got.counts.bytes += c.bytes;
    got.counts.frames += c.frames;
    for (const r in c.bad) got.counts.bad[r as Reason] = (got.counts.bad[r as Reason] ?? 0) + c.bad[r as Reason]!;
    if (got.counts.datagrams >= want) wake?.();
  };
  const r = new UdpReceiver(o, {
    batch(raw, counts) {
      const peer = String(raw.origin.peer);
      for (const it of raw.items) {
        if (typeof it === 'string') got.frames.push(`${peer}|S${it}`);
        else for (const line of Buffer.from(it).toString('latin1').split('\n').slice(0, -1)) got.frames.push(`${peer}|${line}`);
      }
      add(counts);
    },
    counts: add,
  });
  const bound = await r.bind();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await r.close();
  };
  cleanup.push(close);
  return {
    bound,
    got,
    /** Wait until n datagrams were counted, then close (what was read is handed on). */
    async done(n: number): Promise<Got> {
      want = n;
      if (got.counts.datagrams < n) await new Promise<void>((resolve) => (wake = resolve));
      await close();
      return got;
    },
  };
}

async function sender(host: string): Promise<{ sock: dgram.Socket; port: number }> {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((r) => sock.bind(0, host, () => r()));
  cleanup.push(() => new Promise<void>((r) => sock.close(() => r())));
  return { sock, port: sock.address().port };
}

const send = (s: dgram.Socket, msg: Uint8Array, port: number, host: string) => new Promise<void>((r, j) => s.send(msg, port, host, (e) => (e ? j(e) : r())));

/** The same datagrams (each from sender 0 or 1) to a native and a dgram receiver; what each handed on. */
async function both(dgrams: { from: 0 | 1; bytes: Uint8Array }[], o: Partial<UdpReceiverOptions> = {}): Promise<{ nat: Got; js: Got; peers: string[] }> {
  const host = o.host ?? OPTS.host;
  const nat = await receiver({ ...OPTS, ...o, native: true });
  const js = await receiver({ ...OPTS, ...o, native: false });
  expect(nat.bound.reader).toBe('native');
  expect(js.bound.reader).toBe('dgram');
  const from = [await sender(host), await sender(host)];
  for (const d of dgrams) {
    await send(from[d.from]!.sock, d.bytes, nat.bound.port, host);
    await send(from[d.from]!.sock, d.bytes, js.bound.port, host);
  }
  const peer = (port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
  return { nat: await nat.done(dgrams.length), js: await js.done(dgrams.length), peers: from.map((f) => peer(f.port)) };
}

const onLinux = process.platform === 'linux';
const describeNative = onLinux ? describe : describe.skip;
if (!onLinux) console.warn(`!!! SKIPPED udp-native.test.ts "native UDP reader against the dgram reader" and "native UDP reader: the switch and the receive buffer": the native UDP reader is built for Linux only (recvmmsg), this is ${process.platform}`);

describe('native UDP reader module', () => {
  it('is built and loaded on Linux (npm ci builds it with node-gyp)', () => {
    if (onLinux) expect(nativeUdpState).toBe('loaded');
    else expect(nativeUdp).toBeUndefined();
  });
});

describeNative('native UDP reader against the dgram reader', () => {
  const b = (s: string) => Buffer.from(s, 'latin1');

  it('gives the same frames and counts for the edge datagrams, from two peers', async () => {
    const edges = [
      '<134>1 2026-12-06T01:02:03.123Z web-1 nginx 1000 ACCESS - plain one',
      '<13>trailing CR LF\r\n',
      '<13>NUL terminated\0\0',
      '',
      '\n\r\n\0',
      '<13>one\n<13>two\n<13>three',
      '<13>NUL\0inside',
      'Dec  6 01:02:03 host app[12]: an RFC 3164 line without PRI',
      'neither syslog nor 3164',
      '<192>PRI out of range',
      '<013>leading zero',
      '<1a>bad digit',
      '<13>' + 'x'.repeat(60), // exactly the cap (64)
      '<13>' + 'x'.repeat(61), // one past it: oversize, its head kept
      '<13>' + 'y'.repeat(200) + '\n<13>after an oversize line',
      '<13>invalid UTF-8 \xff\xfe here',
      '<13>ü multibyte ' + 'é'.repeat(40), // cut inside a character when oversize
      '<',
      '<1>',
    ];
    const dgrams = edges.flatMap((s, i) => [
      { from: (i % 2) as 0 | 1, bytes: b(s) },
      { from: (i % 2) as 0 | 1, bytes: b(s) },
    ]);
    const { nat, js, peers } = await both(dgrams);
    expect(nat.frames).toEqual(js.frames);
    expect(nat.counts).toEqual(js.counts);
    // the case covers what it says: both peers, every path of the native core
    expect(new Set(nat.frames.map((f) => f.split('|')[0]))).toEqual(new Set(peers));
    expect(nat.counts.bad).toMatchObject({ parse_error: expect.any(Number), oversize: expect.any(Number), invalid_utf8: expect.any(Number) });
    expect(nat.counts.datagrams).toBe(dgrams.length);
  });

  it('gives the same frames and counts for any datagrams (property)', async () => {
    const byte = fc.oneof(fc.constantFrom(60, 62, 48, 49, 51, 10, 13, 0, 32, 97, 0xc3, 0xa9, 0xff), fc.integer({ min: 0, max: 255 }));
    const datagram = fc.record({ from: fc.constantFrom(0 as const, 1 as const), bytes: fc.uint8Array({ minLength: 0, maxLength: 150 }).chain((r) => fc.array(byte, { maxLength: r.length }).map((a) => Uint8Array.from(a))) });
    await fc.assert(
      fc.asyncProperty(fc.array(datagram, { minLength: 1, maxLength: 25 }), async (dgrams) => {
        const { nat, js } = await both(dgrams);
        expect(nat.frames).toEqual(js.frames);
        expect(nat.counts).toEqual(js.counts);
        for (const f of cleanup.splice(0).reverse()) await f();
      }),
      { numRuns: 25 },
    );
  });

  it('drops the same datagrams past the hold bound (udp_overflow) while nothing is acknowledged', async () => {
    const dgrams = Array.from({ length: 40 }, (_, i) => ({ from: 0 as const, bytes: b(`<13>message number ${i} `.padEnd(50, '.')) }));
    const { nat, js } = await both(dgrams, { holdBytes: 1000 });
    expect(nat.frames).toEqual(js.frames);
    expect(nat.counts).toEqual(js.counts);
    expect(nat.counts.bad.udp_overflow).toBe(40 - Math.ceil(1000 / 51));
  });

  it('over IPv6: the same frames, the peers written [addr]:port', async () => {
    const dgrams = [0, 1, 0].map((from, i) => ({ from: from as 0 | 1, bytes: b(`<13>over IPv6 ${i}`) }));
    const { nat, js, peers } = await both(dgrams, { host: '::1' });
    expect(nat.frames).toEqual(js.frames);
    expect(nat.frames).toEqual([`${peers[0]}|<13>over IPv6 0`, `${peers[1]}|<13>over IPv6 1`, `${peers[0]}|<13>over IPv6 2`]);
    expect(nat.counts).toEqual(js.counts);
  });

  it('large datagrams: a 65,000-byte one with lines goes to the frame decoder whole', async () => {
    const big = Array.from({ length: 1300 }, (_, i) => `<13>line ${i} `.padEnd(49, 'z')).join('\n');
    expect(big.length).toBeGreaterThan(64_000);
    const { nat, js } = await both([{ from: 0, bytes: b(big) }], { maxFrameBytes: 64 * 1024 });
    expect(nat.frames).toEqual(js.frames);
    expect(nat.frames).toHaveLength(1300);
    expect(nat.counts).toEqual(js.counts);
  });
});

describeNative('native UDP reader: the switch and the receive buffer', () => {
  it('reads with dgram when native is false, with the native reader otherwise', async () => {
    expect((await receiver({ ...OPTS, native: false })).bound).toMatchObject({ reader: 'dgram', reader_why: 'udp_native = false' });
    expect((await receiver({ ...OPTS, native: true })).bound).toMatchObject({ reader: 'native' });
  });

  it('sets a receive buffer past net.core.rmem_max with SO_RCVBUFFORCE when it may (root or CAP_NET_ADMIN); dgram is capped', async () => {
    const max = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    const asked = 2 * max;
    const nat = await receiver({ ...OPTS, rcvbuf: asked, native: true });
    const js = await receiver({ ...OPTS, rcvbuf: asked, native: false });
    expect(js.bound.rcvbuf).toBe(2 * max); // capped, then doubled by the kernel
    if (process.getuid?.() === 0) {
      expect(nat.bound).toMatchObject({ rcvbuf: 2 * asked, reader_why: 'loaded; receive buffer set with SO_RCVBUFFORCE' });
    } else {
      // without CAP_NET_ADMIN SO_RCVBUFFORCE fails and SO_RCVBUF is capped as for dgram
      expect(nat.bound.rcvbuf).toBe(2 * max);
    }
  });

  it('refuses an address in use, saying so', async () => {
    const a = await receiver({ ...OPTS, native: true });
    await expect(receiver({ ...OPTS, port: a.bound.port, native: true })).rejects.toThrow(/bind: Address already in use/);
  });
});
