/** The source factory: config slice -> Source. One line per source type. */
import type { Source } from '../core/pipeline.js';
import type { SourceConfig } from '../config/schema.js';
import { FileSource } from './file/source.js';
import { DockerSource } from './docker/source.js';
import { SyslogSource } from './syslog/source.js';
import { SocketSource } from './socket/source.js';
import { HttpSource } from './http/source.js';
import type { IngestRegistry } from './http/registry.js';
import type { ParseStage } from '../parse/stage.js';

export interface SourceContext {
  dataDir: string;
  /** The daemon's parse stage: every source's lines go through it. */
  stage: ParseStage;
  /** Where HTTP sources register so the ingest route finds them. */
  ingest: IngestRegistry;
}

export function createSource(cfg: SourceConfig, ctx: SourceContext): Source {
  switch (cfg.type) {
    case 'file':
      return new FileSource(cfg, { dataDir: ctx.dataDir, stage: ctx.stage });
    case 'docker':
      return new DockerSource(cfg, { dataDir: ctx.dataDir, stage: ctx.stage });
    case 'syslog':
      return new SyslogSource(cfg, { stage: ctx.stage });
    case 'socket':
      return new SocketSource(cfg, { stage: ctx.stage });
    case 'http':
      return new HttpSource(cfg, { dataDir: ctx.dataDir, stage: ctx.stage, registry: ctx.ingest });
  }
}
