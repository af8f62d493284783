/**
 * A parse worker (src/parse/pool.ts): lines in, wire bytes out. For each
 * line it runs the same parser and the same serializer as the main thread
 * (parseLine, then the record's wire JSON minus `{"seq":N`, which only the
 * hub can write), encodes everything into one buffer and transfers it back
 * with the few per-record values the main thread routes on.
 */
import { parentPort } from 'node:worker_threads';
import { parseCounters, parseLine } from './detect.js';
import { splitRegion } from '../framing/lines.js';
import { utf8Write } from '../core/utf8.js';
import { LEVELS, fieldsTail, headWith, middleText } from '../core/record.js';
import type { ParseJob, ParseResult } from './pool.js';

const LEVEL_CODE = new Map<string, number>(LEVELS.map((l, i) => [l, i + 1]));

class Out {
  buf: Buffer;
  off = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }
  /** Write `s`, return the bytes written. */
  write(s: string): number {
    // worst case 3 bytes per UTF-16 unit
    if (this.off + s.length * 3 > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.off + s.length * 3));
      this.buf.copy(bigger, 0, 0, this.off);
      this.buf = bigger;
    }
    const n = utf8Write(this.buf, s, this.off);
    this.off += n;
    return n;
  }
}

function snapshotCounters(): Record<string, number> {
  return { ...parseCounters };
}

/** The job's lines in order: its strings as they are, its byte runs split here. */
function linesOf(job: ParseJob, split: ParseResult['split']): string[] {
  const lines: string[] = [];
  for (const it of job.items) {
    if (typeof it === 'string') lines.push(it);
    else {
      const r = splitRegion(Buffer.from(it.buffer, it.byteOffset, it.length), job.maxLineBytes, (line) => lines.push(line));
      split.lines += r.lines;
      split.truncated += r.truncated;
      split.repaired += r.repaired;
    }
  }
  return lines;
}

export function runJob(job: ParseJob): ParseResult {
  const now = job.now;
  const split = { lines: 0, truncated: 0, repaired: 0 };
  const lines = linesOf(job, split);
  const n = lines.length;
  // job.origin is the origin's JSON already (as the main thread's serializer writes it)
  const mid = middleText(job.source, job.stream, job.origin);
  // whole records with room for their seq (see ParseJob.seqDigits), or tails only
  const hold = job.seqDigits > 0 ? '{"seq":' + '0'.repeat(job.seqDigits) : '';
  const nl = hold === '' ? '' : '\n';
  // A record is its line (plus escapes), the middle segment and ~100 bytes of keys, time and level:
  // a guess close enough that the buffer rarely grows and is rarely trimmed (either is a copy).
  let chars = 0;
  for (let i = 0; i < n; i++) chars += lines[i]!.length;
  const out = new Out(256 + Math.ceil(chars * 1.2) + n * (mid.length + 112 + hold.length + 1));
  const ends = new Uint32Array(n);
  const msg = new Uint32Array(2 * n);
  const times = new Float64Array(n);
  const levels = new Uint8Array(n);
  const before = snapshotCounters();
  let unserializable = 0;
  for (let i = 0; i < n; i++) {
    const p = parseLine(lines[i]!, job.format, now);
    let time = p.time ?? now;
    let head: string, lit: string, rest: string;
    try {
      head = headWith(mid, time, p.host, p.app, p.level);
      lit = JSON.stringify(p.message);
      rest = fieldsTail(p.fields);
    } catch {
      // as the hub does: a record that cannot be serialized keeps its message, loses its fields
      unserializable++;
      time = Number.isFinite(time) ? time : now;
      head = headWith(mid, time, p.host, p.app, p.level);
      lit = JSON.stringify(String(p.message));
      rest = fieldsTail({});
    }
    // One write for the record; when it was all ASCII (bytes = UTF-16 units, the common case)
    // the message's place follows from the string lengths, else it is measured.
    const at = out.off + hold.length;
    const whole = hold + head + lit + rest + nl;
    if (out.write(whole) === whole.length) {
      msg[2 * i] = at + head.length;
      msg[2 * i + 1] = at + head.length + lit.length;
    } else {
      const h = Buffer.byteLength(head, 'utf8');
      msg[2 * i] = at + h;
      msg[2 * i + 1] = at + h + Buffer.byteLength(lit, 'utf8');
    }
    ends[i] = out.off - nl.length;
    times[i] = time;
    levels[i] = p.level === undefined ? 0 : LEVEL_CODE.get(p.level)!;
  }
  const counters: Record<string, number> = {};
  for (const k of Object.keys(before)) counters[k] = parseCounters[k as keyof typeof parseCounters] - before[k]!;
  // The buffer is transferred whole and records may keep it alive (a rule engine's queue): trim it
  // when the guess was far off.
  let buf = out.buf;
  if (out.off < buf.length * 0.6) {
    const exact = Buffer.allocUnsafeSlow(out.off);
    buf.copy(exact, 0, 0, out.off);
    buf = exact;
  }
  return { id: job.id, buf: new Uint8Array(buf.buffer, 0, out.off), ends, msg, times, levels, unserializable, counters, split };
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (job: ParseJob) => {
    const res = runJob(job);
    port.postMessage(res, [res.buf.buffer, res.ends.buffer, res.msg.buffer, res.times.buffer, res.levels.buffer] as ArrayBuffer[]);
  });
}
