/**
 * A file source with test-sized intervals for the unit tests beside
 * src/sources/file/source.ts, stopped (and its temp dirs removed) by
 * `runCleanup` in afterEach.
 */
import { fileSourceSchema, type FileSourceInput } from '../../src/sources/file/config.js';
import { FileSource } from '../../src/sources/file/source.js';
import { onCleanup } from './cleanup.js';
import { parseModes } from './parse-modes.js';

export { runCleanup, tempDir } from './cleanup.js';

/** A source named `app` (poll 50 ms, idle_flush 150 ms, rotate_wait 200 ms unless `over` says otherwise). */
export function fileSource(dataDir: string, over: Partial<Omit<FileSourceInput, 'type'>> & { paths: string[] }): FileSource {
  const cfg = fileSourceSchema.parse({ name: 'app', type: 'file', format: 'plain', from: 'start', poll_interval: '50ms', idle_flush: '150ms', rotate_wait: '200ms', ...over });
  const s = new FileSource(cfg, { dataDir, parsePool: parseModes.pool, poolMinChars: 0 });
  onCleanup(() => s.stop());
  return s;
}
