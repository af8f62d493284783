/** The source factory: config slice -> Source. One line per source type. */
import type { Source } from '../core/pipeline.js';
import type { SourceConfig } from '../config/schema.js';
import { FileSource } from './file/source.js';
import { DockerSource } from './docker/source.js';

export interface SourceContext {
  dataDir: string;
}

export function createSource(cfg: SourceConfig, ctx: SourceContext): Source {
  switch (cfg.type) {
    case 'file':
      return new FileSource(cfg, { dataDir: ctx.dataDir });
    case 'docker':
      return new DockerSource(cfg, { dataDir: ctx.dataDir });
  }
}
