#!/usr/bin/env node
/**
 * The mutation score of the modules issue 11 lists, from the StrykerJS
 * incremental files kept in reports/ (`npm run mutate` or a group run with
 * `--incrementalFile reports/stryker-<group>.json`): per file and per
 * module, killed + timeout over all mutants that ran or were not covered.
 * A file measured by several reports counts once, from the newest report.
 * The figures are as of each report's run: a file changed since is rerun
 * by Stryker's incremental mode, not here.
 *
 *   node scripts/mutation-summary.mjs [reports/*.json ...]   (default: every reports/stryker-*.json)
 */
import console from 'node:console';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const MODULES = ['src/core/', 'src/hub/', 'src/wire/', 'src/parse/', 'src/sources/file/', 'src/sinks/', 'src/rules/', 'src/triggers/', 'src/api/auth.ts'];
const DETECTED = new Set(['Killed', 'Timeout']);
const COUNTED = new Set(['Killed', 'Timeout', 'Survived', 'NoCoverage']);

const args = process.argv.slice(2);
const files = args.length > 0 ? args : readdirSync('reports').filter((f) => /^stryker-.*\.json$/.test(f)).map((f) => path.join('reports', f));
// oldest first: a newer report's file replaces an older one's
files.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);

/** file -> { report, counts by status } */
const byFile = new Map();
for (const f of files) {
  const report = JSON.parse(readFileSync(f, 'utf8'));
  for (const [name, entry] of Object.entries(report.files ?? {})) {
    const counts = {};
    for (const m of entry.mutants ?? []) counts[m.status] = (counts[m.status] ?? 0) + 1;
    byFile.set(name, { report: path.basename(f), counts });
  }
}

const score = (c) => {
  let detected = 0;
  let total = 0;
  for (const [status, n] of Object.entries(c)) {
    if (COUNTED.has(status)) total += n;
    if (DETECTED.has(status)) detected += n;
  }
  return { detected, total, pct: total === 0 ? NaN : (100 * detected) / total };
};
const fmt = (s) => (Number.isNaN(s.pct) ? '-' : `${s.pct.toFixed(2)} % (${s.detected}/${s.total})`);
const add = (a, b) => {
  for (const [k, v] of Object.entries(b)) a[k] = (a[k] ?? 0) + v;
  return a;
};

console.log('| file | report | killed | timeout | survived | no coverage | score |');
console.log('|---|---|---|---|---|---|---|');
for (const [name, { report, counts }] of [...byFile].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`| ${name} | ${report} | ${counts.Killed ?? 0} | ${counts.Timeout ?? 0} | ${counts.Survived ?? 0} | ${counts.NoCoverage ?? 0} | ${fmt(score(counts))} |`);
}
console.log('\n| module | files measured | score |');
console.log('|---|---|---|');
const all = {};
for (const mod of MODULES) {
  const within = [...byFile].filter(([name]) => name.startsWith(mod));
  const c = within.reduce((acc, [, v]) => add(acc, v.counts), {});
  add(all, c);
  console.log(`| ${mod} | ${within.length} | ${fmt(score(c))} |`);
}
console.log(`| all of the above | ${byFile.size} | ${fmt(score(all))} |`);
