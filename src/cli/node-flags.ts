/**
 * The Node flags the daemon runs with: the ones on `bin/sluice.js`'s shebang
 * line, the one place they are written (`npm start` runs that file; the
 * tests and the benches start the daemon from source or with `node
 * bin/sluice.js`, which do not read a shebang, and take them from here).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** bin/sluice.js, from src/cli or dist/cli alike. */
export const SLUICE_BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

/** The flags after `node` on the first line of `text` (`#!/usr/bin/env -S node --a --b`). */
export function shebangNodeFlags(text: string): string[] {
  const first = text.slice(0, text.indexOf('\n') >>> 0);
  const m = /^#!\S*env -S node((?: +--[\w-]+(?:=\S+)?)*) *$/.exec(first);
  if (m === null) throw new Error(`not a "#!/usr/bin/env -S node --flag ..." line: ${first}`);
  return m[1]!.split(' ').filter(Boolean);
}

export function daemonNodeFlags(): string[] {
  return shebangNodeFlags(readFileSync(SLUICE_BIN, 'utf8'));
}
