/**
 * Rule and trigger changes between servers (`role = "server"`): when this
 * server's API changes rules or triggers, it says so on the core NATS
 * subject `<prefix>.control.changes`; every other server reloads them from
 * the store (which they share: PostgreSQL). A notice is one small message,
 * so a change reaches the other servers within a round trip.
 *
 * Core NATS keeps no message for a server that is away, so a server makes
 * up for what it may have missed: each time its connection comes back (and
 * when the client says it dropped messages as a slow consumer) it reloads
 * rules and triggers from the store, as it does at start. A change made
 * through this server while it cannot reach NATS is told once it can (the
 * kinds changed are kept, not lost). Notices from this server itself are
 * ignored.
 */
import { randomBytes } from 'node:crypto';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { ConfigChange } from '../alerting.js';
import type { BusConfig } from './config.js';
import { connectBus } from './jetstream.js';

const CONNECT_TIMEOUT_MS = 5_000;
const RETRY_MS = 1_000;

export function controlSubject(prefix: string): string {
  return `${prefix}.control.changes`;
}

export class BusControl {
  /** This server's id in its notices. */
  readonly id = randomBytes(8).toString('hex');
  /** Notices sent and applied (for status and tests). */
  readonly counters = { sent: 0, applied: 0, failed: 0, resyncs: 0 };
  readonly #cfg: BusConfig;
  readonly #name: string;
  readonly #apply: (what: ConfigChange) => Promise<void>;
  readonly #log: (msg: string) => void;
  #nc: NatsConnection | undefined;
  #sub: Subscription | undefined;
  /** Connected now (between a disconnect and its reconnect: not). */
  #up = false;
  /** Changes made here that are still to be told (NATS was away). */
  readonly #pending = new Set<ConfigChange>();
  #stopped = false;
  #run: Promise<void> | undefined;

  constructor(cfg: BusConfig, name: string, apply: (what: ConfigChange) => Promise<void>, log: (msg: string) => void) {
    this.#cfg = cfg;
    this.#name = name;
    this.#apply = apply;
    this.#log = log;
  }

  /** Connect and listen in the background (NATS away: retried every second). */
  start(): void {
    this.#run = this.#connect();
  }

  /** Counters, and whether it listens (subscribed; NATS reachable at least once). */
  status(): { sent: number; applied: number; failed: number; resyncs: number; pending: ConfigChange[]; listening: boolean } {
    return { ...this.counters, pending: [...this.#pending], listening: this.#up && this.#sub !== undefined && this.#nc !== undefined && !this.#nc.isClosed() };
  }

  /** Tell the other servers; while NATS cannot be reached, once it can. */
  changed(what: ConfigChange): void {
    this.#pending.add(what);
    this.#tell();
  }

  #tell(): void {
    const nc = this.#nc;
    if (nc === undefined || nc.isClosed() || !this.#up) return;
    for (const what of this.#pending) {
      nc.publish(controlSubject(this.#cfg.prefix), JSON.stringify({ what, from: this.id }));
      this.counters.sent++;
    }
    this.#pending.clear();
  }

  /** Reload what another server may have changed while this one could not hear it. */
  #resync(why: string): void {
    this.counters.resyncs++;
    for (const what of ['rules', 'triggers'] as const) {
      this.#apply(what).catch((e: unknown) => {
        this.counters.failed++;
        this.#log(`bus control: cannot reload ${what} after ${why}: ${(e as Error).message}`);
      });
    }
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.#up = false;
      } else if (s.type === 'reconnect') {
        this.#up = true;
        this.#resync('NATS came back');
        this.#tell();
      } else if (s.type === 'slowConsumer' && s.sub === this.#sub) {
        this.#resync('notices were dropped (slow consumer)');
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#run;
    this.#sub?.unsubscribe();
    await this.#nc?.drain().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    while (!this.#stopped) {
      try {
        const nc = await connectBus(this.#cfg, this.#name, CONNECT_TIMEOUT_MS);
        if (this.#stopped) {
          await nc.close();
          return;
        }
        this.#nc = nc;
        this.#up = true;
        void this.#watch(nc);
        this.#sub = nc.subscribe(controlSubject(this.#cfg.prefix), {
          callback: (err, m) => {
            if (err) return;
            let n: { what?: unknown; from?: unknown };
            try {
              n = m.json();
            } catch {
              return;
            }
            if (n.from === this.id || (n.what !== 'rules' && n.what !== 'triggers')) return;
            this.#apply(n.what).then(() => void this.counters.applied++, (e: unknown) => {
              this.counters.failed++;
              this.#log(`bus control: cannot reload ${String(n.what)} after another server changed them: ${(e as Error).message}`);
            });
          },
        });
        await nc.flush();
        // what others changed between the daemon's first load and this subscription (or while NATS could not be
        // reached); and the changes made here meanwhile
        this.#resync('connecting');
        this.#tell();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, RETRY_MS).unref());
      }
    }
  }
}
