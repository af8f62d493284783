/**
 * What a unit test made, undone after it: helpers register an undo with
 * `onCleanup` (stop a source, remove a dir), and `runCleanup` in afterEach
 * runs them newest first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cleanup: Array<() => Promise<void> | void> = [];

/** Undo `fn` at the next runCleanup. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanup.push(fn);
}

/** Undo what the tests made, newest first (call from afterEach). */
export async function runCleanup(): Promise<void> {
  for (const c of cleanup.splice(0).reverse()) await c();
}

/** A new temporary directory, removed at the next runCleanup. */
export function tempDir(prefix = 'sluice-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => rmSync(d, { recursive: true, force: true }));
  return d;
}
