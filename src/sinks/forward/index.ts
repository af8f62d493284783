/** The daemon's `[[forward]]` sinks as one unit: built and started at start, stopped with a deadline at shutdown. */
import type { PipelineRuntime } from '../../core/pipeline-runtime.js';
import { forwardName, type ForwardConfig } from './config.js';
import { ForwardStage } from './forward.js';
import type { ForwardView } from '../../core/metrics.js';
import type { Health, HealthObserver } from '../../core/health.js';

export class Forwards {
  readonly #stages: ForwardStage[] = [];

  /** Open each spool (an earlier run's batches are sent first) and attach the stages to the pipeline. */
  constructor(cfgs: readonly ForwardConfig[], pipeline: PipelineRuntime, deps: { dataDir: string; drop(stage: string, reason: string, n: number): void; log(msg: string): void; observe?: HealthObserver }) {
    cfgs.forEach((c, i) => {
      const st = new ForwardStage(c, { name: forwardName(c, i), dataDir: deps.dataDir, drop: deps.drop, log: deps.log });
      st.health.observe(deps.observe);
      const r = st.start();
      if (r.batches > 0) deps.log(`${st.name}: ${r.batches} spooled batch(es) (${r.records} records) from an earlier run are sent first`);
      pipeline.addStage(st);
      this.#stages.push(st);
    });
  }

  healths(): Health[] {
    return this.#stages.map((s) => s.health);
  }

  status(): ForwardView[] {
    return this.#stages.map((s) => s.status());
  }

  /** Seal and spool the open batches; let the senders try until `deadline` (epoch ms). */
  async stop(deadline: number): Promise<void> {
    await Promise.all(this.#stages.map((s) => s.stop(deadline)));
  }
}
