/**
 * Server-Sent Events for one client: a hub cursor written to an HTTP
 * connection with SSE hygiene (ARCHITECTURE.md §5): `id:` is the record seq,
 * `event: log` / `event: gap`, JSON data on one line (JSON escapes CR/LF), the
 * anti-buffering headers, and `: ping` heartbeats from one shared timer.
 * Back-pressure: when the socket's buffer is full we stop taking from the
 * cursor until 'drain'; the hub never waits, the cursor falls behind and
 * loses its oldest entries with a `gap` notice (counted by the hub).
 *
 * On a real connection the response head is written to the socket by hand
 * and the events follow on the socket itself, the body delimited by the
 * connection's close (`Connection: close`, no chunked encoding): an SSE
 * response never ends on its own and its connection is never reused, and
 * this keeps per client neither the ServerResponse's header rope and header
 * table nor three chunk-framing pieces per write in the socket's queue
 * (bench fan-out: ~15 KB a client idle before, see docs/operations.md).
 * Anything else (a test's fake response, `inject()`) gets the ordinary
 * chunked response; a HEAD request gets the head and nothing else.
 */
import net from 'node:net';
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import type { Hub, Subscriber } from '../../hub/hub.js';
import { makePump, type Pump } from '../write.js';
import type { RecordView } from '../../hub/entry.js';

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
} as const;

/** The head's SSE lines when the body runs until the connection closes. */
const DIRECT_HEAD =
  'Content-Type: text/event-stream; charset=utf-8\r\n' + 'Cache-Control: no-cache, no-transform\r\n' + 'Connection: close\r\n' + 'X-Accel-Buffering: no\r\n';

// tell EventSource how long to wait before reconnecting, and open the stream at once
const OPENING = 'retry: 2000\n: connected\n\n';

const gapFrame = (missed: number): string => 'event: gap\ndata: {"missed":' + missed + '}\n\n';

class SseClient {
  closed = false;
  sub: Subscriber | undefined;
  constructor(
    readonly w: Writable,
    readonly pump: Pump,
    readonly onClose: (() => void) | undefined,
  ) {}

  close = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.pump.close();
    clients.delete(this);
    this.sub?.close();
    this.onClose?.();
  };
}

const clients = new Set<SseClient>();
let heartbeatTimer: NodeJS.Timeout | undefined;
let heartbeatMs = 15_000;

/** One shared coarse timer: ping clients that have been quiet for a heartbeat interval. */
function ensureHeartbeat(ms: number): void {
  heartbeatMs = ms;
  if (heartbeatTimer) return;
  heartbeatTimer = setInterval(() => {
    const now = Date.now();
    for (const c of clients) {
      if (now - c.pump.lastWrite >= heartbeatMs && !c.w.writableNeedDrain) {
        c.w.write(': ping\n\n');
        c.pump.lastWrite = now;
      }
    }
  }, Math.max(50, Math.min(ms, 5000)));
  heartbeatTimer.unref();
}

export function sseClientCount(): number {
  return clients.size;
}

export interface SseOptions {
  hub: Hub;
  stream: string | null;
  since?: number;
  filter?: (r: RecordView) => boolean;
  maxLag?: number;
  heartbeatMs: number;
  onClose?: () => void;
}

// Node's own helper for handing a connection over on 'upgrade' (a public legacy module: `_http_common`)
const httpCommon = createRequire(import.meta.url)('_http_common') as { freeParser?: (parser: unknown, req: unknown, socket: unknown) => void };

/** The server's listeners on a connection it parses requests on, by name (node:_http_server). */
const SERVER_LISTENERS: Readonly<Record<string, string>> = {
  data: 'bound socketOnData',
  end: 'bound socketOnEnd',
  close: 'bound socketOnClose',
  drain: 'bound socketOnDrain',
  error: 'socketOnError',
  timeout: 'socketOnTimeout',
  pause: 'onSocketPause',
  resume: 'onSocketResume',
};

/**
 * Take the connection from the HTTP server, as Node does for an 'upgrade':
 * the server's listeners off, its parser freed, the response detached. The
 * request, the response, the parser and the server's per-connection state
 * (~3 KB a client, half of what an idle SSE client held; heap snapshot,
 * docs/operations.md) can then be collected. Returns false, and leaves the
 * connection as it is, when the server's listeners are not the ones this
 * Node version is known to set.
 */
function detach(res: ServerResponse, sock: net.Socket): boolean {
  const s = sock as net.Socket & { parser?: unknown };
  if (typeof httpCommon.freeParser !== 'function' || !s.parser) return false;
  const found: [string, (...a: unknown[]) => void][] = [];
  for (const [ev, name] of Object.entries(SERVER_LISTENERS)) {
    const l = sock.listeners(ev).find((f) => f.name === name);
    if (!l) return false;
    found.push([ev, l as (...a: unknown[]) => void]);
  }
  for (const [ev, l] of found) sock.removeListener(ev, l);
  httpCommon.freeParser(s.parser, (res as ServerResponse & { req?: IncomingMessage }).req, sock);
  res.detachSocket(sock);
  // what the client sends from now on is read and dropped; its FIN ends the stream (the server allows half-open)
  sock.on('end', () => sock.destroy());
  sock.resume();
  return true;
}

/**
 * Send the head and the opening lines; returns the stream the events go to.
 * The headers already set on the response (security headers, CORS: the
 * onRequest hooks) go into the head, and are then removed from it: the
 * response object stays attached to its socket for the connection's life.
 */
function open(res: ServerResponse): Writable {
  const sock = res.socket;
  if (sock instanceof net.Socket && !res.headersSent) {
    let head = 'HTTP/1.1 200 OK\r\n';
    for (const name of res.getHeaderNames()) {
      const v = res.getHeader(name);
      if (v !== undefined) for (const x of Array.isArray(v) ? v : [v]) head += name + ': ' + String(x) + '\r\n';
      res.removeHeader(name);
    }
    head += 'Date: ' + new Date().toUTCString() + '\r\n' + DIRECT_HEAD + '\r\n';
    sock.write(head + OPENING);
    // not from inside the parser's own callback (the request event may be): once it has returned
    setImmediate(() => sock.destroyed || detach(res, sock));
    return sock;
  }
  res.writeHead(200, SSE_HEADERS);
  res.write(OPENING);
  return res;
}

/** Serve an SSE client on a raw response until it disconnects (or closeAllSse). */
export function serveSse(res: ServerResponse, o: SseOptions): void {
  if (res.req?.method === 'HEAD') {
    // the head a GET would get, and done (a HEAD response has no body to stream)
    res.writeHead(200, SSE_HEADERS);
    res.end();
    return;
  }
  const w = open(res);
  res.socket?.setNoDelay(true);
  const client = new SseClient(w, makePump(w, 'sse', gapFrame), o.onClose);
  clients.add(client);
  ensureHeartbeat(o.heartbeatMs);
  const sub = o.hub.subscribe({ stream: o.stream, since: o.since, filter: o.filter, maxLag: o.maxLag, stage: 'sse', onWake: client.pump.wake });
  client.sub = sub;
  w.on('close', client.close);
  w.on('error', client.close);
  client.pump.attach(sub);
}

/**
 * End every SSE response (shutdown); resolves when each has handed its last
 * bytes to the kernel or closed, so the process does not exit with records
 * still queued in a response (the daemon's shutdown_timeout bounds the wait).
 */
export function closeAllSse(): Promise<void> {
  const done: Promise<void>[] = [];
  for (const c of clients) {
    const w = c.w;
    done.push(
      w.writableFinished || w.destroyed
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            w.once('finish', resolve);
            w.once('close', resolve);
          }),
    );
    // what was published in this very step (its wake is still a queued microtask) goes out first
    c.pump.flush();
    // a connection taken from the server is not closed by it: once the last bytes are with the
    // kernel (which still delivers them), close it rather than wait for the client's FIN
    if (w instanceof net.Socket) w.once('finish', () => w.destroy());
    w.end();
  }
  clients.clear();
  if (heartbeatTimer) clearInterval(heartbeatTimer);
  heartbeatTimer = undefined;
  return Promise.all(done).then(() => undefined);
}
