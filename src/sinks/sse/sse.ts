/**
 * Server-Sent Events for one client: a hub cursor written to an HTTP
 * response with SSE hygiene (ARCHITECTURE.md §5): `id:` is the record seq,
 * `event: log` / `event: gap`, JSON data on one line (JSON escapes CR/LF), the
 * anti-buffering headers, and `: ping` heartbeats from one shared timer.
 * Back-pressure: when the socket's buffer is full we stop taking from the
 * cursor until 'drain'; the hub never waits, the cursor falls behind and
 * loses its oldest entries with a `gap` notice (counted by the hub).
 */
import type { ServerResponse } from 'node:http';
import type { Hub } from '../../hub/hub.js';
import { makePump, type Pump } from '../write.js';
import type { RecordView } from '../../hub/entry.js';

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
} as const;



interface Client {
  res: ServerResponse;
  lastWrite: number;
  pump?: Pump;
}
const clients = new Set<Client>();
let heartbeatTimer: NodeJS.Timeout | undefined;
let heartbeatMs = 15_000;

/** One shared coarse timer: ping clients that have been quiet for a heartbeat interval. */
function ensureHeartbeat(ms: number): void {
  heartbeatMs = ms;
  if (heartbeatTimer) return;
  heartbeatTimer = setInterval(() => {
    const now = Date.now();
    for (const c of clients) {
      if (now - c.lastWrite >= heartbeatMs && !c.res.writableNeedDrain) {
        c.res.write(': ping\n\n');
        c.lastWrite = now;
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

/** Serve an SSE client on a raw response until it disconnects (or closeAllSse). */
export function serveSse(res: ServerResponse, o: SseOptions): void {
  res.writeHead(200, SSE_HEADERS);
  res.socket?.setNoDelay(true);
  const client: Client = { res, lastWrite: Date.now() };
  clients.add(client);
  ensureHeartbeat(o.heartbeatMs);
  // tell EventSource how long to wait before reconnecting, and open the stream at once
  res.write('retry: 2000\n: connected\n\n');

  const pump = makePump(res, 'sse', (missed) => 'event: gap\ndata: {"missed":' + missed + '}\n\n', () => (client.lastWrite = Date.now()));
  client.pump = pump;
  const sub = o.hub.subscribe({ stream: o.stream, since: o.since, filter: o.filter, maxLag: o.maxLag, stage: 'sse', onWake: pump.wake });
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    pump.close();
    clients.delete(client);
    sub.close();
    o.onClose?.();
  };
  res.on('close', close);
  res.on('error', close);
  pump.attach(sub);
}

/**
 * End every SSE response (shutdown); resolves when each has handed its last
 * bytes to the kernel or closed, so the process does not exit with records
 * still queued in a response (the daemon's shutdown_timeout bounds the wait).
 */
export function closeAllSse(): Promise<void> {
  const done: Promise<void>[] = [];
  for (const c of clients) {
    const res = c.res;
    done.push(
      res.writableFinished || res.destroyed
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            res.once('finish', resolve);
            res.once('close', resolve);
          }),
    );
    // what was published in this very step (its wake is still a queued microtask) goes out first
    c.pump?.flush();
    res.end();
  }
  clients.clear();
  if (heartbeatTimer) clearInterval(heartbeatTimer);
  heartbeatTimer = undefined;
  return Promise.all(done).then(() => undefined);
}
