/**
 * A record parsed and serialized off the main thread (src/parse/pool.ts).
 * The main thread gets its wire bytes and the few fields routing needs
 * (time, level, source, stream, origin); `message`, `fields`, `host` and
 * `app` are decoded from those bytes the first time a stage asks (the rule
 * engine reads `message`; with no rules and no filters nothing is decoded).
 */
import type { Level, LogRecord, Origin, WireTail } from './record.js';
import type { Entry } from './ring.js';
import type { Block } from './block.js';

interface Rest {
  fields: Record<string, unknown>;
  host?: string;
  app?: string;
}

/**
 * Also its own WireTail (`wire` is the record itself) and, once published,
 * its own ring entry (`asEntry`): one object per record, not three. As an
 * entry it keeps nothing per record but numbers and shared references (its
 * bytes are the batch's block, or the parse thread's buffer behind it), and
 * its message is decoded on each access, not cached, like any ring entry.
 */
export class WireRecord implements LogRecord, WireTail, Entry {
  seq = 0;
  bytes = 0;
  idx = 0;
  block = undefined as unknown as Block;
  #rest: Rest | undefined;

  constructor(
    readonly time: number,
    readonly received: number,
    readonly source: string,
    readonly stream: string,
    readonly origin: Origin,
    readonly level: Level | undefined,
    /** The wire JSON after `{"seq":N` is buf[start, end). */
    readonly buf: Buffer,
    readonly start: number,
    readonly end: number,
    /** Where the whole record starts in `buf` (WireTail.head), or -1. */
    public head: number,
    /** Where the message's JSON string literal (with its quotes) lies in `buf`. */
    readonly msgStart: number,
    readonly msgEnd: number,
  ) {}

  get wire(): WireTail {
    return this;
  }

  get message(): string {
    return JSON.parse(this.buf.toString('utf8', this.msgStart, this.msgEnd)) as string;
  }

  /** This record as the hub's ring entry for it. */
  asEntry(bytes: number, idx: number): Entry {
    this.bytes = bytes;
    this.idx = idx;
    return this;
  }

  get fields(): Record<string, unknown> {
    return this.#decode().fields;
  }

  get host(): string | undefined {
    return this.#decode().host;
  }

  get app(): string | undefined {
    return this.#decode().app;
  }

  #decode(): Rest {
    if (this.#rest === undefined) {
      const r = JSON.parse('{"seq":0' + this.buf.toString('utf8', this.start, this.end)) as Rest;
      this.#rest = { fields: r.fields, host: r.host, app: r.app };
    }
    return this.#rest;
  }
}
