/**
 * Which containers to follow, and when: the events stream (start, die,
 * destroy, rename) for promptness, a full listing at connect and every
 * `reconcile_interval` for what the events stream missed while it was down.
 * The events stream reconnects on a backoff of 1 s doubling to 30 s, and
 * resumes with `since` = the last event's second, so a container that
 * started and stopped while we were disconnected is still read.
 *
 * Selection: `include_labels` (all must match exactly), `include_names` (any
 * glob), `exclude_names` (any glob; wins). Names are matched without the
 * engine's leading "/".
 */
import { WakeableSleep } from './sleep.js';
import type { ClientRequest } from 'node:http';
import picomatch from 'picomatch';
import type { DockerClient, ContainerInspect, DockerEvent } from './client.js';
import type { DockerSourceConfig } from './config.js';
import type { ContainerMeta, DockerCounters } from './tailer.js';

export type DiscoveryReason = 'list' | 'event' | 'reconcile';

export interface DiscoveryDeps {
  client: DockerClient;
  cfg: DockerSourceConfig;
  counters: DockerCounters;
  /** A selected container exists (running, or started and maybe already stopped). */
  onContainer(meta: ContainerMeta, reason: DiscoveryReason): void;
  onDestroy(id: string): void;
  onRename(id: string, name: string): void;
  /** Connected to the engine (after every successful (re)connect) or lost it. */
  /** The events stream connected (`up`), or failed to or ended (`err`: why, when there was an error). */
  onConnection(up: boolean, err?: unknown): void;
}

const BACKOFF_MIN = 1000;
const BACKOFF_MAX = 30_000;
/** An events line longer than this is not an event: drop it. */
const MAX_EVENT_LINE = 1024 * 1024;

export function containerSelector(cfg: Pick<DockerSourceConfig, 'include_labels' | 'include_names' | 'exclude_names'>) {
  const inc = cfg.include_names.length ? picomatch(cfg.include_names, { dot: true }) : undefined;
  const exc = cfg.exclude_names.length ? picomatch(cfg.exclude_names, { dot: true }) : undefined;
  const labels = Object.entries(cfg.include_labels);
  return (name: string, containerLabels: Record<string, string>): boolean => {
    for (const [k, v] of labels) if (containerLabels[k] !== v) return false;
    if (inc && !inc(name)) return false;
    if (exc && exc(name)) return false;
    return true;
  };
}

export function metaOf(info: ContainerInspect): ContainerMeta {
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config.Image,
    tty: Boolean(info.Config.Tty),
    labels: info.Config.Labels ?? {},
  };
}

export class ContainerDiscovery {
  readonly #d: DiscoveryDeps;
  readonly #select: (name: string, labels: Record<string, string>) => boolean;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #req: ClientRequest | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #sleeper = new WakeableSleep();
  #connected = false;
  #reconciling: Promise<void> | undefined;
  /** Unix seconds of the newest event seen (events `since` on reconnect). */
  #lastEventSec: number | undefined;
  #firstListing = true;
  #listed!: Promise<void>;
  #resolveListed!: () => void;

  constructor(deps: DiscoveryDeps) {
    this.#d = deps;
    this.#select = containerSelector(deps.cfg);
    this.#listed = new Promise((r) => (this.#resolveListed = r));
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Resolves after the first successful listing (or stop). */
  get listed(): Promise<void> {
    return this.#listed;
  }

  start(): void {
    this.#loop ??= this.#run();
    const every = this.#d.cfg.reconcile_interval;
    if (every > 0) {
      this.#timer = setInterval(() => {
        if (this.#connected) void this.reconcile('reconcile');
      }, every);
      this.#timer.unref();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#req?.destroy();
    this.#sleeper.wake();
    await this.#loop;
    await this.#reconciling;
    this.#resolveListed();
  }

  /** List running containers and report the selected ones. Never rejects; one at a time. */
  reconcile(reason: DiscoveryReason): Promise<void> {
    this.#reconciling ??= this.#reconcile(reason).finally(() => (this.#reconciling = undefined));
    return this.#reconciling;
  }

  async #reconcile(reason: DiscoveryReason): Promise<void> {
    const { client, cfg } = this.#d;
    try {
      const list = await client.listRunning(cfg.include_labels);
      for (const c of list) {
        if (this.#stopped) return;
        const name = (c.Names[0] ?? '').replace(/^\//, '');
        if (!this.#select(name, c.Labels ?? {})) continue;
        await this.#report(c.Id, reason);
      }
    } catch {
      // The engine went away mid-listing: the events loop reconnects and lists again.
    }
  }

  /**
   * Report the container again when it runs. The source asks this when a
   * container's tail has ended: a start the engine announced while that tail
   * was ending went to the tail, which had already decided to finish.
   */
  recheck(id: string): Promise<void> {
    return this.#report(id, 'reconcile', true);
  }

  async #report(id: string, reason: DiscoveryReason, runningOnly = false): Promise<void> {
    let info: ContainerInspect | undefined;
    try {
      info = await this.#d.client.inspect(id);
    } catch {
      return;
    }
    if (!info || this.#stopped || (runningOnly && !info.State.Running)) return;
    const meta = metaOf(info);
    if (!this.#select(meta.name, meta.labels)) return;
    this.#d.onContainer(meta, reason);
  }

  async #run(): Promise<void> {
    const { client, counters } = this.#d;
    let backoff = BACKOFF_MIN;
    let attempt = 0;
    // Bounded by stop(): each iteration either follows events until they end or sleeps a backoff.
    while (!this.#stopped) {
      if (attempt++ > 0) {
        counters.event_reconnects++;
        counters.reconnects++;
      }
      try {
        await client.negotiate();
        // Subscribe before listing, so a start between the two is not missed.
        const since = this.#lastEventSec !== undefined ? String(this.#lastEventSec) : undefined;
        const { req, res } = await client.events(since);
        if (this.#stopped) {
          req.destroy();
          break;
        }
        this.#req = req;
        this.#connected = true;
        this.#d.onConnection(true);
        backoff = BACKOFF_MIN;
        const ended = this.#follow(req, res);
        await this.reconcile(this.#firstListing ? 'list' : 'reconcile');
        this.#firstListing = false;
        this.#resolveListed();
        await ended;
      } catch (err) {
        // Engine unreachable or refused: back off below (reported each time: the reason may change).
        this.#connected = false;
        this.#d.onConnection(false, err);
      }
      this.#req = undefined;
      if (this.#connected) {
        this.#connected = false;
        this.#d.onConnection(false);
      }
      if (this.#stopped) break;
      await this.#sleeper.sleep(backoff);
      backoff = Math.min(backoff * 2, BACKOFF_MAX);
    }
  }


  /** Read newline-delimited JSON events until the stream ends. */
  #follow(req: ClientRequest, res: import('node:http').IncomingMessage): Promise<void> {
    return new Promise((resolve) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) this.#event(line);
        }
        if (buf.length > MAX_EVENT_LINE) buf = '';
      });
      const done = () => resolve();
      res.once('end', done);
      res.once('close', done);
      res.once('error', done);
      req.once('error', done);
    });
  }

  #event(line: string): void {
    let ev: DockerEvent;
    try {
      ev = JSON.parse(line) as DockerEvent;
    } catch {
      return;
    }
    const id = ev.Actor?.ID ?? ev.id;
    const action = ev.Action ?? ev.status;
    if (!id || !action) return;
    if (typeof ev.time === 'number') this.#lastEventSec = Math.max(this.#lastEventSec ?? 0, ev.time);
    switch (action) {
      case 'start':
        void this.#report(id, 'event');
        break;
      case 'destroy':
        this.#d.onDestroy(id);
        break;
      case 'rename': {
        const name = ev.Actor?.Attributes?.name;
        if (name) this.#d.onRename(id, name.replace(/^\//, ''));
        break;
      }
      default:
        // 'die': the log stream ends by itself once the engine has sent everything.
        break;
    }
  }
}
