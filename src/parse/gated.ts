/**
 * Transforms over a natively rendered batch (worker.ts): the batch is
 * rendered as if the source had no transforms, then each record is shown to
 * the transforms' gates (transforms/gates.ts). A record no gate opens for
 * is one no transform changes: its bytes are kept as they are. The others
 * are decoded from their bytes, run through the transforms like any record
 * (dropped ones counted) and rendered again by the JS writer. The output is
 * the bytes the JS path (parse every line, transform, render) gives; the
 * differential tests hold the two to it.
 */
import type { LogRecord } from '../core/record.js';
import { nextBatch, plainMessage, type Gate, type RecordBytes } from '../transforms/gates.js';
import { patchValue, type ExtractPatch } from '../transforms/patch.js';
import type { Step } from '../transforms/stateless.js';
import { middleText } from '../wire/json.js';
import { SEQ_KEY } from '../wire/seq.js';
import type { ParseJob } from './pool.js';
import { Records } from './render.js';

interface Wire {
  time: string;
  origin: LogRecord['origin'];
  host?: string;
  app?: string;
  level?: LogRecord['level'];
  message: string;
  fields: Record<string, unknown>;
}

/**
 * Apply `steps` (their `gates` alongside) to the records `a` holds; `counts`
 * gets each step's in and out as applySteps counts them. Returns `a` itself
 * when no gate opened. `patches` (transforms/patch.ts): an extract that can
 * write its field into a record's bytes when its gate is the only one open.
 */
export function gateRecords(job: ParseJob, a: Records, steps: readonly Step[], gates: readonly Gate[], mid: string, counts: number[], patches: readonly (ExtractPatch | undefined)[] = []): { recs: Records; dropped: number; kept?: Uint32Array } {
  const n = a.i;
  const hold = job.seqDigits > 0 ? SEQ_KEY.length + job.seqDigits : 0;
  const nl = hold > 0 ? 1 : 0;
  // only the batch's bytes: the output buffer has room past them, and a gate's search must not read on into it
  const buf = a.out.buf.subarray(0, a.out.off);
  const start = (i: number): number => (i === 0 ? 0 : a.ends[i - 1]! + nl);
  /** 0: untouched, 1: decoded and transformed, 2: patched (patched[i] is the text spliced in) */
  const open = new Uint8Array(n);
  let opened = 0;
  let patched: string[] | undefined;
  const anyPatch = patches.some((p) => p !== undefined);
  const view: RecordBytes = { buf, start: 0, end: 0, msgStart: 0, msgEnd: 0, plain: true, batch: nextBatch() };
  const message = (): string => (view.plain ? buf.toString('utf8', view.msgStart + 1, view.msgEnd - 1) : (JSON.parse(buf.toString('utf8', view.msgStart, view.msgEnd)) as string));
  for (let i = 0; i < n; i++) {
    view.start = start(i) + hold;
    view.end = a.ends[i]!;
    view.msgStart = a.msg[2 * i]!;
    view.msgEnd = a.msg[2 * i + 1]!;
    view.plain = plainMessage(view);
    if (!anyPatch) {
      for (const g of gates) {
        if (g(view)) {
          open[i] = 1;
          opened++;
          break;
        }
      }
      continue;
    }
    // with a patchable extract every gate is asked: the patch needs its gate to be the only one open
    let first = -1;
    let count = 0;
    for (let k = 0; k < gates.length; k++) {
      if (gates[k]!(view)) {
        if (first < 0) first = k;
        count++;
      }
    }
    if (count === 0) continue;
    const p = count === 1 ? patches[first] : undefined;
    const v = p !== undefined ? patchValue(p, view, message) : null;
    if (v === undefined) continue; // the extract finds nothing: the record goes on as it is
    if (v === null) {
      open[i] = 1;
      opened++;
    } else {
      open[i] = 2;
      // `"<into>":<value>` after the last key (no comma when fields is `{}`)
      (patched ??= new Array<string>(n))[i] = (buf[view.end - 3] === 0x7b ? '' : ',') + p!.keyText + JSON.stringify(v);
    }
  }
  // a record no gate opened for goes through every step unchanged
  for (let k = 0; k < steps.length; k++) {
    counts[2 * k]! += n - opened;
    counts[2 * k + 1]! += n - opened;
  }
  if (opened === 0 && patched === undefined) return { recs: a, dropped: 0 };
  const b = new Records(job, mid, n, 0, a.out.off + 256 + opened * 64);
  /** Output record j was input record kept[j]. */
  const kept = new Uint32Array(n);
  let dropped = 0;
  outer: for (let i = 0; i < n; i++) {
    const s = start(i);
    if (open[i] === 2) {
      // the record's bytes up to its closing `}}` (fields, record), the extract's key and value, `}}`
      const end = a.ends[i]!;
      b.out.reserve(end - 2 - s);
      const at = b.out.off;
      buf.copy(b.out.buf, at, s, end - 2);
      b.out.off += end - 2 - s;
      b.out.write(patched![i]! + (nl > 0 ? '}}\n' : '}}'));
      const delta = at - s;
      const j = b.i++;
      kept[j] = i;
      b.ends[j] = b.out.off - nl;
      b.msg[2 * j] = a.msg[2 * i]! + delta;
      b.msg[2 * j + 1] = a.msg[2 * i + 1]! + delta;
      b.times[j] = a.times[i]!;
      b.levels[j] = a.levels[i]!;
      continue;
    }
    if (open[i] === 0) {
      // a run of records no gate opened for: one copy, then each one's offsets moved by the same delta
      let k = i + 1;
      while (k < n && open[k] === 0) k++;
      const len = a.ends[k - 1]! + nl - s;
      b.out.reserve(len);
      const at = b.out.off;
      buf.copy(b.out.buf, at, s, s + len);
      b.out.off += len;
      const delta = at - s;
      for (; i < k; i++) {
        const j = b.i++;
        kept[j] = i;
        b.ends[j] = a.ends[i]! + delta;
        b.msg[2 * j] = a.msg[2 * i]! + delta;
        b.msg[2 * j + 1] = a.msg[2 * i + 1]! + delta;
        b.times[j] = a.times[i]!;
        b.levels[j] = a.levels[i]!;
      }
      i = k - 1;
      continue;
    }
    const w = JSON.parse('{"seq":0' + buf.toString('utf8', s + hold, a.ends[i])) as Wire;
    const r: LogRecord = { seq: 0, time: a.times[i]!, received: job.now, source: job.source, stream: job.stream, origin: w.origin, message: w.message, fields: w.fields };
    if (w.level !== undefined) r.level = w.level;
    if (w.host !== undefined) r.host = w.host;
    if (w.app !== undefined) r.app = w.app;
    for (let k = 0; k < steps.length; k++) {
      counts[2 * k]!++;
      if (!steps[k]!(r)) {
        dropped++;
        continue outer;
      }
      counts[2 * k + 1]!++;
    }
    kept[b.i] = i;
    b.put(r, r.time, job.originIdx === undefined ? mid : middleText(job.source, job.stream, JSON.stringify(r.origin)));
  }
  b.unserializable += a.unserializable;
  return { recs: b, dropped, kept: kept.subarray(0, b.i) };
}
