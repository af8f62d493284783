/**
 * Rule and trigger changes between servers (`role = "server"`): when this
 * server's API changes rules or triggers, it says so on the core NATS
 * subject `<prefix>.control.changes`; every other server reloads them from
 * the store (which they share: PostgreSQL). A notice is one small message,
 * so a change reaches the other servers within a round trip.
 *
 * Not durable: a server that is disconnected from NATS when a notice goes
 * out misses it (it reloads everything when it starts; until then or the
 * next change it runs the rules it had). Notices from this server itself
 * are ignored.
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
  readonly counters = { sent: 0, applied: 0, failed: 0 };
  readonly #cfg: BusConfig;
  readonly #name: string;
  readonly #apply: (what: ConfigChange) => Promise<void>;
  readonly #log: (msg: string) => void;
  #nc: NatsConnection | undefined;
  #sub: Subscription | undefined;
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
  status(): { sent: number; applied: number; failed: number; listening: boolean } {
    return { ...this.counters, listening: this.#sub !== undefined && this.#nc !== undefined && !this.#nc.isClosed() };
  }

  /** Tell the other servers (nothing when NATS is not reachable now: they keep what they have). */
  changed(what: ConfigChange): void {
    if (this.#nc === undefined || this.#nc.isClosed()) return;
    this.#nc.publish(controlSubject(this.#cfg.prefix), JSON.stringify({ what, from: this.id }));
    this.counters.sent++;
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
        return;
      } catch {
        await new Promise((r) => setTimeout(r, RETRY_MS).unref());
      }
    }
  }
}
