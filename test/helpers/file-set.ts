/**
 * A FileSet (src/sources/file/discovery.ts) on its own for the unit tests beside it: a scripted
 * watcher (each scan answers the next listing, the last one repeats), a stand-in for the source's
 * hooks that records what was registered and pumped, and real files.
 */
import { statSync } from 'node:fs';
import { Health, type HealthEvent } from '../../src/core/health.js';
import { fileSourceSchema, type FileSourceInput } from '../../src/sources/file/config.js';
import { newCounters } from '../../src/sources/file/counters.js';
import { FileSet } from '../../src/sources/file/discovery.js';
import { DEFAULT_LINK_POLICY, type FoundFile } from '../../src/sources/file/links.js';
import type { FileTailer } from '../../src/sources/file/tailer.js';
import type { PathWatcher, ScanResult } from '../../src/sources/file/watcher.js';
import { onCleanup } from './cleanup.js';

export { runCleanup, tempDir } from './cleanup.js';

export function found(p: string, path = p): FoundFile {
  const st = statSync(p, { bigint: true });
  return { path, real: p, viaLink: false, dev: String(st.dev), ino: String(st.ino), size: Number(st.size) };
}

export function idOf(p: string): string {
  const st = statSync(p, { bigint: true });
  return `${st.dev}:${st.ino}`;
}

export type Listing = Partial<ScanResult> | (() => Promise<Partial<ScanResult>>);

/** A FileSet whose watcher answers each scan with the next listing (the last one repeats). */
export function fileSet(listings: Listing[], over: Partial<FileSourceInput> = {}, opts: { firstStart?: boolean; stopAfter?: number } = {}) {
  const counters = newCounters();
  const health = new Health('source', 'app', 'file');
  const events: HealthEvent[] = [];
  health.observe((_who, e) => events.push(e));
  health.set('running');
  events.length = 0;
  const registered: FileTailer[] = [];
  const pumped: FileTailer[] = [];
  let scans = 0;
  let stopping = false;
  let stopCalls = 0;
  const watcher = {
    scan: async (): Promise<ScanResult> => {
      const l = listings[Math.min(scans++, listings.length - 1)]!;
      const r = typeof l === 'function' ? await l() : l;
      return { files: [], errors: [], refused: [], truncated: false, ...r };
    },
  } as unknown as PathWatcher;
  const cfg = fileSourceSchema.parse({ name: 'app', type: 'file', format: 'plain', paths: ['/unused'], ...over });
  const set = new FileSet({
    cfg, watcher, links: DEFAULT_LINK_POLICY, counters, health,
    firstStart: () => opts.firstStart ?? false,
    // stopping, or asked more than `stopAfter` times
    stopping: () => stopping || ++stopCalls > (opts.stopAfter ?? Infinity),
    register: (t) => {
      // what the source's register() does
      registered.push(t);
      set.tailers.add(t);
      set.byId.set(t.id, t);
    },
    pump: (t) => pumped.push(t),
  });
  onCleanup(async () => {
    for (const t of [...set.tailers, ...registered]) await t.close();
  });
  return { set, counters, health, events, registered, pumped, scans: () => scans, stop: () => (stopping = true) };
}

export const notes = (events: HealthEvent[], kind: string) => events.filter((e) => e.type === 'note' && e.event === kind);
