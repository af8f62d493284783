/**
 * A source's transforms as the parse stage runs them (parse/stage.ts): the
 * leading stateless ones (`threaded`) run wherever a batch is parsed, a
 * parse thread or inline, on decoded records; from the first stateful one
 * on (`main`), they run on the main thread when the batch commits, in the
 * source's order, over one state per source. Drops are counted by reason
 * (`sluice_dropped_total{stage="transform"}`); session summaries are
 * emitted into the batch that closed them, or pushed on their own when the
 * idle timer closes them.
 *
 * State (dedupe windows, throttle buckets, open sessions) is saved to
 * `<state dir>/<source>.json` every few seconds and when the plan closes,
 * and loaded when a plan for the same source starts: a restart neither lets
 * a flood through nor loses an open session. Each transform's state is
 * filed under its config, so a reload that changes one transform keeps the
 * others' state.
 */
import path from 'node:path';
import type { LogRecord } from '../core/record.js';
import { SlotFile } from '../core/slot-file.js';
import { mkdirPrivate } from '../core/private-dir.js';
import { STATELESS, type TransformConfig } from './config.js';
import { dropStep, extractStep, redactStep, routeStep, type Step } from './stateless.js';
import { Dedupe, Throttle, type Keyed } from './stateful.js';
import { Sessions } from './sessions.js';

/** How often state is saved while it changes, and how often idle sessions are looked for (at most). */
const SAVE_EVERY_MS = 5_000;
const TICK_MAX_MS = 1_000;

/** Compile stateless transforms into steps; a `false` from a step is a drop (only `drop` answers false). */
export function compileSteps(cfgs: readonly TransformConfig[]): Step[] {
  return cfgs.map((c) => {
    switch (c.type) {
      case 'drop':
        return dropStep(c);
      case 'route':
        return routeStep(c);
      case 'extract':
        return extractStep(c);
      case 'redact':
        return redactStep(c);
      default:
        throw new Error(`transform ${c.type} keeps state: it runs on the main thread`);
    }
  });
}

/** The leading stateless transforms of a list (what runs where a batch is parsed). */
export function statelessPrefix(cfgs: readonly TransformConfig[]): TransformConfig[] {
  let k = 0;
  while (k < cfgs.length && STATELESS.has(cfgs[k]!.type)) k++;
  return cfgs.slice(0, k);
}

/**
 * A crash replay's records as the stateless prefix leaves them (not
 * counted: they were counted the first time). What a stateful transform did
 * to that batch cannot be redone without its state of then; the replay's
 * record count check (sources) skips such a batch when it differs.
 */
export function replayTransforms(cfgs: readonly TransformConfig[], records: LogRecord[]): LogRecord[] {
  applySteps(compileSteps(statelessPrefix(cfgs)), records);
  return records;
}

/**
 * Run steps over records in place; returns how many were dropped. `counts`
 * (2 per step) gets each step's records in and out.
 */
export function applySteps(steps: readonly Step[], records: LogRecord[], counts?: number[]): number {
  if (steps.length === 0) return 0;
  let w = 0;
  outer: for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    for (let k = 0; k < steps.length; k++) {
      if (counts !== undefined) counts[2 * k]!++;
      if (!steps[k]!(r)) continue outer;
      if (counts !== undefined) counts[2 * k + 1]!++;
    }
    records[w++] = r;
  }
  const dropped = records.length - w;
  records.length = w;
  return dropped;
}

export interface PlanHooks {
  /** Count drops: `sluice_dropped_total{stage="transform",reason}`. */
  drop(reason: string, n: number): void;
  /** Publish records the plan made outside any batch (sessions closed by the idle timer, or at close). */
  emit(records: LogRecord[]): void;
}

export interface PlanCounters {
  transform_dropped: number;
  sessions_emitted: number;
}

type MainStep = { kind: 'step'; step: Step } | { kind: 'keyed'; t: Keyed } | { kind: 'sessions'; t: Sessions };

export class TransformPlan {
  /** The stateless prefix, as configs (they cross to a parse thread) and compiled (for inline batches). */
  readonly threaded: TransformConfig[];
  readonly steps: Step[];
  readonly counters: PlanCounters = { transform_dropped: 0, sessions_emitted: 0 };
  /** Per transform of the list, records in and out (the threaded ones' counted where they ran, added here). */
  readonly #io: number[];
  /** `kept`: carried over from the plan this one replaced, with its state (not loaded from the file). */
  readonly #main: { cfg: TransformConfig; m: MainStep; kept?: boolean }[] = [];
  readonly #hooks: PlanHooks;
  readonly #file: SlotFile | undefined;
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #saveTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    readonly source: string,
    readonly stream: string,
    readonly cfgs: readonly TransformConfig[],
    hooks: PlanHooks,
    stateDir?: string,
    /** The plan this one replaces (a reload): a stateful transform whose config did not change carries on with its state. */
    prev?: TransformPlan,
  ) {
    this.#hooks = hooks;
    this.#io = new Array<number>(2 * cfgs.length).fill(0);
    this.threaded = statelessPrefix(cfgs);
    this.steps = compileSteps(this.threaded);
    for (const c of cfgs.slice(this.threaded.length)) {
      const kept = prev !== undefined ? prev.#claim(c) : undefined;
      if (kept !== undefined) this.#main.push({ cfg: c, m: kept, kept: true });
      else if (STATELESS.has(c.type)) this.#main.push({ cfg: c, m: { kind: 'step', step: compileSteps([c])[0]! } });
      else if (c.type === 'dedupe') this.#main.push({ cfg: c, m: { kind: 'keyed', t: new Dedupe(c) } });
      else if (c.type === 'throttle') this.#main.push({ cfg: c, m: { kind: 'keyed', t: new Throttle(c) } });
      else if (c.type === 'sessions') this.#main.push({ cfg: c, m: { kind: 'sessions', t: new Sessions(c, source, stream) } });
    }
    if (stateDir !== undefined && this.#main.length > 0) {
      mkdirPrivate(stateDir);
      // a predecessor's file is closed before this one opens it (SlotFile keeps its descriptors)
      prev?.close(true);
      this.#file = new SlotFile(path.join(stateDir, `${source}.json`));
      this.#load(); // also picks up the file's generation (SlotFile), so this plan's saves win over the old ones
    }
    prev?.close(true);
    const sessions = this.#main.filter((x) => x.m.kind === 'sessions').map((x) => (x.cfg as { idle: number }).idle);
    if (sessions.length > 0) {
      this.#timer = setInterval(() => this.tick(Date.now()), Math.max(10, Math.min(TICK_MAX_MS, Math.min(...sessions) / 2)));
      this.#timer.unref();
    }
  }

  /** Hand a stateful transform with exactly this config to a successor (once); it is no longer this plan's. */
  #claim(c: TransformConfig): MainStep | undefined {
    const key = JSON.stringify(c);
    const i = this.#main.findIndex((x) => x.m.kind !== 'step' && JSON.stringify(x.cfg) === key);
    if (i < 0) return undefined;
    return this.#main.splice(i, 1)[0]!.m;
  }

  /** Does a batch need its records decoded at commit (a stateful transform follows)? */
  get hasMain(): boolean {
    return this.#main.length > 0;
  }

  /** Run the stateless prefix on freshly parsed records (inline batches); counts its drops and returns their number. */
  applyThreaded(records: LogRecord[]): number {
    const n = applySteps(this.steps, records, this.#io);
    this.countDrops('drop', n);
    return n;
  }

  /** A parse thread ran the stateless prefix: its per-step counts (2 per step, as applySteps counts). */
  addThreadedCounts(counts: readonly number[]): void {
    for (let i = 0; i < counts.length && i < this.#io.length; i++) this.#io[i]! += counts[i]!;
  }

  countDrops(reason: string, n: number): void {
    if (n === 0) return;
    this.counters.transform_dropped += n;
    this.#hooks.drop(reason, n);
  }

  /**
   * Does the part run at commit only read records (dedupe, throttle, sessions, no
   * stateless transform after a stateful one)? Then a batch stays encoded: the
   * transforms read its records through lazily decoding views (wire/encoded.ts
   * recordsOf) and the dropped ones are cut out of the bytes.
   */
  get readsOnly(): boolean {
    return this.#main.every((x) => x.m.kind !== 'step');
  }

  /** Run the stateful part over a committing batch, in order; session summaries it closes join the batch. Drops are counted here and returned. */
  applyMain(records: LogRecord[]): { records: LogRecord[]; dropped: number } {
    if (this.#main.length === 0 || records.length === 0) return { records, dropped: 0 };
    const out: LogRecord[] = [];
    const dropped = this.#run(records.length, (i) => records[i]!, (r) => void out.push(r), (s) => void out.push(s));
    return { records: out, dropped };
  }

  /**
   * The same over read-only views of an encoded batch's n records (`readsOnly`;
   * recordAt(i) may hand out one view re-pointed each time, wire/encoded.ts
   * cursorOf: no transform keeps a record): which records go on (keep[i] = 1)
   * and the session summaries it closed, to be published after the batch.
   */
  applyMainViews(n: number, recordAt: (i: number) => LogRecord): { keep: Uint8Array; emitted: LogRecord[]; dropped: number } {
    const keep = new Uint8Array(n);
    const emitted: LogRecord[] = [];
    const dropped = this.#run(n, recordAt, (_r, i) => void (keep[i] = 1), (s) => void emitted.push(s));
    return { keep, emitted, dropped };
  }

  /** The commit-time loop: `pass` gets each record that goes on, `emit` each session summary, in order. */
  #run(n: number, recordAt: (i: number) => LogRecord, pass: (r: LogRecord, i: number) => void, emit: (s: LogRecord) => void): number {
    const drops: Record<string, number> = {};
    const onSession = (s: LogRecord): void => {
      this.counters.sessions_emitted++;
      emit(s);
    };
    const io = this.#io;
    const base = 2 * this.threaded.length;
    const main = this.#main;
    outer: for (let i = 0; i < n; i++) {
      const r = recordAt(i);
      for (let k = 0; k < main.length; k++) {
        const m = main[k]!.m;
        io[base + 2 * k]!++;
        if (m.kind === 'step') {
          if (!m.step(r)) {
            drops.drop = (drops.drop ?? 0) + 1;
            continue outer;
          }
        } else if (m.kind === 'keyed') {
          if (!m.t.pass(r)) {
            drops[m.t.reason] = (drops[m.t.reason] ?? 0) + 1;
            continue outer;
          }
        } else m.t.observe(r, onSession);
        io[base + 2 * k + 1]!++;
      }
      pass(r, i);
    }
    let dropped = 0;
    for (const reason in drops) {
      this.countDrops(reason, drops[reason]!);
      dropped += drops[reason]!;
    }
    this.#changed();
    return dropped;
  }

  /** Close idle sessions (the timer calls it). */
  tick(now: number): void {
    const out: LogRecord[] = [];
    for (const { m } of this.#main) if (m.kind === 'sessions') m.t.tick(now, (s) => out.push(s));
    this.#emit(out);
  }

  /** For GET /api/sources/{name}: each transform in order with its records in and out, what it dropped and the state it holds. */
  chain(): { type: string; in: number; out: number; dropped: number; state?: number; evicted?: number }[] {
    const k0 = this.threaded.length;
    return this.cfgs.map((c, i) => {
      const v: { type: string; in: number; out: number; dropped: number; state?: number; evicted?: number } = { type: c.type, in: this.#io[2 * i]!, out: this.#io[2 * i + 1]!, dropped: 0 };
      // only drop, dedupe and throttle remove records; sessions add summaries, counted apart
      v.dropped = c.type === 'drop' || c.type === 'dedupe' || c.type === 'throttle' ? v.in - v.out : 0;
      const m = i >= k0 ? this.#main[i - k0]?.m : undefined;
      if (m?.kind === 'keyed') {
        v.state = m.t.size;
        v.evicted = m.t.counters.evicted;
      } else if (m?.kind === 'sessions') {
        v.state = m.t.open;
        v.evicted = m.t.counters.evicted;
      }
      return v;
    });
  }

  /** For /api/status: what it dropped and emitted, the keys it holds, what max_keys forced out. */
  status(): { source: string; transforms: string[]; dropped: number; sessions_emitted: number; sessions_open: number; keys: number; evicted: number } {
    let open = 0;
    let keys = 0;
    let evicted = 0;
    for (const { m } of this.#main) {
      if (m.kind === 'sessions') {
        open += m.t.open;
        evicted += m.t.counters.evicted;
      } else if (m.kind === 'keyed') {
        keys += m.t.size;
        evicted += m.t.counters.evicted;
      }
    }
    return { source: this.source, transforms: this.cfgs.map((c) => c.type), dropped: this.counters.transform_dropped, sessions_emitted: this.counters.sessions_emitted, sessions_open: open, keys, evicted };
  }

  /**
   * Stop: with `flush`, every open session is emitted (`reason = "shutdown"`); the state is saved either way
   * (a plan closed for a reload hands it to its successor through the file).
   */
  close(flush: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#saveTimer);
    if (flush) {
      const out: LogRecord[] = [];
      const now = Date.now();
      for (const { m } of this.#main) if (m.kind === 'sessions') m.t.flush(now, (s) => out.push(s));
      this.#emit(out);
    }
    this.save();
    this.#file?.close();
  }

  #emit(out: LogRecord[]): void {
    if (out.length === 0) return;
    this.counters.sessions_emitted += out.length;
    this.#hooks.emit(out);
    this.#changed();
  }

  #changed(): void {
    if (this.#file === undefined || this.#closed) return;
    this.#dirty = true;
    if (this.#saveTimer !== undefined) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      this.save();
    }, SAVE_EVERY_MS);
    this.#saveTimer.unref();
  }

  /** Write the state now (also every few seconds while it changes). */
  save(): void {
    if (this.#file === undefined || (!this.#dirty && !this.#closed)) return;
    this.#dirty = false;
    const states = this.#main.filter((x) => x.m.kind !== 'step').map((x) => ({ cfg: JSON.stringify(x.cfg), state: (x.m as { t: Keyed | Sessions }).t.save() }));
    this.#file.save({ source: this.source, states });
  }

  #load(): void {
    let doc: { states?: { cfg?: unknown; state?: unknown }[] } | undefined;
    try {
      doc = this.#file!.load((j) => j as typeof doc);
    } catch {
      return; // unreadable state: start empty (the file is rewritten at the next save)
    }
    for (const s of doc?.states ?? []) {
      // a transform gets back only the state saved under its own config
      const t = this.#main.find((x) => x.m.kind !== 'step' && x.kept !== true && JSON.stringify(x.cfg) === s.cfg);
      if (t !== undefined) (t.m as { t: Keyed | Sessions }).t.load(s.state);
    }
  }
}
