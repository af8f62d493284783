/**
 * One accepted record as a ring hands it out (ring.ts keeps columns, not
 * these objects): numbers and shared strings, and its place in the batch's
 * wire block (its JSON and its message's place live there, off the JS heap). Nothing decoded is cached on it: a filter reads
 * the message's bytes (src/sinks/filter.ts), and `message` decodes them on
 * each call, so what the ring counts is what it holds. Keeping whole records
 * (or their message strings) alive for the ring's lifetime made the
 * young-generation scavenger copy them over and over (~25% of CPU, bench/).
 */
import type { Level } from '../core/record.js';
import type { Block } from '../wire/block.js';

/** What live filters look at. */
export interface RecordView {
  readonly source: string;
  readonly stream: string;
  readonly level?: Level;
  readonly message: string;
  /** The message's JSON string literal: bytes [start, end) of `buf` (quotes included). */
  messageBytes?(): { buf: Buffer; start: number; end: number };
}

export interface Entry extends RecordView {
  readonly seq: number;
  /** Approximate memory cost in bytes (its record's bytes in the block and the entry object). */
  readonly bytes: number;
  readonly block: Block;
  readonly idx: number;
}

/** Rough per-entry object cost, so tiny records still count. */
export const ENTRY_OVERHEAD = 160;

export class RingEntry implements Entry {
  constructor(
    readonly seq: number,
    readonly source: string,
    readonly stream: string,
    readonly level: Level | undefined,
    readonly bytes: number,
    readonly block: Block,
    readonly idx: number,
  ) {}

  get message(): string {
    return this.block.message(this.idx);
  }

  messageBytes(): { buf: Buffer; start: number; end: number } {
    const b = this.block;
    return { buf: b.nd, start: b.msg[2 * this.idx]!, end: b.msg[2 * this.idx + 1]! };
  }
}
