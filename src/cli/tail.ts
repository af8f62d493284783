/**
 * `sluice tail URL`: follow a Sluice's SSE stream from a terminal. Keeps the
 * last event id and reconnects with `Last-Event-ID` (backoff 0.5 s doubling
 * to 10 s), so a restart of either side loses nothing the server still has;
 * a `gap` notice is printed when the server no longer had some records.
 * Only failures a retry can help are retried (refused, reset, 5xx; at most
 * --max-retries in a row); 401, 403, 404 and a bad request end it at once
 * with the exit code of client.ts.
 */
import { LEVELS } from '../core/record.js';
import { CLIENT_ERR, ClientError, EXIT, FIRST_DELAY_MS, hostPort, networkError, nextDelay, report, request, sleep, type Target } from './client.js';

export interface TailOptions {
  /** The Sluice and the token (token.ts resolveTarget). */
  target: Target;
  stream?: string;
  filter?: string;
  level?: string;
  since?: number;
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
    process.stderr.write(`sluice tail: unknown level "${l}" (one of ${LEVELS.join(', ')})\n`);
    return EXIT.USAGE;
  }
  const path = o.stream ? `/api/streams/${encodeURIComponent(o.stream)}/sse` : '/api/tail/sse';
  const qs = new URLSearchParams();
  if (o.filter) qs.set('q', o.filter);
  if (o.level) qs.set('level', o.level);
  const target = o.target;
  let lastId: string | undefined = o.since !== undefined ? String(o.since) : undefined;
  const color = !o.json && process.stdout.isTTY === true;
  let failures = 0;
  let delay = FIRST_DELAY_MS;
  while (!o.signal?.aborted) {
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (lastId !== undefined) headers['Last-Event-ID'] = lastId;
    try {
      const res = await request(target, `${path}${qs.size ? `?${qs}` : ''}`, { headers, signal: o.signal });
      if (!res.body) throw new ClientError(CLIENT_ERR.ANSWER, 'the answer has no body', true);
      failures = 0;
      delay = FIRST_DELAY_MS;
      const parser = new SseParser();
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          parser.push(decoder.decode(chunk, { stream: true }), (e) => {
            if (e.id !== undefined) lastId = e.id;
            if (e.event === 'log') out(render(e.data, o.json, color));
            else if (e.event === 'gap') process.stderr.write(`-- gap: ${e.data} --\n`);
          });
        }
      } catch (err) {
        throw networkError(err, target.base);
      }
      throw new ClientError(CLIENT_ERR.UNREACHABLE, `${hostPort(target.base)} ended the stream`, true);
    } catch (err) {
      if (o.signal?.aborted) break;
      const e = networkError(err, target.base);
      // 401, 403, 404, a bad request, TLS or an unknown host: a retry cannot help
      if (!e.retryable) return report('tail', e);
      failures++;
      if (failures > o.maxRetries) return report('tail', e, failures - 1);
      process.stderr.write(`-- disconnected (${e.message}); reconnecting in ${delay} ms --\n`);
      await sleep(delay, o.signal);
      delay = nextDelay(delay);
    }
  }
  return EXIT.OK;
}
