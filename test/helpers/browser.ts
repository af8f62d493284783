/**
 * Browser tests' harness: Debian's Chromium driven by playwright-core (no
 * browser download), a fresh user-data-dir per launch, and the web UI built
 * when dist/ui is missing or older than its sources (so `npm test` needs no
 * manual step; `npm ci` builds it too). `hasChromium` is false when
 * /usr/bin/chromium is missing: suites use `describe.skipIf(!hasChromium)`
 * and call `warnNoChromium()` so the skip is loud.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { waitFor } from './daemon.js';
import { requires } from './requires.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

export function warnNoChromium(suite: string, tests: string[]): void {
  // skipped loudly; under SLUICE_REQUIRE_ALL=1 (.ci/run) the file fails instead
  if (requires(`${CHROMIUM} for ${suite}`, hasChromium, 'install Debian chromium; .ci/run does')) return;
  console.warn(tests.map((t) => `!!!   - ${t}`).join('\n') + '\n');
}

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** A browser with a fresh profile (user-data-dir) and its context; close() also removes the profile. */
export async function launchBrowser(opts: { width?: number; height?: number } = {}): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(path.join(tmpdir(), 'sluice-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    timezoneId: 'UTC',
    locale: 'en-US',
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

function newest(dir: string): number {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) t = Math.max(t, newest(p));
    else if (!name.endsWith('.test.ts')) t = Math.max(t, st.mtimeMs);
  }
  return t;
}

/** Build the UI (vite) unless dist/ui/index.html is newer than every file under src/ui. */
export async function ensureUiBuilt(): Promise<void> {
  const index = path.join(ROOT, 'dist/ui/index.html');
  const sources = Math.max(newest(path.join(ROOT, 'src/ui')), statSync(path.join(ROOT, 'package-lock.json')).mtimeMs);
  const fresh = () => existsSync(index) && statSync(index).mtimeMs >= sources;
  if (fresh()) return;
  // one builder at a time (two test files, or a test beside `npm run build:ui`): the lock is a directory
  const lock = path.join(ROOT, 'dist/.ui-build.lock');
  mkdirSync(path.dirname(lock), { recursive: true });
  const take = () => {
    try {
      mkdirSync(lock);
      return true;
    } catch {
      return false;
    }
  };
  await waitFor(take, `${lock} to be free (remove it if no build runs)`, 180_000, 200);
  try {
    if (fresh()) return;
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '-c', 'src/ui/vite.config.ts'], {
      cwd: ROOT,
      // vitest sets NODE_ENV=test, which Vite would take for a development build (JSX with debug info, +40%)
      env: { ...process.env, NODE_ENV: 'production' },
      encoding: 'utf8',
      timeout: 170_000,
    });
    if (r.status !== 0) throw new Error(`the UI build failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
