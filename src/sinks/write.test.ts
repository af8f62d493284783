/**
 * The pump's write slack, through a real loopback TCP connection whose reader
 * pauses: how much it absorbs, that it is bounded per client and in total,
 * and that it is given back.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Hub } from '../hub/hub.js';
import type { LogRecord } from '../core/record.js';
import { clientSlack, makePump, type Pump } from './write.js';

const saved = { ...clientSlack };
const open: (() => void)[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c();
  clientSlack.perClient = saved.perClient;
  clientSlack.total = saved.total;
});

const pad = 'x'.repeat(1000);
const rec = (i: number): LogRecord => ({ seq: 0, time: 1_700_000_000_000, received: 1_700_000_000_000, source: 's', stream: 'a', origin: { kind: 'test' }, message: `n=${i} ${pad}`, fields: {} });

function makeHub(replay: number) {
  const drops: Record<string, number> = {};
  const hub = new Hub({ seqStart: 0, defaults: { replay, replayBytes: 1 << 30 }, streams: {}, drop: (st, r, n) => (drops[`${st}/${r}`] = (drops[`${st}/${r}`] ?? 0) + n) });
  hub.ensureStream('a');
  return { hub, drops };
}

/** A pump on the server side of a loopback connection; the reader starts paused and counts record lines and gaps. */
async function client(hub: Hub) {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const reader = net.connect({ port: (srv.address() as net.AddressInfo).port, host: '127.0.0.1' });
  reader.pause();
  const sock = await accepted;
  sock.on('error', () => {});
  const pump: Pump = makePump(sock, 'nd', (missed) => `{"gap":{"missed":${missed}}}\n`);
  const sub = hub.subscribe({ stream: 'a', maxLag: Infinity, stage: 'tcp', onWake: pump.flush });
  pump.attach(sub);
  const got = { lines: 0, gaps: 0 };
  let tail = '';
  reader.setEncoding('utf8');
  reader.on('data', (chunk: string) => {
    const s = tail + chunk;
    let from = 0;
    for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', from)) {
      if (s.startsWith('{"gap"', from)) got.gaps++;
      else got.lines++;
      from = i + 1;
    }
    tail = s.slice(from);
  });
  open.push(() => {
    pump.close();
    sub.close();
    reader.destroy();
    sock.destroy();
    srv.close();
  });
  return { pump, sub, sock, reader, got, close: open[open.length - 1]! };
}

const tick = () => new Promise((r) => setImmediate(r));

/** Publish n records in batches of 100, letting sockets move between batches. */
async function publish(hub: Hub, n: number) {
  for (let i = 0; i < n; i += 100) {
    hub.publish(Array.from({ length: 100 }, (_, k) => rec(i + k)));
    await tick();
  }
}

async function until(cond: () => boolean) {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('pump write slack', () => {
  it('a reader that pauses for a 20 MB burst loses nothing with slack, and loses records without it', async () => {
    const N = 20_000; // ~21 MB: far past the 1,000-record ring and the kernel's loopback buffers
    const runs: Record<string, { lines: number; gaps: number; dropped: number }> = {};
    for (const [name, perClient] of [
      ['slack', 32 * 1024 * 1024],
      ['none', 0],
    ] as const) {
      clientSlack.perClient = perClient;
      clientSlack.total = 64 * 1024 * 1024;
      const { hub } = makeHub(1000);
      const c = await client(hub);
      await publish(hub, N);
      c.reader.resume();
      await until(() => c.got.lines + c.sub.dropped >= N);
      runs[name] = { lines: c.got.lines, gaps: c.got.gaps, dropped: c.sub.dropped };
      c.close();
      expect(clientSlack.used).toBe(0); // given back when the client goes
    }
    expect(runs.slack).toEqual({ lines: N, gaps: 0, dropped: 0 });
    expect(runs.none!.dropped).toBeGreaterThan(0);
    expect(runs.none!.gaps).toBeGreaterThan(0);
    expect(runs.none!.lines + runs.none!.dropped).toBe(N);
  });

  it('a stalled client holds at most its own slack past its high-water mark, then drops oldest and counts', async () => {
    clientSlack.perClient = 2 * 1024 * 1024;
    clientSlack.total = 64 * 1024 * 1024;
    const { hub, drops } = makeHub(1000);
    const c = await client(hub);
    let maxBuffered = 0;
    let maxUsed = 0;
    for (let i = 0; i < 20_000; i += 100) {
      hub.publish(Array.from({ length: 100 }, (_, k) => rec(i + k)));
      await tick();
      maxBuffered = Math.max(maxBuffered, c.pump.buffered());
      maxUsed = Math.max(maxUsed, clientSlack.used);
    }
    const hwm = c.sock.writableHighWaterMark;
    expect(maxBuffered).toBeGreaterThan(1024 * 1024); // it did use slack past the 16 KiB high-water mark
    expect(maxBuffered).toBeLessThanOrEqual(clientSlack.perClient + hwm);
    expect(maxUsed).toBeGreaterThan(clientSlack.perClient - 2048); // it filled its slack (to within a record)
    expect(maxUsed).toBeLessThanOrEqual(clientSlack.perClient);
    expect(c.sub.dropped).toBeGreaterThan(0);
    expect(drops['tcp/slow_client']).toBe(c.sub.dropped);
    c.close();
    expect(clientSlack.used).toBe(0);
  });

  it('stalled clients share one total: together they hold no more than it', async () => {
    clientSlack.perClient = 8 * 1024 * 1024;
    clientSlack.total = 3 * 1024 * 1024;
    const { hub } = makeHub(1000);
    const cs = [await client(hub), await client(hub), await client(hub)];
    let maxUsed = 0;
    for (let i = 0; i < 20_000; i += 100) {
      hub.publish(Array.from({ length: 100 }, (_, k) => rec(i + k)));
      await tick();
      maxUsed = Math.max(maxUsed, clientSlack.used);
    }
    expect(maxUsed).toBeGreaterThan(clientSlack.total - 2048); // the total filled (to within a record)
    expect(maxUsed).toBeLessThanOrEqual(clientSlack.total);
    expect(cs.every((c) => c.sub.dropped > 0)).toBe(true);
    // one reader comes back: its slack is given back at 'drain' and it catches up from its cursor
    cs[0]!.reader.resume();
    await until(() => cs[0]!.pump.buffered() === 0 && cs[0]!.sub.lag === 0);
    expect(cs[0]!.pump.buffered()).toBe(0);
    for (const c of cs) c.close();
    expect(clientSlack.used).toBe(0);
  });
});
