/**
 * A small fake Docker engine on a Unix socket, for what a real engine will
 * not produce: scripted raw log bytes (huge headers, truncated frames,
 * unknown stream bytes, garbage) and exact timestamps (many lines sharing
 * one) with the engine's inclusive nanosecond `since` filter.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseTimestamp, sinceParam } from '../../src/framing/docker-mux.js';

export interface FakeMessage {
  std: 1 | 2;
  ts: string;
  content: string;
}

export interface FakeContainer {
  id: string;
  name: string;
  running: boolean;
  /** Shown by the container listing (default: `running`); lets a test list a container that has already stopped. */
  listed?: boolean;
  tty?: boolean;
  labels?: Record<string, string>;
  /** Raw bytes to serve as the log stream (edge cases). */
  raw?: Buffer;
  /** Or messages, filtered by `since`, framed by the fake. */
  messages?: FakeMessage[];
  /** Keep the log stream open after writing (a running container). */
  hold?: boolean;
  /** Called after an inspect of the container was answered (a test changes the container between two looks). */
  onInspect?: (c: FakeContainer) => void;
}

export function frame(std: number, payload: Buffer | string, sizeOverride?: number): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const h = Buffer.alloc(8);
  h[0] = std;
  h.writeUInt32BE(sizeOverride ?? p.length, 4);
  return Buffer.concat([h, p]);
}

function sinceOk(key: string, since: string | null): boolean {
  if (!since) return true;
  const [s, n = '0'] = since.split('.');
  const [ks, kn] = sinceParam(key).split('.');
  const a = BigInt(ks!) * 1_000_000_000n + BigInt(kn!);
  const b = BigInt(s!) * 1_000_000_000n + BigInt(n.padEnd(9, '0'));
  return a >= b;
}

export class FakeDocker {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'sfd-'));
  readonly socket = path.join(this.dir, 'docker.sock');
  readonly containers = new Map<string, FakeContainer>();
  readonly logRequests: string[] = [];
  readonly #server: http.Server;
  readonly #open = new Set<http.ServerResponse>();
  /** Held (follow) log streams per container id. */
  readonly #following = new Map<string, Map<http.ServerResponse, string | null>>();

  constructor() {
    this.#server = http.createServer((req, res) => this.#handle(req, res));
  }

  add(c: FakeContainer): void {
    this.containers.set(c.id, c);
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(this.socket, resolve));
  }

  /** Add messages to a container's log, and write them to its open follow streams (as a running container would). */
  append(id: string, ...msgs: FakeMessage[]): void {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no fake container ${id}`);
    c.messages = [...(c.messages ?? []), ...msgs];
    for (const [res, since] of this.#following.get(id) ?? []) {
      for (const m of msgs) if (sinceOk(parseTimestamp(m.ts)!.key, since)) res.write(this.#encode(c, m));
    }
  }

  /** End every held stream (as a container stop or engine restart would). */
  /** End the log streams followed for one container (it stopped), the events stream left open. */
  endLogs(id: string): void {
    for (const r of this.#following.get(id)?.keys() ?? []) {
      r.end();
      this.#open.delete(r);
    }
    this.#following.delete(id);
  }

  endStreams(): void {
    for (const r of this.#open) r.end();
    this.#open.clear();
    this.#following.clear();
  }

  async close(): Promise<void> {
    for (const r of this.#open) r.destroy();
    this.#open.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://docker');
    const p = url.pathname.replace(/^\/v\d+\.\d+/, '');
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (p === '/_ping') return void res.end('OK');
    if (p === '/version') return json(200, { ApiVersion: '1.41', MinAPIVersion: '1.12', Version: 'fake' });
    if (p === '/containers/json') {
      return json(
        200,
        [...this.containers.values()]
          .filter((c) => c.listed ?? c.running)
          .map((c) => ({ Id: c.id, Names: [`/${c.name}`], Image: 'fake:latest', State: 'running', Labels: c.labels ?? {} })),
      );
    }
    if (p === '/events') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      this.#open.add(res);
      res.once('close', () => this.#open.delete(res));
      return;
    }
    const m = /^\/containers\/([^/]+)\/(json|logs)$/.exec(p);
    const c = m ? this.containers.get(decodeURIComponent(m[1]!)) : undefined;
    if (!m || !c) return json(404, { message: 'No such container' });
    if (m[2] === 'json') {
      json(200, {
        Id: c.id,
        Name: `/${c.name}`,
        Config: { Tty: Boolean(c.tty), Image: 'fake:latest', Labels: c.labels ?? {} },
        State: { Running: c.running, Status: c.running ? 'running' : 'exited', StartedAt: '2026-01-01T00:00:00Z' },
      });
      c.onInspect?.(c);
      return;
    }
    this.logRequests.push(`${c.name}?${url.searchParams.toString()}`);
    res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
    const since = url.searchParams.get('since');
    if (c.raw) res.write(c.raw);
    for (const msg of c.messages ?? []) {
      if (!sinceOk(parseTimestamp(msg.ts)!.key, since)) continue;
      res.write(this.#encode(c, msg));
    }
    // follow=0 (what the crash replay asks for) always ends after what is there.
    if (c.hold && url.searchParams.get('follow') !== '0') {
      this.#open.add(res);
      let set = this.#following.get(c.id);
      if (!set) this.#following.set(c.id, (set = new Map()));
      set.set(res, since);
      res.once('close', () => {
        this.#open.delete(res);
        set.delete(res);
      });
    } else res.end();
  }

  #encode(c: FakeContainer, msg: FakeMessage): Buffer {
    const payload = `${msg.ts} ${msg.content}`;
    return c.tty ? Buffer.from(payload) : frame(msg.std, payload);
  }
}
