/**
 * The web UI's build (docs/ui.md): Preact, bundled by Vite into dist/ui,
 * which the daemon serves itself (src/api/ui.ts). `npm ci` builds it (the
 * prepare script), and so does `npm run build:ui`.
 *
 * The output needs no inline script or style (the UI's CSP allows neither):
 * no module-preload polyfill (an inline helper in older setups; every
 * browser the UI targets has modulepreload), CSS in files, nothing inlined
 * as data: except what img-src allows. Each text file is also written
 * brotli- and gzip-compressed beside itself, so the server never compresses
 * per request.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const root = import.meta.dirname;
const outDir = path.resolve(root, '../../dist/ui');

/** Write <file>.br and <file>.gz beside every compressible output file. */
function precompress(): Plugin {
  return {
    name: 'sluice-precompress',
    apply: 'build',
    writeBundle(options, bundle) {
      const dir = options.dir ?? outDir;
      for (const name of Object.keys(bundle)) {
        if (!/\.(js|css|html|svg|json)$/.test(name)) continue;
        const file = path.join(dir, name);
        const body = readFileSync(file);
        if (body.length < 256) continue;
        writeFileSync(file + '.br', brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }));
        writeFileSync(file + '.gz', gzipSync(body, { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 200,
  },
  plugins: [precompress()],
});
