/**
 * A file source with test-sized intervals for the unit tests beside
 * src/sources/file/source.ts, stopped (and its temp dirs removed) by
 * `runCleanup` in afterEach.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSourceSchema, type FileSourceInput } from '../../src/sources/file/config.js';
import { FileSource } from '../../src/sources/file/source.js';
import { parseModes } from './parse-modes.js';

const cleanup: Array<() => Promise<void> | void> = [];

/** Stop the sources and remove the dirs the test made (call from afterEach). */
export async function runCleanup(): Promise<void> {
  for (const c of cleanup.splice(0).reverse()) await c();
}

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-file-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A source named `app` (poll 50 ms, idle_flush 150 ms, rotate_wait 200 ms unless `over` says otherwise). */
export function fileSource(dataDir: string, over: Partial<Omit<FileSourceInput, 'type'>> & { paths: string[] }): FileSource {
  const cfg = fileSourceSchema.parse({ name: 'app', type: 'file', format: 'plain', from: 'start', poll_interval: '50ms', idle_flush: '150ms', rotate_wait: '200ms', ...over });
  const s = new FileSource(cfg, { dataDir, parsePool: parseModes.pool, poolMinChars: 0 });
  cleanup.push(() => s.stop());
  return s;
}
