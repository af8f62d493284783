/**
 * SSE on a real connection: the head is written to the socket by hand and
 * the events follow on the socket, the body delimited by the connection's
 * close (no chunked encoding, no header table kept on the response), with
 * the headers the onRequest hooks set carried into the head. Anything
 * without a real socket (a HEAD request, a fake) gets the chunked response.
 */
import http from 'node:http';
import net from 'node:net';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Hub } from '../../hub/hub.js';
import type { LogRecord } from '../../core/record.js';
import { closeAllSse, serveSse } from './sse.js';
import { waitFor } from '../../../test/helpers/fake-pipeline.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const rec = (message: string): LogRecord => ({ seq: 0, time: 1_700_000_000_000, received: 1_700_000_000_000, source: 'app', stream: 'app', origin: { kind: 'test' }, message, fields: {} });

/** `before`/`after` run in the request handler around serveSse (the connection as a test wants it). */
async function serve(hooks: { before?: (sock: net.Socket) => void; after?: (sock: net.Socket) => void } = {}) {
  const hub = new Hub({ seqStart: 0, defaults: { replay: 1000, replayBytes: 1 << 24 }, streams: {}, drop: () => {} });
  hub.ensureStream('app');
  const responses: http.ServerResponse[] = [];
  const srv = http.createServer((req, res) => {
    res.setHeader('x-frame-options', 'DENY'); // as the onRequest hook does
    responses.push(res);
    hooks.before?.(req.socket);
    serveSse(res, { hub, stream: 'app', heartbeatMs: 60_000 });
    hooks.after?.(req.socket);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanup.push(async () => {
    await closeAllSse();
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  });
  return { hub, responses, port: (srv.address() as net.AddressInfo).port };
}

function rawClient(port: number, method = 'GET') {
  const c = { text: '', ended: false, sock: undefined as unknown as net.Socket };
  const s = net.connect(port, '127.0.0.1', () => s.write(`${method} /sse HTTP/1.1\r\nHost: x\r\n\r\n`));
  s.setEncoding('latin1');
  s.on('data', (d: string) => (c.text += d));
  s.on('end', () => (c.ended = true));
  s.on('error', () => {});
  cleanup.push(() => void s.destroy());
  c.sock = s;
  return c;
}

describe('SSE on a real connection', () => {
  it('writes its own head (Connection: close, not chunked, the hooks\' headers) and the events straight to the socket', async () => {
    const { hub, responses, port } = await serve();
    const c = rawClient(port);
    await waitFor(() => c.text.includes(': connected\n\n'), 'the head and the opening lines');
    hub.publish([rec('a'), rec('b')]);
    hub.publish([rec('c')]);
    await waitFor(() => c.text.includes('id: 3\n'), 'three events');
    const [head, body] = c.text.split('\r\n\r\n', 2) as [string, string];
    const lines = head.toLowerCase().split('\r\n');
    expect(lines[0]).toBe('http/1.1 200 ok');
    expect(lines).toContain('content-type: text/event-stream; charset=utf-8');
    expect(lines).toContain('connection: close');
    expect(lines).toContain('x-frame-options: deny');
    expect(lines).toContain('cache-control: no-cache, no-transform');
    expect(lines).toContain('x-accel-buffering: no');
    expect(head.toLowerCase()).not.toContain('transfer-encoding');
    // no chunk-size lines between the events: the body is the events themselves
    expect(body).toMatch(/^retry: 2000\n: connected\n\nid: 1\nevent: log\ndata: \{.*"message":"a".*\}\n\nid: 2\nevent: log\ndata: .*\n\nid: 3\nevent: log\ndata: .*"message":"c".*\n\n$/);
    // the response keeps no header table for the connection's life
    expect(responses[0]!.getHeaderNames()).toEqual([]);
    // and the server let go of the connection: response detached, parser freed, its listeners off
    expect(responses[0]!.socket).toBeNull();
    expect(responses[0]!.req.socket?.listeners('data').map((f) => f.name)).not.toContain('bound socketOnData');
    expect((responses[0]!.req.socket as { parser?: unknown } | null)?.parser ?? null).toBeNull();
    // shutdown ends the body and closes the connection, without waiting for the client's FIN
    c.sock.allowHalfOpen = true; // a client that would never close its side
    const sock = responses[0]!.req.socket!;
    await closeAllSse();
    await waitFor(() => c.ended, 'the connection to end');
    await waitFor(() => sock.destroyed, 'the server side closed');
    expect(body.length).toBeGreaterThan(0);
  });

  it('a taken connection: what the client sends is dropped, its half-close ends the stream and the subscription', async () => {
    const { hub, port } = await serve();
    const c = rawClient(port);
    await waitFor(() => c.text.includes(': connected\n\n'), 'the head');
    expect(hub.subscribers()).toHaveLength(1);
    c.sock.write('GET /again HTTP/1.1\r\nHost: x\r\n\r\n'); // no second response: the server no longer parses this connection
    hub.publish([rec('a')]);
    await waitFor(() => c.text.includes('id: 1\n'), 'the event');
    c.sock.end();
    await waitFor(() => c.ended, 'the connection to close');
    await waitFor(() => hub.subscribers().length === 0, 'the subscription to end');
    expect(c.text.match(/HTTP\/1\.1/g)).toHaveLength(1);
  });

  it('a HEAD request gets the head at once, no body and no subscription', async () => {
    const { hub, port } = await serve();
    const c = rawClient(port, 'HEAD');
    await waitFor(() => c.text.includes('\r\n\r\n'), 'the head');
    hub.publish([rec('a')]);
    await new Promise((r) => setTimeout(r, 50));
    const [head, body] = c.text.split('\r\n\r\n', 2) as [string, string];
    expect(head.toLowerCase()).toContain('content-type: text/event-stream; charset=utf-8');
    expect(body).toBe('');
    expect(hub.subscribers()).toEqual([]);
  });
});

describe('SSE on a real connection the server is not known to let go of', () => {
  /** Serve with `hooks`, check events flow, and return the response (still the server's, or not). */
  async function servedEvents(hooks: Parameters<typeof serve>[0]) {
    const { hub, responses, port } = await serve(hooks);
    const c = rawClient(port);
    await waitFor(() => c.text.includes(': connected\n\n'), 'the head');
    hub.publish([rec('a')]);
    await waitFor(() => c.text.includes('id: 1\nevent: log\n'), 'the event');
    return responses[0]!;
  }

  it('the events go out with Nagle off', async () => {
    const calls: unknown[] = [];
    await servedEvents({ before: (sock) => vi.spyOn(sock, 'setNoDelay').mockImplementation(function (this: net.Socket, v?: boolean) { calls.push(v); return this; }) });
    expect(calls).toEqual([true]);
  });

  it('a server listener missing (another of the same event there instead): the connection is left as it is', async () => {
    const res = await servedEvents({
      before: (sock) => {
        const mine = sock.listeners('timeout').find((f) => f.name === 'socketOnTimeout');
        expect(mine).toBeDefined();
        sock.removeListener('timeout', mine as () => void);
        sock.on('timeout', function other() {});
      },
    });
    expect(res.socket).not.toBeNull();
    expect(res.socket!.listeners('data').map((f) => f.name)).toContain('bound socketOnData');
  });

  it('a connection without a parser (the server let go of it already): left as it is', async () => {
    const res = await servedEvents({ after: (sock) => ((sock as net.Socket & { parser?: unknown }).parser = null) });
    expect(res.socket).not.toBeNull();
    expect(res.socket!.listeners('data').map((f) => f.name)).toContain('bound socketOnData');
  });

  it('a Node without _http_common.freeParser: the connection is left as it is', async () => {
    const common = createRequire(import.meta.url)('_http_common') as { freeParser?: unknown };
    const saved = common.freeParser;
    common.freeParser = undefined;
    try {
      const res = await servedEvents({});
      expect(res.socket).not.toBeNull();
      expect((res.socket as { parser?: unknown }).parser).toBeTruthy();
      expect(res.socket!.listeners('data').map((f) => f.name)).toContain('bound socketOnData');
    } finally {
      common.freeParser = saved;
    }
  });
});
