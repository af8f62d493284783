/**
 * The per-stream raw TCP output: every connection gets the stream's live
 * records as NDJSON (one record JSON per line). A connection whose reader is
 * slow is a hub cursor that falls behind: it loses its oldest records, gets a
 * `{"gap":{"missed":N}}` line, and the loss is counted
 * (sluice_dropped_total{stage="tcp",reason="slow_client"}); other clients and
 * the hub are never slowed. What clients send is read and discarded.
 */
import net from 'node:net';
import type { Hub } from '../../core/hub.js';
import type { Entry } from '../../core/ring.js';
import { wireRuns } from '../../core/block.js';
import { writeAll } from '../write.js';

const TAKE = 1024;

export interface TcpStreamServerOptions {
  hub: Hub;
  stream: string;
  listen: string;
  maxLag?: number;
}

export interface TcpClientInfo {
  remote: string;
  sent: number;
  dropped: number;
  lag: number;
}

export class TcpStreamServer {
  readonly stream: string;
  readonly listen: string;
  #server: net.Server;
  #o: TcpStreamServerOptions;
  #conns = new Map<net.Socket, { info: () => TcpClientInfo; close: () => void }>();

  constructor(o: TcpStreamServerOptions) {
    this.#o = o;
    this.stream = o.stream;
    this.listen = o.listen;
    this.#server = net.createServer((sock) => this.#serve(sock));
  }

  /** Bind; rejects with the OS error (EADDRINUSE, EACCES) so a reload can refuse the change. */
  start(): Promise<void> {
    const { host, port } = splitHostPort(this.listen);
    return new Promise((resolve, reject) => {
      const onErr = (err: Error) => reject(err);
      this.#server.once('error', onErr);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', onErr);
        resolve();
      });
    });
  }

  address(): net.AddressInfo {
    return this.#server.address() as net.AddressInfo;
  }

  clients(): TcpClientInfo[] {
    return [...this.#conns.values()].map((c) => c.info());
  }

  #serve(sock: net.Socket): void {
    sock.setNoDelay(true);
    sock.resume(); // discard input
    let blocked = false;
    let closed = false;
    const buf: Entry[] = [];
    const bufs: Buffer[] = [];
    const flush = (): void => {
      if (closed) return;
      if (blocked) {
        sub.trim(); // count a stalled client's losses as they happen
        return;
      }
      for (;;) {
        buf.length = 0;
        const notice = sub.take(TAKE, buf);
        if (!notice && buf.length === 0) return;
        bufs.length = 0;
        if (notice) bufs.push(Buffer.from('{"gap":{"missed":' + notice.missed + '}}\n'));
        wireRuns(buf, 'nd', bufs);
        if (!writeAll(sock, bufs)) {
          blocked = true;
          sock.once('drain', () => {
            blocked = false;
            flush();
          });
          return;
        }
      }
    };
    const sub = this.#o.hub.subscribe({ stream: this.stream, maxLag: this.#o.maxLag, stage: 'tcp', onWake: flush });
    const remote = `${sock.remoteAddress}:${sock.remotePort}`;
    const close = (): void => {
      if (closed) return;
      closed = true;
      sub.close();
      this.#conns.delete(sock);
    };
    this.#conns.set(sock, {
      info: () => ({ remote, sent: sub.sent, dropped: sub.dropped, lag: sub.lag }),
      close: () => {
        close();
        sock.end();
      },
    });
    sock.on('close', close);
    sock.on('error', close);
  }

  /** Stop accepting, end every connection (after what was written), resolve when closed. */
  async stop(): Promise<void> {
    for (const c of [...this.#conns.values()]) c.close();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(addr.slice(i + 1)) };
}
