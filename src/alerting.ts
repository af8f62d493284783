/**
 * Wiring of the alerting path (ARCHITECTURE.md §1): store -> rule engine (a
 * durable pipeline stage after the hub) -> bus -> trigger dispatcher ->
 * webhook sender, plus their HTTP routes. Opened by main.ts before sources
 * start and closed after they stopped, in the order that loses nothing:
 * engine flushed (its queued batches written as events), dispatcher
 * stopped, webhook queue closed, store closed.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/schema.js';
import type { Metrics } from './core/metrics.js';
import { InProcessBus } from './core/bus.js';
import type { DurableStage } from './core/pipeline-runtime.js';
import { openStore } from './store/open.js';
import { startRetention } from './store/retention.js';
import type { Store } from './store/store.js';
import type { SluiceEvent } from './store/types.js';
import { RuleEngine } from './rules/engine.js';
import { WebhookSender, type WebhookFailure } from './triggers/webhook.js';
import { TriggerDispatcher } from './triggers/dispatcher.js';
import { SharedDeliveries } from './bus/deliveries.js';
import { registerRuleRoutes } from './api/routes/rules.js';
import { registerTriggerRoutes } from './api/routes/triggers.js';
import { registerEventRoutes } from './api/routes/events.js';

export type ConfigChange = 'rules' | 'triggers';

export class Alerting {
  readonly store: Store;
  readonly engine: RuleEngine;
  readonly stage: DurableStage;
  #webhook: WebhookSender;
  #dispatcher: TriggerDispatcher;
  /** role = "server": webhook deliveries queued for the cluster on JetStream (bus/deliveries.ts). */
  #shared: SharedDeliveries | undefined;
  #stopRetention: () => void;
  #cfg: Config;

  private constructor(cfg: Config, store: Store, metrics: Metrics, log: (m: string) => void, onFailure?: (f: WebhookFailure) => void) {
    this.#cfg = cfg;
    this.store = store;
    const drop = (stage: string, reason: string, n?: number) => metrics.drop(stage, reason, n);
    const onError = (err: unknown) => log(`alerting: ${(err as Error)?.message ?? String(err)}`);
    const bus = new InProcessBus<SluiceEvent>({ drop, onError });
    const server = cfg.role === 'server' && cfg.bus.kind === 'nats';
    // a server queues the deliveries of the events it stored for the cluster before their records count as handled
    const settle = server ? (events: SluiceEvent[]) => this.#dispatcher.dispatchAll(events) : undefined;
    this.engine = new RuleEngine({ store, bus, config: cfg.rules, metrics: { registry: metrics.registry }, drop, onError, settle });
    this.#webhook = new WebhookSender({ store, config: cfg.triggers, metrics: { registry: metrics.registry }, drop, onError, onFailure });
    if (server) this.#shared = new SharedDeliveries(cfg.bus, cfg.triggers, this.#webhook, (id) => this.#dispatcher.trigger(id), log, (s, r, n) => drop(s, r, n));
    this.#dispatcher = new TriggerDispatcher({ store, bus, webhook: this.#shared ?? this.#webhook, subscribe: !server, onError });
    const engine = this.engine;
    this.stage = { name: 'rules', push: (b) => engine.push(b), onDrain: (cb) => engine.onDrain(cb), skip: (n, last) => engine.skip(n, last) };
    this.#stopRetention = startRetention(store, cfg.store, onError);
  }

  static async open(cfg: Config, dataDir: string, metrics: Metrics, log: (m: string) => void, onFailure?: (f: WebhookFailure) => void): Promise<Alerting> {
    const store = await openStore(cfg.store, dataDir);
    const a = new Alerting(cfg, store, metrics, log, onFailure);
    try {
      await a.engine.reload(); // compiles the rule snapshot and restores cooldowns
      await a.#dispatcher.start();
      a.#shared?.start();
    } catch (err) {
      await a.close().catch(() => undefined); // a failed start must not leave the store (or its pool) open
      throw err;
    }
    return a;
  }

  /**
   * Told after this daemon's API changed rules or triggers (a server tells the
   * other servers, bus/control.ts, so they reload from the shared store).
   */
  onChange: ((what: ConfigChange) => void) | undefined;

  /** Another server changed rules or triggers in the shared store: reload them. */
  async reloadFromStore(what: ConfigChange): Promise<void> {
    if (what === 'rules') await this.engine.reload();
    else await this.#dispatcher.reload();
  }

  async routes(app: FastifyInstance): Promise<void> {
    const engine = { reload: async () => { await this.engine.reload(); this.onChange?.('rules'); }, stats: () => this.engine.stats() };
    const dispatcher = { reload: async () => { await this.#dispatcher.reload(); this.onChange?.('triggers'); }, stats: () => this.#dispatcher.stats() };
    await registerRuleRoutes(app, { store: this.store, engine });
    await registerTriggerRoutes(app, { store: this.store, dispatcher, webhook: this.#webhook, config: this.#cfg.triggers });
    await registerEventRoutes(app, { store: this.store });
  }

  status(): Record<string, unknown> {
    return {
      rules: this.engine.stats(),
      webhooks: { ...this.#webhook.stats(), ...(this.#shared ? { cluster: this.#shared.status() } : {}) },
      dispatcher: this.#dispatcher.stats(),
    };
  }

  /** After sources stopped: write what the engine still holds, then stop delivery and the store. */
  async close(): Promise<void> {
    this.#stopRetention();
    await this.engine.flush();
    this.#dispatcher.stop();
    await this.#shared?.stop();
    await this.#webhook.close();
    await this.store.close();
  }
}
