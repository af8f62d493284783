/**
 * A long-lived Engine API GET read straight off the Unix socket: the log
 * streams, the Docker source's hot path. node:http pays per HTTP chunk (a
 * Buffer, a stream push, a 'data' event), and dockerd flushes every log
 * entry as its own chunk; here every read lands in one buffer shared by all
 * streams (`onread`, no allocation per read), the chunked framing is undone
 * in place (framing/http-body.ts) and the payload of a whole read goes to
 * the consumer as one range, valid only during the call (it copies what it
 * keeps: the demuxer's partial frame, the line splitter's partial line).
 *
 * The request is plain HTTP/1.1 with `Connection: close`. The response head
 * is read here (status, Transfer-Encoding, Content-Length); a status other
 * than 200 rejects with the engine's message, as DockerClient's other calls do.
 */
import net from 'node:net';
import { BodyDecoder, type BodyMode } from '../../framing/http-body.js';
import { SluiceError } from '../../core/errors.js';
import { apiError, DOCKER_ERRORS } from './errors.js';

/** What a stream's consumer is told. */
export interface StreamHandlers {
  /** Body bytes `buf[start, end)`: valid only during the call (the read buffer is reused). */
  data(buf: Buffer, start: number, end: number): void;
  /** The stream is over, once: `complete` when the body ended where its framing says, false on a reset, a socket error, bad framing or destroy(). */
  end(complete: boolean): void;
}

const READ_SIZE = 64 * 1024;
/** Every stream reads into this: a read is consumed before the next one happens (one thread). */
const READ_BUF = Buffer.allocUnsafe(READ_SIZE);
const MAX_HEAD = 16 * 1024;
/** Of an error response's body, kept for its message. */
const MAX_ERROR_BODY = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

interface Head {
  status: number;
  mode: BodyMode;
  length: number;
}

/** Parse a response head (without its blank line); undefined when it is not HTTP/1.x. */
export function parseHead(text: string): Head | string {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!m) return `not an HTTP/1.x response: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`;
  let chunked = false;
  let length = -1;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    const c = l.indexOf(':');
    if (c <= 0) continue;
    const name = l.slice(0, c).trim().toLowerCase();
    const value = l.slice(c + 1).trim();
    if (name === 'transfer-encoding') chunked = value.toLowerCase().split(',').map((s) => s.trim()).includes('chunked');
    else if (name === 'content-length') {
      if (!/^\d+$/.test(value)) return `bad Content-Length ${JSON.stringify(value.slice(0, 40))}`;
      length = Number(value);
    }
  }
  const status = Number(m[1]);
  if (chunked) return { status, mode: 'chunked', length: 0 };
  if (length >= 0) return { status, mode: 'length', length };
  return { status, mode: 'close', length: 0 };
}

export class EngineStream {
  readonly #sock: net.Socket;
  readonly #path: string;
  readonly #socketPath: string;
  #body: BodyDecoder | undefined;
  #head: Buffer | null = null;
  #handlers: StreamHandlers | undefined;
  /** Body bytes that came with the head, before start(). */
  #held: Buffer | undefined;
  #ended = false;
  /** How it ended (for a start() after the end). */
  #complete = false;
  #opened: { resolve(s: EngineStream): void; reject(e: Error): void } | undefined;
  /** An error response's body (status, bytes so far). */
  #error: { status: number; chunks: Buffer[]; n: number } | undefined;

  private constructor(socketPath: string, path: string, opened: { resolve(s: EngineStream): void; reject(e: Error): void }, timeoutMs: number) {
    this.#path = path;
    this.#socketPath = socketPath;
    this.#opened = opened;
    this.#sock = net.connect({ path: socketPath, onread: { buffer: READ_BUF, callback: (n: number, buf: Uint8Array) => this.#read(buf as Buffer, n) } });
    this.#sock.setTimeout(timeoutMs, () => this.#sock.destroy(new Error(`no response head after ${timeoutMs} ms`)));
    this.#sock.once('connect', () => this.#sock.write(`GET ${path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n`));
    this.#sock.on('end', () => this.#eof());
    this.#sock.once('error', (err) => this.#closed(err));
    this.#sock.once('close', () => this.#closed(undefined));
  }

  /** Connect, send the GET and read the response head; resolves paused on a 200 (call `start`). */
  static open(socketPath: string, path: string, timeoutMs = 10_000): Promise<EngineStream> {
    return new Promise((resolve, reject) => new EngineStream(socketPath, path, { resolve, reject }, timeoutMs));
  }

  /** Hand the body to `h` (what came with the head first) and start reading. */
  start(h: StreamHandlers): void {
    this.#handlers = h;
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined) this.#deliver(held, held.length);
    if (this.#ended) h.end(this.#complete);
    else this.#sock.resume();
  }

  pause(): void {
    this.#sock.pause();
  }

  resume(): void {
    if (this.#handlers !== undefined) this.#sock.resume();
  }

  /** Stop reading: the handlers get end(false) unless the body already ended. */
  destroy(): void {
    this.#sock.destroy();
  }

  /** One read of `n` bytes into `buf` (shared). False pauses the socket (before start). */
  #read(buf: Buffer, n: number): boolean {
    if (this.#ended) return false;
    if (this.#opened !== undefined) return this.#readHead(buf, n);
    if (this.#error !== undefined) {
      this.#collectError(buf, n);
      return true;
    }
    this.#deliver(buf, n);
    return !this.#ended;
  }

  #deliver(buf: Buffer, n: number): void {
    const body = this.#body!;
    const w = body.push(buf, 0, n);
    if (w > 0) this.#handlers!.data(buf, 0, w);
    if (body.error !== undefined || body.done) this.#finish(body.done);
  }

  #readHead(buf: Buffer, n: number): boolean {
    const head = this.#head === null ? Buffer.from(buf.subarray(0, n)) : Buffer.concat([this.#head, buf.subarray(0, n)]);
    const at = head.indexOf(HEAD_END);
    if (at < 0) {
      if (head.length > MAX_HEAD) this.#sock.destroy(new Error(`response head larger than ${MAX_HEAD} bytes`));
      else this.#head = head;
      return true;
    }
    this.#head = null;
    const h = parseHead(head.toString('latin1', 0, at));
    const rest = head.subarray(at + 4);
    if (typeof h === 'string') {
      this.#sock.destroy(new Error(h));
      return false;
    }
    this.#sock.setTimeout(0);
    this.#body = new BodyDecoder(h.mode, h.length);
    if (h.status !== 200) {
      this.#error = { status: h.status, chunks: [], n: 0 };
      if (rest.length > 0) this.#collectError(rest, rest.length);
      return true;
    }
    const opened = this.#opened!;
    this.#opened = undefined;
    if (rest.length > 0) this.#held = rest;
    // paused until start(): nothing is read that nobody takes
    this.#sock.pause();
    opened.resolve(this);
    return false;
  }

  /** An error response's body: kept (up to a cap) for the message, then the open rejects. */
  #collectError(buf: Buffer, n: number): void {
    const e = this.#error!;
    const body = this.#body!;
    const w = body.push(buf, 0, n);
    if (e.n < MAX_ERROR_BODY) {
      e.chunks.push(Buffer.from(buf.subarray(0, Math.min(w, MAX_ERROR_BODY - e.n))));
      e.n += w;
    }
    if (body.done || body.error !== undefined) this.#sock.destroy();
  }

  #eof(): void {
    // a close-delimited body ends here, complete; any other ended early
    this.#finish(this.#body?.mode === 'close' && this.#body.error === undefined);
  }

  #closed(err: Error | undefined): void {
    if (this.#opened !== undefined) {
      const opened = this.#opened;
      this.#opened = undefined;
      if (this.#error !== undefined) opened.reject(apiError(this.#error.status, this.#path, Buffer.concat(this.#error.chunks)));
      else opened.reject(new SluiceError(DOCKER_ERRORS.UNREACHABLE, `${this.#socketPath}: ${err?.message ?? 'connection closed before the response'}`, { path: this.#path }));
    }
    this.#finish(false);
  }

  #finish(complete: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#complete = complete;
    this.#sock.destroy();
    // before start() the end waits for it (start reports it)
    this.#handlers?.end(complete);
  }
}
