/**
 * The rule engine: the stage between the hub and the events store
 * (ARCHITECTURE.md §2, "hub → rules → store": bounded queue, pause sources on
 * overflow). `push` only enqueues; matching runs on a later turn in slices, so
 * the hub's fan-out never waits for RE2 or SQLite. For each slice: one RE2.Set
 * pass per record against its source's effective set, captures for hits only,
 * flood control, then one store transaction for the events and cooldown
 * state, then the stored events are published on the bus.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Bus } from '../core/bus.js';
import type { LogRecord } from '../core/record.js';
import type { Store } from '../store/store.js';
import type { FloodCandidate, NewEvent, RuleStateRow, SluiceEvent } from '../store/types.js';
import { captures, Utf8Scratch } from './compile.js';
import type { RulesConfig } from './config.js';
import { StoredMark } from './stored-mark.js';
import { arbitrate, FloodCache, FloodControl, REPEAT, VERDICT, type Verdict } from './flood.js';
import { RuleSnapshot, setPass, type CompileError } from './snapshot.js';
import { truncateUtf8 } from './truncate.js';

export type DropFn = (stage: string, reason: string, n?: number) => void;

export interface RuleEngineDeps {
  store: Store;
  bus: Bus<SluiceEvent>;
  config: RulesConfig;
  metrics?: { registry: Registry };
  drop?: DropFn;
  /** Clock (epoch ms); tests pass a fake one. */
  now?: () => number;
  onError?: (err: unknown) => void;
  /**
   * Awaited with each slice's stored events, and the events of records the store had already (repeats),
   * before the slice counts as stored (a server queues their webhook deliveries for the cluster here,
   * bus/deliveries.ts). A rejection fails the slice as a store error does.
   */
  settle?: (events: SluiceEvent[]) => Promise<void>;
}

export interface RuleCounters {
  hits: number;
  suppressed_by_cooldown: number;
  suppressed_by_bucket: number;
}

export interface RuleStats extends RuleCounters {
  records_scanned: number;
  events_written: number;
  /** Hits left out by the store: the rule had an event for that record already (record_key). */
  events_repeated: number;
  store_errors: number;
  /** Slices whose events were stored but could not be settled (their webhook deliveries not queued): the records come again. */
  settle_errors: number;
  queue: { records: number; capacity: number };
  snapshot: { version: number; built_at: string; rules: number; scoped_sources: number };
  compile_errors: CompileError[];
  rules: Record<string, RuleCounters>;
  state: { cooldown_entries: number; buckets: number };
}

/** Records matched per slice before yielding to the event loop. */
const SLICE = 4096;
const SWEEP_EVERY_MS = 60_000;
/** Past this multiple of queue_size a batch is refused outright (a source ignoring back-pressure). */
const HARD_LIMIT_FACTOR = 4;

/** The flood-control unit: the source plus its container id or file path when known. */
export function sourceInstance(r: LogRecord): string {
  const o = r.origin;
  const c = o.container_id ?? o.container;
  if (typeof c === 'string') return r.source + '/' + c;
  if (c && typeof c === 'object' && typeof (c as { id?: unknown }).id === 'string') return r.source + '/' + (c as { id: string }).id;
  if (typeof o.path === 'string') return r.source + '/' + o.path;
  return r.source;
}

/** 'stdout' | 'stderr' when the record carries one (Docker), else undefined. */
export function recordStd(r: LogRecord): string | undefined {
  const f = r.fields.std;
  if (f === 'stdout' || f === 'stderr') return f;
  const o = r.origin.std;
  if (o === 'stdout' || o === 'stderr') return o;
  return undefined;
}

export class RuleEngine {
  readonly #store: Store;
  readonly #bus: Bus<SluiceEvent>;
  readonly #cfg: RulesConfig;
  readonly #drop: DropFn;
  readonly #now: () => number;
  readonly #onError: (err: unknown) => void;
  readonly #settle: ((events: SluiceEvent[]) => Promise<void>) | undefined;
  readonly #flood: FloodControl;
  /** Set when the store is shared by several processes: flood control is decided on its state (flood.ts). */
  readonly #shared: FloodCache | undefined;
  readonly #scratch = new Utf8Scratch();

  #snapshot = RuleSnapshot.empty();
  #version = 0;
  #reloading: Promise<void> = Promise.resolve();
  #stateLoaded = false;

  #queue: LogRecord[][] = [];
  #qHead = 0;
  /** Offset into the head batch. */
  #qOffset = 0;
  #queued = 0;
  #scheduled = false;
  #idle: Promise<void> = Promise.resolve();
  #drainWaiters: (() => void)[] = [];
  #lastSweep = 0;
  /** How far records are matched and their events stored (a server acknowledges JetStream messages by it). */
  readonly stored = new StoredMark();
  /** The highest seq pushed. */
  #maxSeen = 0;

  #total: RuleCounters = { hits: 0, suppressed_by_cooldown: 0, suppressed_by_bucket: 0 };
  #perRule = new Map<number, RuleCounters>();
  #scanned = 0;
  #written = 0;
  #repeats = 0;
  #storeErrors = 0;
  #settleErrors = 0;

  #m?: { hits: Counter<'rule'>; suppressed: Counter<'reason'>; events: Counter; queue: Gauge; compileErrors: Gauge };

  constructor(deps: RuleEngineDeps) {
    this.#store = deps.store;
    this.#bus = deps.bus;
    this.#cfg = deps.config;
    this.#drop = deps.drop ?? (() => {});
    this.#now = deps.now ?? Date.now;
    this.#onError = deps.onError ?? (() => {});
    this.#settle = deps.settle;
    this.#flood = new FloodControl(deps.config.bucket_capacity, deps.config.bucket_window);
    if (deps.store.insertEventsShared) this.#shared = new FloodCache(deps.config.bucket_capacity, deps.config.bucket_window);
    if (deps.metrics) {
      const registers = [deps.metrics.registry];
      const depth = () => this.#queued;
      this.#m = {
        hits: new Counter({ name: 'sluice_rule_hits_total', help: 'Rule hits that became events, by rule id.', labelNames: ['rule'], registers }),
        suppressed: new Counter({ name: 'sluice_rule_suppressed_total', help: 'Rule hits suppressed by flood control.', labelNames: ['reason'], registers }),
        events: new Counter({ name: 'sluice_events_written_total', help: 'Events written to the store.', registers }),
        queue: new Gauge({
          name: 'sluice_rule_queue_records', help: 'Records waiting for rule matching.', registers,
          collect() { this.set(depth()); },
        }),
        compileErrors: new Gauge({ name: 'sluice_rule_compile_errors', help: 'Stored rules whose pattern does not compile (left out of matching).', registers }),
      };
    }
  }

  /**
   * Rebuild the compiled snapshot from the store and swap it in. The first
   * call also restores cooldown state, so a restart does not re-alert. Calls
   * are serialized; each sees every change committed before it started.
   */
  reload(): Promise<void> {
    const run = async () => {
      if (!this.#stateLoaded) {
        for (const row of await this.#store.loadRuleState()) (this.#shared ?? this.#flood).restore(row.rule_id, row.instance, row.last_fired);
        this.#stateLoaded = true;
      }
      const rules = await this.#store.listRules();
      const next = RuleSnapshot.build(rules, ++this.#version);
      // Deleted rules' counters and cooldowns go (their stored state went with them).
      const ids = new Set(rules.map((r) => r.id));
      for (const id of this.#perRule.keys()) if (!ids.has(id)) { this.#perRule.delete(id); (this.#shared ?? this.#flood).forgetRule(id); }
      this.#snapshot = next; // the swap: one assignment
      this.#m?.compileErrors.set(next.compileErrors.length);
    };
    const p = this.#reloading.then(run, run);
    this.#reloading = p.catch(() => {});
    return p;
  }

  snapshot(): RuleSnapshot {
    return this.#snapshot;
  }

  /**
   * A batch the engine need not read (DurableStage.skip): with no rule and
   * nothing queued, `n` records up to `lastSeq` are done at once, as `push`
   * would do them; else undefined (push them).
   */
  skip(n: number, lastSeq: number): boolean | undefined {
    if (this.#snapshot.ruleCount !== 0 || this.#queued !== 0 || this.#scheduled || n === 0) return undefined;
    if (lastSeq > this.#maxSeen) this.#maxSeen = lastSeq;
    this.#scanned += n;
    this.stored.advance(lastSeq);
    return this.#queued < this.#cfg.queue_size;
  }

  /** Enqueue a batch the hub accepted; false = ask sources to pause until onDrain. */
  push(batch: LogRecord[]): boolean {
    if (batch.length === 0) return this.#queued < this.#cfg.queue_size;
    const last = batch[batch.length - 1]!.seq;
    if (last > this.#maxSeen) this.#maxSeen = last;
    // (with records still queued or being written these wait their turn: the stored mark moves in seq order)
    if (this.#snapshot.ruleCount === 0 && this.#queued === 0 && !this.#scheduled) {
      // No rule can hit: records would finish on this (empty) snapshot anyway. Not queuing
      // them keeps whole records from being retained (and scanned) for nothing.
      this.#scanned += batch.length;
      this.stored.advance(last);
      return this.#queued < this.#cfg.queue_size;
    }
    if (this.#queued >= this.#cfg.queue_size * HARD_LIMIT_FACTOR) {
      this.#drop('rules', 'queue_overflow', batch.length);
      this.stored.fail(batch[0]!.seq, last);
      return false;
    }
    this.#queue.push(batch);
    this.#queued += batch.length;
    this.#schedule();
    return this.#queued < this.#cfg.queue_size;
  }

  onDrain(cb: () => void): void {
    if (this.#queued < this.#cfg.queue_size) queueMicrotask(cb);
    else this.#drainWaiters.push(cb);
  }

  /** Resolves when everything queued so far has been matched, stored and published. */
  async flush(): Promise<void> {
    while (this.#queued > 0 || this.#scheduled) await this.#idle;
  }

  stats(): RuleStats {
    const snap = this.#snapshot;
    const rules: Record<string, RuleCounters> = {};
    for (const [id, c] of this.#perRule) rules[String(id)] = { ...c };
    return {
      ...this.#total,
      records_scanned: this.#scanned,
      events_written: this.#written,
      events_repeated: this.#repeats,
      store_errors: this.#storeErrors,
      settle_errors: this.#settleErrors,
      queue: { records: this.#queued, capacity: this.#cfg.queue_size },
      snapshot: { version: snap.version, built_at: new Date(snap.builtAt).toISOString(), rules: snap.ruleCount, scoped_sources: snap.sourceCount },
      compile_errors: [...snap.compileErrors],
      rules,
      state: this.#shared
        ? { cooldown_entries: this.#shared.cooldownEntries, buckets: this.#shared.buckets }
        : { cooldown_entries: this.#flood.cooldownEntries, buckets: this.#flood.buckets.size },
    };
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#idle = new Promise<void>((resolve) => {
      setImmediate(() => {
        this.#run().catch(this.#onError).finally(() => {
          this.#scheduled = false;
          resolve();
          if (this.#queued > 0) this.#schedule();
        });
      });
    });
  }

  async #run(): Promise<void> {
    while (this.#queued > 0) {
      await this.#slice();
      if (this.#queued < this.#cfg.queue_size / 2 && this.#drainWaiters.length > 0) {
        const waiters = this.#drainWaiters;
        this.#drainWaiters = [];
        for (const cb of waiters) {
          try { cb(); } catch (err) { this.#onError(err); }
        }
      }
      // Yield so the hub and sockets get a turn between slices.
      if (this.#queued > 0) await new Promise<void>((r) => setImmediate(r));
    }
    // everything pushed is done (records dropped at the hard limit behind the last slice included)
    this.stored.advance(this.#maxSeen);
  }

  /** Match up to SLICE records, then write and publish their events. */
  async #slice(): Promise<void> {
    const snap = this.#snapshot; // records in this slice finish on this snapshot
    const now = this.#now();
    const events: NewEvent[] = [];
    const state: RuleStateRow[] = [];
    const cands: FloodCandidate[] = [];
    let budget = SLICE;
    let first = 0;
    let last = 0;
    while (budget > 0 && this.#qHead < this.#queue.length) {
      const batch = this.#queue[this.#qHead]!;
      const end = Math.min(batch.length, this.#qOffset + budget);
      if (first === 0) first = batch[this.#qOffset]!.seq;
      last = batch[end - 1]!.seq;
      for (let i = this.#qOffset; i < end; i++) this.#match(snap, batch[i]!, now, events, state, cands);
      const n = end - this.#qOffset;
      budget -= n;
      this.#queued -= n;
      this.#scanned += n;
      if (end === batch.length) {
        this.#queue[this.#qHead++] = undefined as unknown as LogRecord[];
        this.#qOffset = 0;
      } else {
        this.#qOffset = end;
      }
    }
    if (this.#qHead > 256 && this.#qHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#qHead);
      this.#qHead = 0;
    }
    if (now - this.#lastSweep >= SWEEP_EVERY_MS) {
      this.#lastSweep = now;
      (this.#shared ?? this.#flood).sweep(now, snap.maxCooldownMs);
      this.#store.pruneRuleState(now - Math.max(snap.maxCooldownMs, 1000), now - this.#cfg.bucket_window).catch(this.#onError);
    }
    if (events.length === 0) return this.stored.advance(last);
    let stored: SluiceEvent[];
    let repeats: SluiceEvent[] = [];
    try {
      if (this.#shared) {
        ({ stored, repeats } = await this.#insertShared(events, cands, now));
      } else {
        stored = await this.#store.insertEvents(events);
        if (state.length > 0) await this.#store.saveRuleState(state);
      }
    } catch (err) {
      this.#storeErrors++;
      this.#drop('rules', 'store_error', events.length);
      this.#onError(err);
      this.stored.fail(first, last);
      return this.stored.advance(last);
    }
    this.#written += stored.length;
    // a record delivered again (a JetStream redelivery) whose event the store has already
    if (!this.#shared) this.#repeats += events.length - stored.length;
    this.#m?.events.inc(stored.length);
    for (const e of stored) this.#bus.publish(e);
    if (this.#settle !== undefined && stored.length + repeats.length > 0) {
      try {
        await this.#settle(repeats.length === 0 ? stored : [...stored, ...repeats]);
      } catch (err) {
        // the events are stored: the records come again (NAKed), as repeats, and settle again
        this.#settleErrors++;
        this.#onError(err);
        this.stored.fail(first, last);
      }
    }
    this.stored.advance(last);
  }

  /** The store decides flood control for every process sharing it; what it decided is counted here. */
  async #insertShared(events: NewEvent[], cands: FloodCandidate[], now: number): Promise<{ stored: SluiceEvent[]; repeats: SluiceEvent[] }> {
    const cfg = this.#cfg;
    const { stored, repeats, state, decision } = await this.#store.insertEventsShared!(events, cands, (s) => arbitrate(cands, s, cfg.bucket_capacity, cfg.bucket_window, now));
    this.#shared!.learn(state, decision);
    let fired = 0;
    for (let i = 0; i < cands.length; i++) {
      const v = decision.verdicts[i]!;
      if (v === REPEAT) this.#repeats++;
      else this.#count(this.#counters(cands[i]!.rule_id), cands[i]!.rule_id, v as Verdict);
      if (decision.fire[i]) fired++;
    }
    // fired but left out by the store: another process stored that record's event meanwhile
    this.#repeats += fired - stored.length;
    return { stored, repeats };
  }

  #counters(ruleId: number): RuleCounters {
    let counters = this.#perRule.get(ruleId);
    if (!counters) {
      counters = { hits: 0, suppressed_by_cooldown: 0, suppressed_by_bucket: 0 };
      this.#perRule.set(ruleId, counters);
    }
    return counters;
  }

  #count(counters: RuleCounters, ruleId: number, verdict: Verdict): void {
    if (verdict === VERDICT.COOLDOWN) {
      counters.suppressed_by_cooldown++;
      this.#total.suppressed_by_cooldown++;
      this.#m?.suppressed.inc({ reason: 'cooldown' });
    } else if (verdict === VERDICT.BUCKET) {
      counters.suppressed_by_bucket++;
      this.#total.suppressed_by_bucket++;
      this.#m?.suppressed.inc({ reason: 'bucket' });
    } else {
      counters.hits++;
      this.#total.hits++;
      this.#m?.hits.inc({ rule: String(ruleId) });
    }
  }

  #match(snap: RuleSnapshot, r: LogRecord, now: number, events: NewEvent[], state: RuleStateRow[], cands: FloodCandidate[]): void {
    const m = snap.forSource(r.source);
    if (m.set === null) return;
    const bytes = this.#scratch.encode(r.message);
    const hits = setPass(m, bytes);
    if (hits === null) return;
    let instance: string | undefined;
    let std: string | undefined | null = null;
    for (const idx of hits) {
      const rule = m.rules[idx]!;
      if (rule.std !== 'both') {
        if (std === null) std = recordStd(r);
        // Only records that carry a std (Docker) are filtered by it.
        if (std !== undefined && std !== rule.std) continue;
      }
      instance ??= sourceInstance(r);
      const shared = this.#shared;
      const verdict = shared ? shared.precheck(rule.id, rule.cooldownMs, instance, now) : this.#flood.check(rule.id, rule.cooldownMs, instance, now);
      // a candidate of a shared store is counted once the store has decided it (#insertShared)
      if (!shared || verdict !== VERDICT.FIRE) this.#count(this.#counters(rule.id), rule.id, verdict);
      if (verdict !== VERDICT.FIRE) continue;
      if (shared) cands.push({ rule_id: rule.id, instance, cooldownMs: rule.cooldownMs });
      else if (rule.cooldownMs > 0) state.push({ rule_id: rule.id, instance, last_fired: now });
      events.push({
        time: r.time,
        severity: rule.severity,
        source: r.source,
        rule_id: rule.id,
        rule_name: rule.name,
        message: truncateUtf8(r.message, this.#cfg.max_message_bytes),
        // `bytes` is still this record's encoding: nothing else used the scratch since.
        captures: rule.captures ? (captures(rule.re, bytes) ?? {}) : {},
        record_seq: r.seq,
        origin: r.origin,
        ...recordKey(r),
      });
    }
  }
}

/** A record from JetStream carries its identity across the cluster (sources/nats/decode.ts): the key of its events. */
function recordKey(r: LogRecord): { record_key: string } | Record<string, never> {
  const { agent, agent_seq: seq } = r.origin;
  return typeof agent === 'string' && typeof seq === 'number' ? { record_key: `${agent}:${seq}` } : {};
}
