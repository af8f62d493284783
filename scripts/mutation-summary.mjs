#!/usr/bin/env node
/**
 * The mutation score of the modules issue 11 lists, from the StrykerJS
 * incremental files kept in reports/ (`npm run mutate` or a group run with
 * `--incrementalFile reports/stryker-<group>.json`): per file and per
 * module, killed + timeout over all mutants that ran or were not covered.
 * A file measured by several reports (one run over part of its lines, a
 * later one over the rest) has their mutants merged while its source is the
 * same in both, a newer result replacing an older one for the same mutant;
 * a report with another source for it replaces what came before. Newer is
 * by the commit that last changed the report (its mtime outside git).
 * The figures are as of each report's run: a file changed since is rerun
 * by Stryker's incremental mode, not here.
 *
 *   node scripts/mutation-summary.mjs [--survivors] [reports/*.json ...]   (default: every reports/stryker-*.json)
 *
 * --survivors: also list each surviving and uncovered mutant (line, mutator, replacement, the line).
 */
import console from 'node:console';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const MODULES = ['src/core/', 'src/hub/', 'src/wire/', 'src/parse/', 'src/sources/file/', 'src/sinks/', 'src/rules/', 'src/triggers/', 'src/api/auth.ts'];
const DETECTED = new Set(['Killed', 'Timeout']);
const COUNTED = new Set(['Killed', 'Timeout', 'Survived', 'NoCoverage']);

const args = process.argv.slice(2);
const survivors = args.includes('--survivors');
const given = args.filter((a) => a !== '--survivors');
const files = given.length > 0 ? given : readdirSync('reports').filter((f) => /^stryker-.*\.json$/.test(f)).map((f) => path.join('reports', f));
/** When the report last changed: its last commit's time, else (not committed, no git) its mtime. */
const when = (f) => {
  try {
    const t = execFileSync('git', ['log', '-1', '--format=%ct', '--', f], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (t !== '') return Number(t) * 1000;
  } catch {
    /* not in git */
  }
  return statSync(f).mtimeMs;
};
const times = new Map(files.map((f) => [f, when(f)]));
// oldest first: a newer report's results replace an older one's
files.sort((a, b) => times.get(a) - times.get(b));

const keyOf = (m) => `${m.location.start.line}:${m.location.start.column}:${m.location.end.line}:${m.location.end.column}:${m.mutatorName}:${m.replacement ?? ''}`;
/** file -> { reports, source, mutants by key } */
const merged = new Map();
for (const f of files) {
  const report = JSON.parse(readFileSync(f, 'utf8'));
  for (const [name, entry] of Object.entries(report.files ?? {})) {
    let m = merged.get(name);
    if (m === undefined || m.source !== entry.source) merged.set(name, (m = { reports: [], source: entry.source, mutants: new Map() }));
    m.reports.push(path.basename(f));
    for (const mu of entry.mutants ?? []) m.mutants.set(keyOf(mu), mu);
  }
}
/** file -> { report, counts by status } */
const byFile = new Map();
for (const [name, m] of merged) {
  const counts = {};
  for (const mu of m.mutants.values()) counts[mu.status] = (counts[mu.status] ?? 0) + 1;
  byFile.set(name, { report: m.reports.join(' + '), counts });
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

if (survivors) {
  for (const [name, m] of [...merged].sort(([a], [b]) => a.localeCompare(b))) {
    const left = [...m.mutants.values()].filter((mu) => mu.status === 'Survived' || mu.status === 'NoCoverage');
    if (left.length === 0) continue;
    const lines = m.source.split('\n');
    console.log(`\n${name} (${m.reports.join(' + ')}): ${left.length}`);
    left.sort((a, b) => a.location.start.line - b.location.start.line || a.location.start.column - b.location.start.column);
    for (const mu of left) {
      const l = mu.location.start.line;
      console.log(`  ${mu.status === 'NoCoverage' ? 'no coverage' : 'survived'} ${l}:${mu.location.start.column} ${mu.mutatorName} -> ${JSON.stringify(mu.replacement ?? '').slice(0, 70)}   | ${(lines[l - 1] ?? '').trim().slice(0, 100)}`);
    }
  }
}
