/**
 * The trigger dispatcher: subscribes to the bus, matches each event against
 * the enabled triggers' filters and hands matches to the webhook sender. It
 * reads events and never writes them, so a webhook can never cause an event
 * (no loops). Triggers are reloaded after every trigger change.
 */
import type { Bus } from '../core/bus.js';
import type { Store } from '../store/store.js';
import type { SluiceEvent } from '../store/types.js';
import { compileFilter, filterMatches, type ActiveTrigger } from './filter.js';
import type { WebhookSender } from './webhook.js';

export interface TriggerDispatcherDeps {
  store: Store;
  bus: Bus<SluiceEvent>;
  webhook: Pick<WebhookSender, 'enqueue'>;
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
    this.#unsubscribe ??= this.#deps.bus.subscribe((e) => { this.dispatch(e); });
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
    this.#seen++;
    let n = 0;
    for (const a of this.#active) {
      if (!filterMatches(a.filter, event)) continue;
      n++;
      try {
        this.#deps.webhook.enqueue(a.trigger, event);
      } catch (err) {
        this.#deps.onError?.(err);
      }
    }
    this.#matched += n;
    return n;
  }

  stats(): DispatcherStats {
    return { triggers: this.#active.length, matched: this.#matched, events_seen: this.#seen, filter_errors: [...this.#errors] };
  }
}
