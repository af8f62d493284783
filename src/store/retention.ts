/**
 * Retention: on one coarse timer, delete events and delivery log entries older
 * than `[store] retention` and beyond the count limits (oldest first).
 */
import type { StoreConfig } from './config.js';
import type { Store } from './store.js';

export interface RetentionResult {
  events: number;
  deliveries: number;
}

export async function pruneOnce(store: Store, cfg: Pick<StoreConfig, 'retention' | 'max_events' | 'max_deliveries'>, now = Date.now()): Promise<RetentionResult> {
  const olderThan = now - cfg.retention;
  const events = await store.pruneEvents({ olderThan, maxCount: cfg.max_events });
  const deliveries = await store.pruneDeliveries({ olderThan, maxCount: cfg.max_deliveries });
  return { events, deliveries };
}

/** Run pruneOnce now and every `prune_interval`; returns a stop function. Errors go to `onError`. */
export function startRetention(store: Store, cfg: StoreConfig, onError: (err: unknown) => void = () => {}): () => void {
  let running = false;
  const tick = () => {
    if (running) return;
    running = true;
    pruneOnce(store, cfg).catch(onError).finally(() => { running = false; });
  };
  tick();
  const timer = setInterval(tick, Math.max(1000, cfg.prune_interval));
  timer.unref();
  return () => clearInterval(timer);
}
