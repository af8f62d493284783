/**
 * The per-stream raw TCP output: every connection gets the stream's live
 * records as NDJSON (one record JSON per line). A connection whose reader is
 * slow is a hub cursor that falls behind: it loses its oldest records, gets a
 * `{"gap":{"missed":N}}` line, and the loss is counted
 * (sluice_dropped_total{stage="tcp",reason="slow_client"}); other clients and
 * the hub are never slowed. What clients send is read and discarded.
 */
import net from 'node:net';
import type { Hub } from '../../hub/hub.js';
import { makePump } from '../write.js';


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
  /** Bytes queued in the socket beyond what the kernel took (the client's write slack). */
  buffered: number;
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
    const pump = makePump(sock, 'nd', (missed) => '{"gap":{"missed":' + missed + '}}\n');
    const sub = this.#o.hub.subscribe({ stream: this.stream, maxLag: this.#o.maxLag, stage: 'tcp', onWake: pump.wake });
    let closed = false;
    const remote = `${sock.remoteAddress}:${sock.remotePort}`;
    const close = (): void => {
      if (closed) return;
      closed = true;
      pump.close();
      sub.close();
      this.#conns.delete(sock);
    };
    this.#conns.set(sock, {
      info: () => ({ remote, sent: sub.sent, dropped: sub.dropped, lag: sub.lag, buffered: pump.buffered() }),
      close: () => {
        pump.flush(); // what was published in this very step (its wake is still a queued microtask) goes out first
        close();
        sock.end();
      },
    });
    sock.on('close', close);
    sock.on('error', close);
    pump.attach(sub);
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
