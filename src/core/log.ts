/**
 * The daemon's own log (pino): one JSON object a line when stderr is not a
 * terminal (what log shippers and `jq` read), a readable line on a terminal,
 * `[log] level` and `[log] format` to choose. Components log through child
 * loggers (`{component, name}`); what can repeat (a flapping source, a
 * failing webhook) goes through `RateLimit` so it cannot flood the log.
 *
 * No secret reaches it: components log names, addresses and error codes,
 * never tokens, secrets or webhook URLs (a webhook's URL can be its secret),
 * and the keys below are censored should one slip into an object.
 */
import { pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';

export type Log = Logger;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Keys whose values are never written, wherever they appear in a logged object. */
const CENSORED = ['token', 'admin_token', 'viewer_token', 'secret', 'password', 'authorization', 'url', 'headers'];

export interface LogOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Default: process.stderr (synchronous on Linux for files, pipes and terminals). */
  out?: { write(s: string): unknown; isTTY?: boolean };
}

export function createLog(o: LogOptions = {}): Log {
  const out = o.out ?? process.stderr;
  const pretty = o.format === 'pretty' || (o.format !== 'json' && out.isTTY === true);
  const dest: DestinationStream = { write: pretty ? (s) => void out.write(prettyLine(s)) : (s) => void out.write(s) };
  return pino(
    {
      level: o.level ?? 'info',
      base: undefined,
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: CENSORED.flatMap((k) => [k, `*.${k}`]), censor: '[redacted]' },
    },
    dest,
  );
}

/** A logger that writes nothing (components built outside a daemon: tests, bench). */
export const silentLog: Log = pino({ level: 'silent' });

const LEVEL_WIDTH = 5;

/** One JSON line as `HH:MM:SS.mmm LEVEL [component name] msg key=value ...`. */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { time, level, msg, component, name, ...rest } = o;
  const t = typeof time === 'string' ? new Date(time) : new Date();
  const clock = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}.${String(t.getMilliseconds()).padStart(3, '0')}`;
  const tag = component !== undefined ? `${String(component)}${name !== undefined ? ` ${String(name)}` : ''}` : '';
  // a message that starts with its component ("source app: running") needs no tag
  const who = tag && !String(msg ?? '').startsWith(tag) ? ` [${tag}]` : '';
  let fields = '';
  for (const [k, v] of Object.entries(rest)) fields += ` ${k}=${typeof v === 'string' && !/[\s"=]/.test(v) ? v : JSON.stringify(v)}`;
  return `${clock} ${String(level).toUpperCase().padEnd(LEVEL_WIDTH)}${who} ${String(msg ?? '')}${fields}\n`;
}

function pad(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/**
 * At most `burst` lines a key in each window; what is held back is counted
 * and reported with the next line let through (`suppressed: n`). Keys are
 * bounded (a component and a kind of event, never a line's content).
 */
export class RateLimit {
  readonly #keys = new Map<string, { start: number; n: number; held: number }>();
  readonly #burst: number;
  readonly #windowMs: number;
  readonly #now: () => number;

  constructor(burst = 5, windowMs = 60_000, now: () => number = Date.now) {
    this.#burst = burst;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** -1: hold this line back; otherwise how many were held back since the last line let through. */
  take(key: string): number {
    const now = this.#now();
    let k = this.#keys.get(key);
    if (!k || now - k.start >= this.#windowMs) {
      const held = k?.held ?? 0;
      k = { start: now, n: 0, held: 0 };
      this.#keys.set(key, k);
      k.n++;
      return held;
    }
    if (k.n >= this.#burst) {
      k.held++;
      return -1;
    }
    k.n++;
    const held = k.held;
    k.held = 0;
    return held;
  }

  /** Lines held back for `key` and not yet reported. */
  held(key: string): number {
    return this.#keys.get(key)?.held ?? 0;
  }
}
