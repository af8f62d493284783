/** The daemon's `[[archive]]` sinks as one unit: attached to the pipeline at start, closed at stop. */
import type { PipelineRuntime } from '../../core/pipeline-runtime.js';
import { ArchiveStage, type ArchiveConfig } from './archive.js';
import type { Health, HealthObserver } from '../../core/health.js';

export class Archives {
  readonly #stages: ArchiveStage[] = [];

  constructor(cfgs: readonly ArchiveConfig[], pipeline: PipelineRuntime, deps: { drop(stage: string, reason: string, n: number): void; observe?: HealthObserver }) {
    for (const c of cfgs) {
      const st = new ArchiveStage(c, deps);
      st.health.observe(deps.observe);
      pipeline.addStage(st);
      this.#stages.push(st);
    }
  }

  healths(): Health[] {
    return this.#stages.map((s) => s.health);
  }

  status(): Record<string, unknown>[] {
    return this.#stages.map((s) => s.status());
  }

  close(): void {
    for (const s of this.#stages) s.close();
  }
}
