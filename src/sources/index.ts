/** The source factory: config slice -> Source. One line per source type. */
import type { Source } from '../core/pipeline.js';
import type { SourceConfig } from '../config/schema.js';
import { FileSource } from './file/source.js';
import { DockerSource } from './docker/source.js';
import type { ParsePool } from '../parse/pool.js';

export interface SourceContext {
  dataDir: string;
  /** Shared parse threads (file sources use them). */
  parsePool?: ParsePool;
}

export function createSource(cfg: SourceConfig, ctx: SourceContext): Source {
  switch (cfg.type) {
    case 'file':
      return new FileSource(cfg, { dataDir: ctx.dataDir, parsePool: ctx.parsePool });
    case 'docker':
      return new DockerSource(cfg, { dataDir: ctx.dataDir });
  }
}
