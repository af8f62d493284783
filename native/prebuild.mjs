/**
 * The first half of the package's install script (`node native/prebuild.mjs && node-gyp rebuild`):
 * it generates native/tables.gen.h, the C writer's tables, from the TypeScript tables of this
 * checkout with native/gen-tables.ts, when tsx is installed (a development install: `npm ci`).
 * Without tsx (`npm ci --omit=dev`, a packed install) it removes any tables.gen.h and the build
 * falls back to the committed native/tables.h, which native.test.ts keeps equal to what the
 * generator writes. fastparse_core.h includes tables.gen.h when it exists, else tables.h.
 */
import { spawnSync } from 'node:child_process';
import console from 'node:console';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = fileURLToPath(new URL('./tables.gen.h', import.meta.url));

let tsx = true;
try {
  createRequire(import.meta.url).resolve('tsx/package.json');
} catch {
  tsx = false;
}

if (!tsx) {
  rmSync(out, { force: true });
  console.log('native/prebuild: tsx is not installed; building from the committed native/tables.h');
} else {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'native/gen-tables.ts', '--out', out], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`native/prebuild: native/gen-tables.ts failed (${r.status ?? r.signal}); fix the TypeScript tables or install with --omit=dev to build from native/tables.h`);
    process.exit(1);
  }
}
