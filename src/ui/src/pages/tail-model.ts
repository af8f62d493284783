/**
 * The live tail's state, apart from its view: the backfill from the replay
 * ring, then the SSE stream from where the backfill ended; the line ring;
 * pausing (new lines wait in `pending`, the view stays still) and the
 * markers for gaps and reconnects. The view asks for a render through
 * `onChange`, at most once a frame; nothing here touches the DOM.
 */
import { get, qs, type LogRecordJson } from '../api';
import { GAP, LINE, LineRing, NOTE, type LineKind } from '../ring';
import { LiveConnection, type LiveState, type SseMessage } from '../sse';

/** Lines kept in the browser (the newest; older ones drop off the top). */
export const CAPACITY = 100_000;
/** Records fetched from the replay ring when the tail opens. */
export const BACKFILL = 2_000;

export interface TailQuery {
  stream: string;
  q: string;
  re: string;
  min_level: string;
}

export function sseUrl(t: TailQuery): string {
  const base = t.stream ? `/api/streams/${encodeURIComponent(t.stream)}/sse` : '/api/tail/sse';
  return base + qs({ q: t.q, re: t.re, min_level: t.min_level });
}

export class TailModel {
  readonly ring = new LineRing(CAPACITY);
  state: LiveState = { kind: 'connecting' };
  /** A filter the server refused, a stream it does not know, a failed backfill. */
  error: string | undefined;
  loading = false;
  paused = false;
  /** While paused: what arrived, in order (bounded like the ring). */
  #pending: { kind: LineKind; seq: number; data: string }[] = [];
  pendingDropped = 0;
  /** A permalinked record: its seq, and whether the backfill still had it. */
  anchor: { seq: number; found: boolean } | undefined;
  /** Records received since open (backfill included). */
  received = 0;
  gaps = 0;
  reconnects = 0;
  #conn: LiveConnection | undefined;
  #gen = 0;
  #lastSeq = 0;
  #lostAt: number | undefined;
  #query: TailQuery | undefined;
  /** Render soon: at the next frame when urgent (a state change), else when the view's pace allows (new lines). */
  onChange: (urgent?: boolean) => void = () => undefined;
  /** Bumped when the ring is emptied (open, clear): the view resets its scroll state. */
  epoch = 0;

  get query(): TailQuery | undefined {
    return this.#query;
  }

  get pendingCount(): number {
    return this.#pending.length + this.pendingDropped;
  }

  /** (Re)open: clear, backfill (around `anchorSeq` for a permalink), then follow live from there. */
  async open(query: TailQuery, anchorSeq?: number): Promise<void> {
    const gen = ++this.#gen;
    this.#conn?.stop();
    this.#conn = undefined;
    this.#query = query;
    this.ring.clear();
    this.epoch++;
    this.#pending = [];
    this.pendingDropped = 0;
    this.#lastSeq = 0;
    this.#lostAt = undefined;
    this.received = 0;
    this.gaps = 0;
    this.reconnects = 0;
    this.error = undefined;
    this.anchor = undefined;
    this.paused = false;
    this.loading = true;
    this.state = { kind: 'connecting' };
    this.onChange();
    let since: number | undefined;
    try {
      const r = await get<{ records: LogRecordJson[]; next_since: number }>(
        '/api/records' + qs({ stream: query.stream, q: query.q, re: query.re, min_level: query.min_level, limit: anchorSeq === undefined ? BACKFILL : 10_000 }),
      );
      if (gen !== this.#gen) return;
      for (const rec of r.records) this.#add(LINE, rec.seq, JSON.stringify(rec));
      since = r.next_since;
      if (anchorSeq !== undefined) this.anchor = { seq: anchorSeq, found: this.ring.indexOfSeq(anchorSeq) >= 0 };
    } catch (err) {
      if (gen !== this.#gen) return;
      this.loading = false;
      this.error = (err as Error).message;
      this.state = { kind: 'failed', error: this.error };
      this.onChange();
      return;
    }
    this.loading = false;
    this.onChange();
    this.#conn = new LiveConnection({
      url: sseUrl(query),
      since,
      onMessage: (m) => this.#message(m),
      onBatch: () => this.onChange(false),
      onState: (s) => {
        if (gen === this.#gen) this.#state(s);
      },
    });
  }

  close(): void {
    this.#gen++;
    this.#conn?.stop();
    this.#conn = undefined;
  }

  #message(m: SseMessage): void {
    if (m.event === 'log') {
      const seq = Number(m.id);
      if (!(seq > this.#lastSeq)) return; // replayed twice around a reconnect: keep the first
      this.#add(LINE, seq, m.data);
    } else if (m.event === 'gap') {
      let missed = 0;
      try {
        missed = Number((JSON.parse(m.data) as { missed?: number }).missed ?? 0);
      } catch {
        /* keep 0 */
      }
      this.gaps += missed;
      this.#add(GAP, this.#lastSeq, String(missed));
    }
  }

  #state(s: LiveState): void {
    const prev = this.state.kind;
    this.state = s;
    if (s.kind === 'reconnecting' && this.#lostAt === undefined) this.#lostAt = Date.now();
    if (s.kind === 'live' && this.#lostAt !== undefined) {
      const secs = ((Date.now() - this.#lostAt) / 1000).toFixed(1);
      this.reconnects++;
      this.#add(NOTE, this.#lastSeq, `Reconnected after ${secs} s, resumed after #${this.#lastSeq} (Last-Event-ID)`);
      this.#lostAt = undefined;
    }
    if (s.kind === 'failed') this.error = s.error;
    if (prev !== s.kind) this.onChange();
  }

  #add(kind: LineKind, seq: number, data: string): void {
    if (kind === LINE) {
      this.#lastSeq = seq;
      this.received++;
    }
    if (!this.paused) {
      this.ring.push(kind, seq, data);
      return;
    }
    this.#pending.push({ kind, seq, data });
    if (this.#pending.length > CAPACITY + (CAPACITY >> 2)) {
      // what waits beyond the ring's capacity would drop off the top on resume anyway (trimmed in bulk)
      const over = this.#pending.length - CAPACITY;
      this.#pending.splice(0, over);
      this.pendingDropped += over;
    }
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.onChange();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const p of this.#pending) this.ring.push(p.kind, p.seq, p.data);
    this.#pending = [];
    this.pendingDropped = 0;
    this.onChange();
  }

  /** Empty the view; the stream goes on. */
  clearView(): void {
    this.ring.clear();
    this.epoch++;
    this.#pending = [];
    this.pendingDropped = 0;
    this.anchor = undefined;
    this.onChange();
  }
}
