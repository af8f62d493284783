/**
 * A real SSE client on node:http for tests: collects events, tracks the last
 * id, can disconnect and resume with Last-Event-ID.
 */
import http from 'node:http';
import { SseParser } from '../../src/cli/tail.js';

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export class SseClient {
  events: SseEvent[] = [];
  lastId: string | undefined;
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  /** The response ended or its connection closed (e.g. the server died): every byte it sent has been read. */
  closed = false;
  #req?: http.ClientRequest;
  #waiters: (() => void)[] = [];

  constructor(readonly url: string, readonly headersIn: Record<string, string> = {}) {}

  connect(lastEventId?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { Accept: 'text/event-stream', ...this.headersIn };
      if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
      const req = http.get(this.url, { headers }, (res) => {
        this.status = res.statusCode ?? 0;
        this.headers = res.headers;
        res.setEncoding('utf8');
        const parser = new SseParser();
        res.on('data', (chunk: string) =>
          parser.push(chunk, (e) => {
            if (e.id !== undefined) this.lastId = e.id;
            this.events.push({ ...e });
            for (const w of this.#waiters.splice(0)) w();
          }),
        );
        res.on('error', () => undefined);
        res.on('close', () => {
          this.closed = true;
          for (const w of this.#waiters.splice(0)) w();
        });
        resolve();
      });
      req.on('error', (err) => {
        if (!this.status) reject(err);
      });
      this.#req = req;
    });
  }

  /** Abort the connection (as a network drop would). */
  disconnect(): void {
    this.#req?.destroy();
  }

  logs(): { seq: number; message: string; [k: string]: unknown }[] {
    return this.events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data));
  }

  gaps(): { missed: number }[] {
    return this.events.filter((e) => e.event === 'gap').map((e) => JSON.parse(e.data));
  }

  async waitFor(pred: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} (have ${this.events.length} events)`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
}
