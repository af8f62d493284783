/**
 * The last step of the package's install script: builds better-sqlite3 from source for the Node
 * that runs the install. better-sqlite3 13 ships prebuilt binaries inside its package and has no
 * install script of its own (`gypfile: false`); this project compiles every native addon here,
 * with the machine's compiler and the running Node's headers (`npm_config_nodedir`), as re2 and
 * native/ are. Its loader takes build/Release/better_sqlite3.node before prebuilds/ when present.
 * `force_build=1` is its own switch for a source build (binding.gyp otherwise builds nothing when
 * a prebuild exists for the host).
 */
import { spawnSync } from 'node:child_process';
import console from 'node:console';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';

const dir = path.dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'));
// npm runs install scripts with npm_config_node_gyp set to its bundled node-gyp (the one the
// package's own `node-gyp rebuild` runs); node-gyp on PATH is the fallback.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
const r = spawnSync(cmd, [...args, 'rebuild', '--release', '--force_build=1'], { cwd: dir, stdio: 'inherit' });
const built = path.join(dir, 'build', 'Release', 'better_sqlite3.node');
if (r.status !== 0 || !existsSync(built)) {
  console.error(`scripts/build-better-sqlite3: node-gyp rebuild in ${dir} failed (${r.status ?? r.signal ?? r.error?.message})`);
  process.exit(1);
}
