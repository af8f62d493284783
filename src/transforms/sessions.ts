/**
 * `sessions`: fold records into sessions per key (newt's access logger,
 * DECNET's collector). A session closes when its key has been idle for
 * `idle` (arrival time, checked by the chain's timer), when it has lasted
 * `max` (event time), when `max_keys` forces the least recently active one
 * out, and at shutdown; each close is one summary record on the source's
 * stream (`origin.kind = "session"`). Records pass through unchanged.
 */
import type { LogRecord } from '../core/record.js';
import type { SessionsConfig } from './config.js';
import { Lru } from './lru.js';
import { keyOf, textGetter } from './path.js';

export type CloseReason = 'idle' | 'max' | 'shutdown' | 'evicted';

interface Open {
  keys: (string | null)[];
  count: number;
  /** Event times. */
  first: number;
  last: number;
  /** Arrival time of its latest record (what `idle` is measured on). */
  seen: number;
  collected: string[][];
}

export interface SessionsCounters {
  opened: number;
  closed: number;
  evicted: number;
}

export class Sessions {
  readonly counters: SessionsCounters = { opened: 0, closed: 0, evicted: 0 };
  readonly #cfg: SessionsConfig;
  readonly #keys: ((r: LogRecord) => string | undefined)[];
  readonly #collect: ((r: LogRecord) => string | undefined)[];
  readonly #open: Lru<Open>;
  readonly #source: string;
  readonly #stream: string;

  constructor(c: SessionsConfig, source: string, stream: string) {
    this.#cfg = c;
    this.#keys = c.keys.map(textGetter);
    this.#collect = c.collect.map(textGetter);
    this.#open = new Lru(c.max_keys);
    this.#source = source;
    this.#stream = stream;
  }

  get open(): number {
    return this.#open.size;
  }

  /** Count `r` into its session; closed sessions (max, evicted) go to `emit`. */
  observe(r: LogRecord, emit: (r: LogRecord) => void): void {
    const k = keyOf(this.#keys, r);
    let s = this.#open.get(k);
    const max = this.#cfg.max;
    if (s !== undefined && max !== undefined && r.time - s.first >= max) {
      this.#open.delete(k);
      emit(this.#summary(s, 'max', r.received));
      s = undefined;
    }
    if (s === undefined) {
      s = { keys: this.#keys.map((g) => g(r) ?? null), count: 0, first: r.time, last: r.time, seen: r.received, collected: this.#collect.map(() => []) };
      this.counters.opened++;
      const out = this.#open.set(k, s);
      if (out !== undefined) {
        this.counters.evicted++;
        emit(this.#summary(out[1], 'evicted', r.received));
      }
    }
    s.count++;
    if (r.time < s.first) s.first = r.time;
    if (r.time > s.last) s.last = r.time;
    s.seen = Math.max(s.seen, r.received);
    for (let i = 0; i < this.#collect.length; i++) {
      const v = this.#collect[i]!(r);
      const vals = s.collected[i]!;
      if (v !== undefined && vals.length < this.#cfg.max_values && !vals.includes(v)) vals.push(v);
    }
  }

  /** Close the sessions idle at `now` (arrival time), oldest activity first. */
  tick(now: number, emit: (r: LogRecord) => void): void {
    for (;;) {
      const o = this.#open.oldest();
      // least recently active first: once one is not idle, none after it is
      if (o === undefined || now - o[1].seen < this.#cfg.idle) return;
      this.#open.delete(o[0]);
      emit(this.#summary(o[1], 'idle', now));
    }
  }

  /** Close every open session (SIGTERM, a removed source). */
  flush(now: number, emit: (r: LogRecord) => void): void {
    for (const [k, s] of [...this.#open.entries()]) {
      this.#open.delete(k);
      emit(this.#summary(s, 'shutdown', now));
    }
  }

  #summary(s: Open, reason: CloseReason, now: number): LogRecord {
    this.counters.closed++;
    const cfg = this.#cfg;
    const keys: Record<string, string | null> = {};
    cfg.keys.forEach((p, i) => (keys[p] = s.keys[i]!));
    const collected: Record<string, string[]> = {};
    cfg.collect.forEach((p, i) => (collected[p] = s.collected[i]!));
    const duration = s.last - s.first;
    const label = cfg.keys.map((p, i) => `${p}=${s.keys[i] ?? '-'}`).join(' ');
    return {
      seq: 0,
      time: s.last,
      received: now,
      source: this.#source,
      stream: this.#stream,
      origin: { kind: 'session' },
      message: `session ${label}: ${s.count} records in ${duration} ms (${reason})`,
      fields: { session: { keys, count: s.count, first: new Date(s.first).toISOString(), last: new Date(s.last).toISOString(), duration_ms: duration, collected, reason } },
    };
  }

  save(): unknown {
    return [...this.#open.entries()];
  }

  load(state: unknown): void {
    if (!Array.isArray(state)) return;
    for (const e of state) {
      if (!Array.isArray(e) || typeof e[0] !== 'string') continue;
      const s = e[1] as Open;
      if (s && typeof s.count === 'number' && typeof s.first === 'number' && typeof s.last === 'number' && typeof s.seen === 'number' && Array.isArray(s.keys) && Array.isArray(s.collected)) this.#open.set(e[0], s);
    }
  }
}
