/**
 * SSE on a response without a raw socket (the chunked path): the opening
 * lines, `gap` events, resume from `since` with a filter, heartbeats only to
 * quiet clients (fake clock), the client count and onClose, and
 * closeAllSse ending every response.
 */
import http, { type ServerResponse } from 'node:http';
import net from 'node:net';
import { Writable, type WritableOptions } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Hub } from '../../hub/hub.js';
import type { LogRecord } from '../../core/record.js';
import { closeAllSse, serveSse, sseClientCount, SSE_HEADERS } from './sse.js';

afterEach(async () => {
  await closeAllSse();
  vi.useRealTimers();
});

const rec = (message: string, level?: 'info' | 'error'): LogRecord => ({ seq: 0, time: 1_700_000_000_000, received: 1_700_000_000_000, source: 'app', stream: 'app', origin: { kind: 'test' }, message, fields: {}, ...(level ? { level } : {}) });

/** Enough of a ServerResponse for serveSse: its head and what is written. */
class FakeResponse extends Writable {
  head: { status: number; headers: unknown } | undefined;
  text = '';
  constructor(
    readonly method = 'GET',
    opts?: WritableOptions,
  ) {
    super(opts);
  }
  get req() {
    return { method: this.method };
  }
  writeHead(status: number, headers: unknown): this {
    this.head = { status, headers };
    return this;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

function makeHub(replay = 1000) {
  const drops: Record<string, number> = {};
  const hub = new Hub({ seqStart: 0, defaults: { replay, replayBytes: 1 << 24 }, streams: {}, drop: (st, r, n) => (drops[`${st}/${r}`] = (drops[`${st}/${r}`] ?? 0) + n) });
  hub.ensureStream('app');
  return { hub, drops };
}

const ids = (text: string) => [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
const tick = () => new Promise<void>((r) => queueMicrotask(r));

describe('serveSse without a raw socket', () => {
  it('answers 200 with the SSE headers, then the retry hint and a comment that opens the stream', () => {
    const { hub } = makeHub();
    const res = new FakeResponse();
    serveSse(res as unknown as ServerResponse, { hub, stream: 'app', heartbeatMs: 60_000 });
    expect(res.head).toEqual({ status: 200, headers: SSE_HEADERS });
    expect(SSE_HEADERS).toEqual({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    expect(res.text).toBe('retry: 2000\n: connected\n\n');
  });

  it('a HEAD request: the head, an ended response, no client and no subscription', () => {
    const { hub } = makeHub();
    const res = new FakeResponse('HEAD');
    serveSse(res as unknown as ServerResponse, { hub, stream: 'app', heartbeatMs: 60_000 });
    expect(res.head).toEqual({ status: 200, headers: SSE_HEADERS });
    expect(res.writableEnded).toBe(true);
    expect(res.text).toBe('');
    expect(sseClientCount()).toBe(0);
    expect(hub.subscribers()).toEqual([]);
  });

  it('resumes after `since` with the filter applied; a client past maxLag gets a gap event with the count', async () => {
    const { hub, drops } = makeHub();
    hub.publish([rec('a', 'info'), rec('b', 'error'), rec('c', 'error')]);
    const res = new FakeResponse();
    serveSse(res as unknown as ServerResponse, { hub, stream: 'app', since: 1, filter: (r) => r.level === 'error', heartbeatMs: 60_000 });
    expect(ids(res.text)).toEqual([2, 3]);
    const slow = new FakeResponse();
    serveSse(slow as unknown as ServerResponse, { hub, stream: 'app', maxLag: 2, heartbeatMs: 60_000 });
    hub.publish(['d', 'e', 'f', 'g'].map((m) => rec(m)));
    await tick();
    expect(slow.text).toContain('event: gap\ndata: {"missed":2}\n\n');
    expect(ids(slow.text)).toEqual([6, 7]);
    expect(slow.text.indexOf('event: gap')).toBeLessThan(slow.text.indexOf('id: 6'));
    expect(drops['sse/slow_client']).toBe(2);
  });

  it('counts its clients; a response that closes or errors is one client less, its subscription ends and onClose runs once', () => {
    const { hub } = makeHub();
    const closed: string[] = [];
    const a = new FakeResponse();
    const b = new FakeResponse();
    serveSse(a as unknown as ServerResponse, { hub, stream: 'app', heartbeatMs: 60_000, onClose: () => closed.push('a') });
    serveSse(b as unknown as ServerResponse, { hub, stream: 'app', heartbeatMs: 60_000, onClose: () => closed.push('b') });
    expect(sseClientCount()).toBe(2);
    expect(hub.subscribers()).toHaveLength(2);
    a.emit('close');
    a.emit('close');
    expect(sseClientCount()).toBe(1);
    expect(closed).toEqual(['a']);
    b.emit('error', new Error('reset'));
    expect(sseClientCount()).toBe(0);
    expect(closed).toEqual(['a', 'b']);
    expect(hub.subscribers()).toEqual([]);
  });

  it('heartbeats: one shared timer pings only the clients quiet for the interval, and stops with closeAllSse', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const { hub } = makeHub();
    const quiet = new FakeResponse();
    const busy = new FakeResponse();
    serveSse(quiet as unknown as ServerResponse, { hub, stream: 'app', heartbeatMs: 1000 });
    serveSse(busy as unknown as ServerResponse, { hub, stream: null, heartbeatMs: 1000 });
    const pings = (r: FakeResponse) => r.text.split(': ping\n\n').length - 1;
    vi.advanceTimersByTime(999);
    expect([pings(quiet), pings(busy)]).toEqual([0, 0]);
    vi.advanceTimersByTime(1);
    expect([pings(quiet), pings(busy)]).toEqual([1, 1]);
    // the busy client gets a record half-way through the next interval: it is not quiet at its end
    vi.advanceTimersByTime(500);
    hub.ensureStream('busy');
    hub.publish([{ ...rec('x'), stream: 'busy' }]);
    await tick();
    expect(ids(busy.text)).toEqual([1]);
    vi.advanceTimersByTime(500);
    expect([pings(quiet), pings(busy)]).toEqual([2, 1]);
    vi.advanceTimersByTime(1000);
    expect([pings(quiet), pings(busy)]).toEqual([3, 2]);
    expect(vi.getTimerCount()).toBe(1);
    await closeAllSse();
    expect(vi.getTimerCount()).toBe(0);
    expect(quiet.writableEnded && busy.writableEnded).toBe(true);
  });

  it('the heartbeat timer ticks at the interval, at least every 50 ms and at most every 5 s', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const { hub } = makeHub();
    const spy = vi.spyOn(globalThis, 'setInterval');
    serveSse(new FakeResponse() as unknown as ServerResponse, { hub, stream: 'app', heartbeatMs: 10 });
    expect(spy.mock.calls.at(-1)?.[1]).toBe(50);
    return closeAllSse().then(() => {
      serveSse(new FakeResponse() as unknown as ServerResponse, { hub, stream: 'app', heartbeatMs: 60_000 });
      expect(spy.mock.calls.at(-1)?.[1]).toBe(5000);
      // a second client shares the timer
      serveSse(new FakeResponse() as unknown as ServerResponse, { hub, stream: 'app', heartbeatMs: 60_000 });
      expect(spy).toHaveBeenCalledTimes(2);
      spy.mockRestore();
    });
  });

  it('closeAllSse resolves only once a response with bytes still queued has finished', async () => {
    const { hub } = makeHub();
    const held: (() => void)[] = [];
    const slow = new (class extends FakeResponse {
      override _write(chunk: Buffer, enc: BufferEncoding, cb: () => void): void {
        super._write(chunk, enc, () => held.push(cb));
      }
    })();
    serveSse(slow as unknown as ServerResponse, { hub, stream: 'app', heartbeatMs: 60_000 });
    let done = false;
    const closing = closeAllSse().then(() => (done = true));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    while (held.length > 0) held.shift()!();
    await closing;
    expect(slow.writableFinished).toBe(true);
  });

  it('closeAllSse: what was published in this very step goes out, then every response ends; it resolves once they finished', async () => {
    const { hub } = makeHub();
    const a = new FakeResponse();
    serveSse(a as unknown as ServerResponse, { hub, stream: 'app', heartbeatMs: 60_000 });
    hub.publish([rec('last')]);
    const done = closeAllSse();
    expect(sseClientCount()).toBe(0);
    await done;
    expect(a.writableFinished).toBe(true);
    expect(ids(a.text)).toEqual([1]);
    await closeAllSse(); // none left: resolves at once
  });
});

describe('closeAllSse and how a response ends', () => {
  /** A response that is neither destroyed nor closed once it finished (as a socket the client keeps open). */
  const lingering = () => new FakeResponse('GET', { autoDestroy: false, emitClose: false });
  /** Whether `p` has settled after a few turns of the event loop. */
  async function settles(p: Promise<unknown>): Promise<boolean> {
    let done = false;
    void p.then(() => (done = true));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    return done;
  }

  it('a response that finishes and never closes: closeAllSse resolves at its finish, and leaves it undestroyed (only a raw socket is)', async () => {
    const { hub } = makeHub();
    const res = lingering();
    serveSse(res as unknown as ServerResponse, { hub, stream: 'app', heartbeatMs: 60_000 });
    expect(await settles(closeAllSse())).toBe(true);
    expect([res.writableFinished, res.destroyed]).toEqual([true, false]);
  });

  it('a response that had already finished before the shutdown does not hold closeAllSse', async () => {
    const { hub } = makeHub();
    const res = lingering();
    serveSse(res as unknown as ServerResponse, { hub, stream: 'app', heartbeatMs: 60_000 });
    res.end();
    await new Promise((r) => res.once('finish', r));
    expect(sseClientCount()).toBe(1); // no close event: still a client
    expect(await settles(closeAllSse())).toBe(true);
  });

  it('a response that closes with bytes still queued (the client went away) does not hold closeAllSse', async () => {
    const { hub } = makeHub();
    const res = new (class extends FakeResponse {
      override _write(): void {} // never taken: no finish
    })();
    serveSse(res as unknown as ServerResponse, { hub, stream: 'app', heartbeatMs: 60_000 });
    const closing = closeAllSse();
    res.destroy();
    expect(await settles(closing)).toBe(true);
    expect(res.writableFinished).toBe(false);
  });
});

describe('serveSse on a real connection', () => {
  it('its hand-written head carries a Date line, and every line of it is a header', async () => {
    const { hub } = makeHub();
    const srv = http.createServer((_req, res) => {
      serveSse(res, { hub, stream: 'app', heartbeatMs: 60_000 });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    let text = '';
    const c = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1', () => c.write('GET /sse HTTP/1.1\r\nHost: x\r\n\r\n'));
    c.setEncoding('latin1');
    c.on('data', (d: string) => (text += d));
    try {
      await vi.waitFor(() => expect(text).toContain(': connected\n\n'), { timeout: 10_000, interval: 5 });
      const date = /\r\nDate: ([^\r]+)\r\n/.exec(text)?.[1];
      expect(date).toBeDefined();
      expect(Number.isNaN(Date.parse(date!))).toBe(false);
      expect(text.split('\r\n\r\n')[0]!.split('\r\n').every((l, i) => i === 0 || /^[A-Za-z-]+: /.test(l))).toBe(true);
    } finally {
      c.destroy();
      await closeAllSse();
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
  });
});
