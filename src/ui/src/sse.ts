/**
 * The live stream over `fetch` rather than EventSource: the token goes in the
 * Authorization header (an EventSource could only put it in the URL, where
 * proxies and access logs keep it), a refused token is told apart from a
 * network error (401 -> the prompt; EventSource sees only "error"), and the
 * reconnect is ours: after any drop it reconnects with `Last-Event-ID` set
 * to the last record it got, so nothing between is lost (the server replays
 * from its ring, or says `gap` with the count it no longer has).
 */
import { authHeaders, ApiError, refused } from './api';

export interface SseMessage {
  event: string;
  id: string | undefined;
  data: string;
}

/**
 * Incremental text/event-stream parser (the WHATWG rules that matter here:
 * LF, CRLF or CR line ends, `field: value` with one optional space, comments,
 * multi-line data joined with LF, dispatch on a blank line).
 */
export class SseParser {
  #buf = '';
  #event = '';
  #data: string[] = [];
  #id: string | undefined;
  /** The last `retry:` the server asked for (ms). */
  retry: number | undefined;

  push(chunk: string, emit: (m: SseMessage) => void): void {
    const text = this.#buf + chunk;
    let start = 0;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 13 && i + 1 === n) break; // a CR at the very end: wait, an LF may follow
      this.#line(text.slice(start, i), emit);
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.#buf = start === 0 ? text : text.slice(start);
  }

  #line(line: string, emit: (m: SseMessage) => void): void {
    if (line === '') {
      if (this.#data.length > 0) emit({ event: this.#event || 'message', id: this.#id, data: this.#data.join('\n') });
      this.#data = [];
      this.#event = '';
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ": comment" (heartbeats)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    else if (field === 'id') this.#id = value.includes('\0') ? this.#id : value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }
}

export type LiveState =
  | { kind: 'connecting' }
  | { kind: 'live' }
  | { kind: 'reconnecting'; attempt: number; since: number; error: string }
  | { kind: 'failed'; error: string };

export interface LiveOptions {
  /** The SSE URL (query filters included; never the token). */
  url: string;
  /** Resume after this seq (the backfill's next_since). */
  since: number | undefined;
  onMessage(m: SseMessage): void;
  /** After each network chunk's messages: a good moment to schedule a render. */
  onBatch(): void;
  onState(s: LiveState): void;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

/** Follow one SSE URL until stop(); reconnects by itself with Last-Event-ID. */
export class LiveConnection {
  #ctl = new AbortController();
  #lastId: string | undefined;
  #o: LiveOptions;

  constructor(o: LiveOptions) {
    this.#o = o;
    this.#lastId = o.since === undefined ? undefined : String(o.since);
    void this.#run();
  }

  /** The id of the last record received (the resume point). */
  get lastId(): string | undefined {
    return this.#lastId;
  }

  stop(): void {
    this.#ctl.abort();
  }

  async #run(): Promise<void> {
    const signal = this.#ctl.signal;
    let attempt = 0;
    let retryMs = 2000;
    this.#o.onState({ kind: 'connecting' });
    while (!signal.aborted) {
      let error: string;
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders() };
        if (this.#lastId !== undefined) headers['last-event-id'] = this.#lastId;
        const res = await fetch(this.#o.url, { headers, signal, cache: 'no-store' });
        if (!res.ok || !res.body) {
          let e = new ApiError(res.status, `HTTP_${res.status}`, res.statusText);
          try {
            const j = (await res.json()) as { error?: { code: string; message: string } };
            if (j.error) e = new ApiError(res.status, j.error.code, j.error.message);
          } catch {
            /* not JSON */
          }
          if (res.status === 401) {
            refused(e);
            this.#o.onState({ kind: 'failed', error: e.message });
            return;
          }
          // a refused filter or unknown stream will not get better by retrying
          if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
            this.#o.onState({ kind: 'failed', error: e.message });
            return;
          }
          throw e;
        }
        const parser = new SseParser();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let announced = false;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (!announced) {
            announced = true;
            attempt = 0;
            this.#o.onState({ kind: 'live' });
          }
          parser.push(value, (m) => {
            if (m.id !== undefined && m.event === 'log') this.#lastId = m.id;
            this.#o.onMessage(m);
          });
          this.#o.onBatch();
        }
        if (parser.retry !== undefined) retryMs = parser.retry;
        error = 'the server closed the stream';
      } catch (err) {
        if (signal.aborted) return;
        error = err instanceof ApiError ? err.message : 'connection lost';
      }
      if (signal.aborted) return;
      attempt++;
      this.#o.onState({ kind: 'reconnecting', attempt, since: Number(this.#lastId ?? 0), error });
      // quick first retries (a restart takes a second or two), then the server's pace
      await sleep(Math.min(retryMs, 250 * 2 ** Math.min(attempt - 1, 3)), signal);
    }
  }
}
