/**
 * The Docker source: lifecycle and wiring. Discovery reports containers, one
 * `ContainerTailer` follows each while it runs, checkpoints (one document
 * per source) advance after every accepted batch, and `status()` shows the
 * counters and the active tails for /api/status and /metrics.
 *
 * Exactly-once across a crash, as the file source: the checkpoint's `last`
 * names the last pushed batch (container, position before it, line count,
 * seqs); `restore` re-reads it from the engine (replay.ts) and re-publishes
 * it with those seqs (`pipeline.replay`), then `start` resumes after it. A
 * client resuming by Last-Event-ID sees each line once, whether the crash
 * fell before or after the checkpoint write. When the container or its logs
 * are gone, or they no longer give the same batch, nothing is re-published
 * (`replay_skipped` / `replay_mismatch`) but its seqs stay reserved.
 */
import picomatch from 'picomatch';
import type { Pipeline, Source, SourceStatus } from '../../core/pipeline.js';
import { Health, problemOf, type Problem } from '../../core/health.js';
import type { Origin } from '../../core/record.js';
import { DockerClient } from './client.js';
import { DockerCheckpointStore } from './checkpoint.js';
import type { DockerSourceConfig } from './config.js';
import { ContainerDiscovery, type DiscoveryReason } from './discovery.js';
import { refetchBatch } from './replay.js';
import { ContainerTailer, newCounters, type ContainerMeta, type DockerCounters } from './tailer.js';
import { laneSpec } from './decode.js';
import { ParseStage } from '../../parse/stage.js';
import type { ParsePool } from '../../parse/pool.js';

export interface DockerSourceOptions {
  dataDir: string;
  /** The daemon's parse stage; without it the source makes its own at start (inline parsing, or over `parsePool`). */
  stage?: ParseStage;
  parsePool?: ParsePool;
}

export class DockerSource implements Source {
  readonly name: string;
  readonly type = 'docker';
  readonly stream: string;
  readonly health: Health;
  readonly #cfg: DockerSourceConfig;
  readonly #client: DockerClient;
  readonly #store: DockerCheckpointStore;
  readonly #counters: DockerCounters = newCounters();
  readonly #tails = new Map<string, ContainerTailer>();
  /** Containers destroyed while their tail was still finishing: forget their checkpoint when it ends. */
  readonly #destroyed = new Set<string>();
  readonly #labelMatch: ((k: string) => boolean) | undefined;
  #pipeline: Pipeline | undefined;
  readonly #opts: DockerSourceOptions;
  #stage: ParseStage | undefined;
  #discovery: ContainerDiscovery | undefined;
  #loaded = false;
  #stopping = false;
  #loadError: string | undefined;
  /** Engine `since` for containers found running at the very first start (from = "end"). */
  #firstSince: string | undefined;

  constructor(cfg: DockerSourceConfig, opts: DockerSourceOptions) {
    this.#cfg = cfg;
    this.name = cfg.name;
    this.stream = cfg.stream ?? cfg.name;
    this.health = new Health('source', cfg.name, 'docker');
    this.#opts = opts;
    this.#client = new DockerClient(cfg.socket);
    this.#store = new DockerCheckpointStore(opts.dataDir, cfg.name);
    this.#labelMatch = cfg.labels.length ? picomatch(cfg.labels, { dot: true }) : undefined;
  }

  /** Load checkpoints, re-publish the last pushed batch with its seqs, keep the hub's seqs monotonic across a restart. */
  async restore(pipeline: Pipeline): Promise<void> {
    this.#load();
    const last = this.#store.last;
    if (last) {
      const r = await refetchBatch(last, { client: this.#client, cfg: this.#cfg, origin: (m, std) => this.#origin(m, std) });
      if (r.kind === 'ok') {
        for (let i = 0; i < r.records.length; i++) r.records[i]!.seq = last.seqFirst + i;
        pipeline.replay(r.records, last.seqLast);
        this.#counters.replayed += r.records.length;
      } else {
        if (r.kind === 'gone') this.#counters.replay_skipped++;
        else this.#counters.replay_mismatch++;
        pipeline.replay([], last.seqLast);
      }
    }
    if (this.#store.seq > 0) pipeline.replay([], this.#store.seq);
  }

  async start(pipeline: Pipeline): Promise<void> {
    this.#load();
    this.#pipeline = pipeline;
    this.#stage = this.#opts.stage ?? new ParseStage(pipeline, this.#opts.parsePool);
    this.#stopping = false;
    this.health.set('starting');
    const d = new ContainerDiscovery({
      client: this.#client,
      cfg: this.#cfg,
      counters: this.#counters,
      onContainer: (meta, reason) => this.#onContainer(meta, reason),
      onDestroy: (id) => this.#onDestroy(id),
      onRename: (id, name) => this.#tails.get(id)?.rename(name),
      onConnection: (up, err) => {
        if (this.#stopping) return;
        if (up) this.health.set('running');
        else this.health.set('error', engineProblem(this.#cfg.socket, err));
        // The engine is back: tails waiting out a backoff reconnect now.
        if (up) for (const t of this.#tails.values()) t.poke();
      },
    });
    this.#discovery = d;
    d.start();
  }

  /** Resolves once the first listing after start has been handled (tests, bench). */
  async ready(): Promise<void> {
    await this.#discovery?.listed;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#discovery?.stop();
    await Promise.all([...this.#tails.values()].map((t) => t.stop()));
    this.#tails.clear();
    this.#store.close();
    this.health.set('stopped');
  }

  status(): SourceStatus {
    const containers = [...this.#tails.values()].map((t) => t.status());
    const st: SourceStatus = {
      name: this.name,
      type: this.type,
      stream: this.stream,
      ...this.health.view(),
      counters: { ...this.#counters, containers_active: this.#tails.size },
      containers,
      socket: this.#cfg.socket,
    };
    if (this.#client.version) st.api_version = this.#client.version;
    if (this.#loadError) st.checkpoint_error = this.#loadError;
    return st;
  }

  #load(): void {
    if (this.#loaded) return;
    this.#loaded = true;
    const r = this.#store.load();
    if (r.kind === 'corrupt') {
      // Start over rather than refuse to run; say so in status.
      this.#loadError = r.error;
      this.#counters.checkpoint_errors++;
    }
    if (this.#cfg.from === 'end' && r.kind === 'none') this.#firstSince = `${Math.floor(Date.now() / 1000)}.000000000`;
  }

  #origin(meta: ContainerMeta, std: 'stdout' | 'stderr'): Origin {
    const o: Origin = { kind: 'docker', container_id: meta.id, container_name: meta.name, image: meta.image };
    const project = meta.labels['com.docker.compose.project'];
    const service = meta.labels['com.docker.compose.service'];
    if (project) o.compose_project = project;
    if (service) o.compose_service = service;
    o.std = std;
    if (this.#labelMatch) {
      const labels: Record<string, string> = {};
      let any = false;
      for (const [k, v] of Object.entries(meta.labels)) {
        if (this.#labelMatch(k)) {
          labels[k] = v;
          any = true;
        }
      }
      if (any) o.labels = labels;
    }
    return Object.freeze(o);
  }

  #onContainer(meta: ContainerMeta, reason: DiscoveryReason): void {
    if (this.#stopping || !this.#pipeline) return;
    const existing = this.#tails.get(meta.id);
    if (existing) {
      // A start event for a container we follow: it restarted; keep its history continuous.
      if (reason === 'event') existing.restarted();
      return;
    }
    this.#destroyed.delete(meta.id);
    const checkpoint = this.#store.get(meta.id);
    const tail = new ContainerTailer(meta, {
      client: this.#client,
      cfg: this.#cfg,
      pipeline: this.#pipeline,
      lane: this.#stage!.lane({ ...laneSpec(this.#cfg, this.#counters), transforms: this.#stage!.plan(this.name, this.stream, this.#cfg.transforms) }),
      counters: this.#counters,
      checkpoint,
      // from = "end" only for containers found running by the very first listing.
      sinceStart: reason === 'list' ? this.#firstSince : undefined,
      commit: (id, cp, last) => this.#store.commit(id, cp, this.#pipeline!.lastSeq(), last),
      origin: (m, std) => this.#origin(m, std),
    });
    this.#tails.set(meta.id, tail);
    this.#counters.containers_started++;
    this.health.note('container_attached', `following container ${meta.name} (${meta.id.slice(0, 12)}, ${meta.image})`, { container: meta.name, id: meta.id.slice(0, 12), image: meta.image });
    void tail.run().then(() => {
      if (this.#tails.get(meta.id) === tail) this.#tails.delete(meta.id);
      this.health.note('container_detached', `container ${meta.name} (${meta.id.slice(0, 12)}) ended: its log is read to the end`, { container: meta.name, id: meta.id.slice(0, 12) });
      if (!this.#stopping) this.#counters.containers_stopped++;
      if (this.#destroyed.delete(meta.id)) this.#forget(meta.id);
      // The container may have started again while this tail was ending (it had looked: not running),
      // and the start event went to it: look once more, now that its last batch is committed.
      else if (!this.#stopping) void this.#discovery?.recheck(meta.id);
    });
  }

  #onDestroy(id: string): void {
    if (this.#tails.has(id)) this.#destroyed.add(id);
    else this.#forget(id);
  }

  #forget(id: string): void {
    try {
      this.#store.remove(id);
    } catch {
      this.#counters.checkpoint_errors++;
    }
  }
}

/** Why the engine cannot be reached, in words an operator can act on. */
function engineProblem(socket: string, err: unknown): Problem {
  if (err === undefined) return { code: 'disconnected', message: `the Docker engine at ${socket} ended the events stream; reconnecting` };
  const p = problemOf(err);
  // the client wraps socket errors as SLUICE_ERR_DOCKER_UNREACHABLE: the errno in its message is what an operator
  // acts on, looked for outside the paths it names (a directory called EXAMPLE is not an errno)
  const code = /\b(E[A-Z]{3,})\b/.exec(p.message.replace(/\/\S*/g, ' '))?.[1] ?? p.code;
  const hint: Record<string, string> = {
    ENOENT: 'no such socket (is Docker installed and running?)',
    ECONNREFUSED: 'nothing listens on the socket (is dockerd running?)',
    EACCES: 'permission denied (run Sluice as a user in the docker group, or root)',
    ENOTSOCK: 'the path is not a socket',
  };
  return { code, message: `cannot reach the Docker engine at ${socket}: ${hint[code] ?? p.message}` };
}
