/**
 * `sluice tail URL`: follow a Sluice's SSE stream from a terminal. Keeps the
 * last event id and reconnects with `Last-Event-ID` (backoff 0.5 s doubling
 * to 10 s), so a restart of either side loses nothing the server still has;
 * a `gap` notice is printed when the server no longer had some records.
 */
import { LEVELS } from '../core/record.js';

export interface TailOptions {
  url: string;
  stream?: string;
  filter?: string;
  level?: string;
  since?: number;
  token?: string;
  json: boolean;
  maxRetries: number;
  out?: (line: string) => void;
  signal?: AbortSignal;
}

interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** Incremental SSE parser (the WHATWG event-stream rules we need: id, event, data, comments, CRLF). */
export class SseParser {
  #buf = '';
  #ev: SseEvent = { event: 'message', data: '' };
  #hasData = false;
  push(chunk: string, emit: (e: SseEvent) => void): void {
    this.#buf += chunk;
    let i: number;
    while ((i = this.#buf.indexOf('\n')) >= 0) {
      let line = this.#buf.slice(0, i);
      this.#buf = this.#buf.slice(i + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (this.#hasData) emit(this.#ev);
        this.#ev = { event: 'message', data: '' };
        this.#hasData = false;
        continue;
      }
      if (line.startsWith(':')) continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let value = c < 0 ? '' : line.slice(c + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') {
        this.#ev.data = this.#hasData ? this.#ev.data + '\n' + value : value;
        this.#hasData = true;
      } else if (field === 'event') this.#ev.event = value;
      else if (field === 'id' && !value.includes('\0')) this.#ev.id = value;
    }
  }
}

const COLORS: Record<string, string> = { error: '31', critical: '31;1', alert: '31;1', emergency: '31;1', warn: '33', notice: '36', debug: '2', trace: '2' };

function render(data: string, json: boolean, color: boolean): string {
  if (json) return data;
  try {
    const r = JSON.parse(data) as { time: string; level?: string; source: string; message: string };
    const lvl = (r.level ?? '-').padEnd(5);
    const l = color && r.level && COLORS[r.level] ? `\x1b[${COLORS[r.level]}m${lvl}\x1b[0m` : lvl;
    return `${r.time} ${l} [${r.source}] ${r.message}`;
  } catch {
    return data;
  }
}

export async function runTail(o: TailOptions): Promise<number> {
  const out = o.out ?? ((l: string) => process.stdout.write(l + '\n'));
  if (o.level) for (const l of o.level.split(',')) if (!(LEVELS as readonly string[]).includes(l.trim())) {
    process.stderr.write(`unknown level "${l}" (one of ${LEVELS.join(', ')})\n`);
    return 2;
  }
  const base = o.url.replace(/\/+$/, '');
  const path = o.stream ? `/api/streams/${encodeURIComponent(o.stream)}/sse` : '/api/tail/sse';
  const qs = new URLSearchParams();
  if (o.filter) qs.set('q', o.filter);
  if (o.level) qs.set('level', o.level);
  let lastId: string | undefined = o.since !== undefined ? String(o.since) : undefined;
  const color = !o.json && process.stdout.isTTY === true;
  let failures = 0;
  let delay = 500;
  while (!o.signal?.aborted) {
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (o.token) headers.Authorization = `Bearer ${o.token}`;
    if (lastId !== undefined) headers['Last-Event-ID'] = lastId;
    try {
      const res = await fetch(`${base}${path}${qs.size ? `?${qs}` : ''}`, { headers, signal: o.signal });
      if (res.status === 401 || res.status === 403 || res.status === 404 || res.status === 400) {
        process.stderr.write(`${res.status}: ${await res.text()}\n`);
        return 1;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      failures = 0;
      delay = 500;
      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        parser.push(decoder.decode(chunk, { stream: true }), (e) => {
          if (e.id !== undefined) lastId = e.id;
          if (e.event === 'log') out(render(e.data, o.json, color));
          else if (e.event === 'gap') process.stderr.write(`-- gap: ${e.data} --\n`);
        });
      }
      throw new Error('stream ended');
    } catch (err) {
      if (o.signal?.aborted) break;
      failures++;
      if (failures > o.maxRetries) {
        process.stderr.write(`giving up after ${failures - 1} retries: ${(err as Error).message}\n`);
        return 1;
      }
      process.stderr.write(`-- disconnected (${(err as Error).message}); reconnecting in ${delay} ms --\n`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  }
  return 0;
}
