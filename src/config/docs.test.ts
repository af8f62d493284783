/** Docs are part of the change: every TOML example in README/docs validates, and the reference equals the schema. */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './load.js';
import { renderReference } from './reference.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const docs = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

function tomlBlocks(md: string): string[] {
  const out: string[] = [];
  const re = /```toml\n([\s\S]*?)```/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(md))) out.push(m[1]!);
  return out;
}

describe('docs', () => {
  for (const f of docs) {
    const blocks = tomlBlocks(readFileSync(path.join(ROOT, f), 'utf8'));
    blocks.forEach((toml, i) => {
      it(`${f} TOML example #${i + 1} is a valid config`, () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'sluice-doc-'));
        const file = path.join(dir, 'x.toml');
        writeFileSync(file, toml);
        const r = loadConfig({ file, env: {} });
        expect(r.ok ? [] : r.problems).toEqual([]);
      });
    });
  }

  it('docs/configuration.md carries the generated reference', () => {
    const p = path.join(ROOT, 'docs/configuration.md');
    const md = readFileSync(p, 'utf8');
    const start = '<!-- reference:start -->\n';
    const end = '<!-- reference:end -->';
    const want = renderReference();
    const a = md.indexOf(start);
    const b = md.indexOf(end);
    expect(a).toBeGreaterThan(0);
    const have = md.slice(a + start.length, b);
    if (have !== want && process.env.UPDATE_DOCS === '1') {
      writeFileSync(p, md.slice(0, a + start.length) + want + md.slice(b));
      return;
    }
    expect(have).toBe(want);
  });
});
