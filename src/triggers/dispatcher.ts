/**
 * The trigger dispatcher: subscribes to the bus, matches each event against
 * the enabled triggers' filters and hands matches to the webhook sender. It
 * reads events and never writes them, so a webhook can never cause an event
 * (no loops). Triggers are reloaded after every trigger change.
 */
import type { Bus } from '../core/bus.js';
import type { Store } from '../store/store.js';
import type { SluiceEvent, Trigger } from '../store/types.js';
import { compileFilter, filterMatches, type ActiveTrigger } from './filter.js';

export interface TriggerDispatcherDeps {
  store: Store;
  bus: Bus<SluiceEvent>;
  /** The local queue (WebhookSender), or the cluster's (bus/deliveries.ts: resolves once the delivery is queued). */
  webhook: { enqueue(trigger: Trigger, event: SluiceEvent): void | Promise<void> };
  /** Take events from the bus (default); false: they come through dispatchAll (a server: bus/deliveries.ts). */
  subscribe?: boolean;
  onError?: (err: unknown) => void;
}

export interface DispatcherStats {
  triggers: number;
  matched: number;
  events_seen: number;
  filter_errors: { trigger_id: number; name: string; error: string }[];
}

export class TriggerDispatcher {
  readonly #deps: TriggerDispatcherDeps;
  #active: readonly ActiveTrigger[] = [];
  #errors: DispatcherStats['filter_errors'] = [];
  #unsubscribe: (() => void) | undefined;
  #reloading: Promise<void> = Promise.resolve();
  #matched = 0;
  #seen = 0;

  constructor(deps: TriggerDispatcherDeps) {
    this.#deps = deps;
  }

  async start(): Promise<void> {
    await this.reload();
    if (this.#deps.subscribe !== false) this.#unsubscribe ??= this.#deps.bus.subscribe((e) => { this.dispatch(e); });
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  reload(): Promise<void> {
    const run = async () => {
      const triggers = await this.#deps.store.listTriggers();
      const active: ActiveTrigger[] = [];
      const errors: DispatcherStats['filter_errors'] = [];
      for (const t of triggers) {
        if (!t.enabled) continue;
        const c = compileFilter(t.filter);
        if (c.ok) active.push({ trigger: t, filter: c.filter });
        else errors.push({ trigger_id: t.id, name: t.name, error: c.error });
      }
      this.#active = active;
      this.#errors = errors;
    };
    const p = this.#reloading.then(run, run);
    this.#reloading = p.catch(() => {});
    return p;
  }

  /** Match one event (exported for tests; normally called by the bus). */
  dispatch(event: SluiceEvent): number {
    return this.#queue(event, undefined);
  }

  /** Match `events` and queue their deliveries; resolves once every one is queued (rejects when one cannot be). */
  async dispatchAll(events: readonly SluiceEvent[]): Promise<void> {
    const queued: Promise<void>[] = [];
    for (const event of events) this.#queue(event, queued);
    await Promise.all(queued);
  }

  /** Queue the deliveries of `event`; with `queued`, what the queue answers goes there (and a throw rejects). */
  #queue(event: SluiceEvent, queued: Promise<void>[] | undefined): number {
    this.#seen++;
    let n = 0;
    for (const a of this.#active) {
      if (!filterMatches(a.filter, event)) continue;
      n++;
      if (queued !== undefined) {
        const p = this.#deps.webhook.enqueue(a.trigger, event);
        if (p) queued.push(p);
        continue;
      }
      try {
        void this.#deps.webhook.enqueue(a.trigger, event);
      } catch (err) {
        this.#deps.onError?.(err);
      }
    }
    this.#matched += n;
    return n;
  }

  /** An enabled trigger by id (a delivery made for the cluster takes its URL and secret from here). */
  trigger(id: number): Trigger | undefined {
    return this.#active.find((a) => a.trigger.id === id)?.trigger;
  }

  stats(): DispatcherStats {
    return { triggers: this.#active.length, matched: this.#matched, events_seen: this.#seen, filter_errors: [...this.#errors] };
  }
}
