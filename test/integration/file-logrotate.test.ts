/**
 * The file source against the real /usr/sbin/logrotate (own state file and
 * config in a temp dir, `logrotate -f -s state conf`) while a separate writer
 * process appends uniquely numbered lines at a steady pace.
 *
 * (a) `create` (rename + create; the writer reopens when the path names a new
 *     file, like Python's WatchedFileHandler): every line arrives exactly once.
 * (b) `copytruncate` (the writer keeps its O_APPEND descriptor): lines written
 *     between logrotate's copy and its truncate that the source had not read
 *     yet are lost by design of copytruncate; the loss is measured, reported,
 *     and must stay small. No line may arrive twice.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { fileSourceSchema } from '../../src/sources/file/config.js';
import { CollectingPipeline, sleep, waitFor } from '../helpers/fake-pipeline.js';
import { FileSource } from '../../src/sources/file/source.js';

const run = promisify(execFile);
const LOGROTATE = '/usr/sbin/logrotate';
const TOTAL = 20_000;
/** Lines per writer tick and the tick: ~2,000 lines/s, one write(2) per line. */
const PER_TICK = 10;
const TICK_MS = 5;

// The writer: one line per write; in "reopen" mode it reopens the path when it names another file.
const WRITER = `
const fs = require('node:fs');
const [path, total, perTick, tickMs, mode] = process.argv.slice(1);
const pad = 'x'.repeat(80);
let fd = fs.openSync(path, 'a');
let ino = fs.fstatSync(fd).ino;
let n = 0;
const timer = setInterval(() => {
  if (mode === 'reopen') {
    let st = null;
    try { st = fs.statSync(path); } catch {}
    if (st && st.ino !== ino) { fs.closeSync(fd); fd = fs.openSync(path, 'a'); ino = fs.fstatSync(fd).ino; }
  }
  for (let i = 0; i < Number(perTick) && n < Number(total); i++) fs.writeSync(fd, 'L' + (++n) + ' ' + pad + '\\n');
  if (n >= Number(total)) { clearInterval(timer); fs.closeSync(fd); process.stdout.write('done\\n'); }
}, Number(tickMs));
`;

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function startWriter(path: string, mode: 'reopen' | 'keep'): { child: ChildProcess; done: Promise<void> } {
  const child = spawn(process.execPath, ['-e', WRITER, path, String(TOTAL), String(PER_TICK), String(TICK_MS), mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanup.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited with ${code}`))));
  });
  return { child, done };
}

interface Tally {
  counts: Uint8Array;
  garbage: string[];
}

function tally(p: CollectingPipeline): Tally {
  const counts = new Uint8Array(TOTAL + 1);
  const garbage: string[] = [];
  for (const r of p.records) {
    const m = /^L(\d+) x{80}$/.exec(r.message);
    const n = m ? Number(m[1]) : 0;
    if (n < 1 || n > TOTAL) garbage.push(r.message);
    else if (counts[n]! < 255) counts[n]!++;
  }
  return { counts, garbage };
}

async function scenario(mode: 'create' | 'copytruncate') {
  const dir = mkdtempSync(join(tmpdir(), `sluice-logrotate-${mode}-`));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'app.log');
  const conf = join(dir, 'logrotate.conf');
  const state = join(dir, 'logrotate.state');
  writeFileSync(log, '');
  writeFileSync(conf, `${log} {\n  rotate 100\n  ${mode}\n  missingok\n  nocompress\n}\n`);

  const cfg = fileSourceSchema.parse({
    name: 'rot', type: 'file', format: 'plain', paths: [join(dir, '*.log')], from: 'start',
    poll_interval: '200ms', idle_flush: '2s', rotate_wait: '1s',
  });
  const source = new FileSource(cfg, { dataDir: join(dir, 'data') });
  cleanup.push(() => source.stop());
  const p = new CollectingPipeline();
  await source.restore(p);
  await source.start(p);

  const writer = startWriter(log, mode === 'create' ? 'reopen' : 'keep');
  let finished = false;
  void writer.done.then(() => (finished = true), () => (finished = true));
  let rotations = 0;
  // Rotate every ~1.2 s while the writer runs (bounded: the writer needs ~10 s).
  for (let i = 0; i < 60 && !finished; i++) {
    await sleep(1200);
    if (finished) break;
    await run(LOGROTATE, ['-f', '-s', state, conf]);
    rotations++;
  }
  await writer.done;
  return { p, source, rotations };
}

describe('file source with the real logrotate', () => {
  it('create mode: every line arrives exactly once across several rotations', async () => {
    const { p, source, rotations } = await scenario('create');
    await waitFor(() => p.records.length >= TOTAL, `${TOTAL} lines`, 30_000, 50);
    await sleep(1500); // retire the last rotated files; a duplicate would show up now
    const { counts, garbage } = tally(p);
    const missing: number[] = [];
    const dups: number[] = [];
    for (let n = 1; n <= TOTAL; n++) {
      if (counts[n] === 0) missing.push(n);
      else if (counts[n]! > 1) dups.push(n);
    }
    const c = source.status().counters;
    console.log(`logrotate create: ${rotations} rotations, ${p.records.length} records, rotations counted ${c.rotations}, files opened ${c.files_opened}, closed ${c.files_closed}`);
    expect(rotations).toBeGreaterThanOrEqual(4);
    expect(garbage).toEqual([]);
    expect(missing).toEqual([]);
    expect(dups).toEqual([]);
    expect(p.records.length).toBe(TOTAL);
    expect(c.rotations).toBeGreaterThanOrEqual(rotations);
  }, 90_000);

  it('copytruncate: the inherent loss is bounded and reported, nothing is duplicated', async () => {
    const { p, source, rotations } = await scenario('copytruncate');
    // Some lines may be lost for good: wait until everything arrived or nothing new came for 1.5 s.
    let last = -1;
    let stableSince = Date.now();
    await waitFor(
      () => {
        const n = p.records.length;
        if (n !== last) {
          last = n;
          stableSince = Date.now();
        }
        return n >= TOTAL || Date.now() - stableSince > 1500;
      },
      'records to settle',
      30_000,
      50,
    );
    const { counts, garbage } = tally(p);
    let lost = 0;
    let dups = 0;
    for (let n = 1; n <= TOTAL; n++) {
      if (counts[n] === 0) lost++;
      else if (counts[n]! > 1) dups++;
    }
    const c = source.status().counters;
    console.log(
      `logrotate copytruncate: ${rotations} rotations, truncations counted ${c.truncations}, ` +
        `lost ${lost} of ${TOTAL} lines (${((100 * lost) / TOTAL).toFixed(3)}%), duplicated ${dups}, partial/garbled ${garbage.length}`,
    );
    expect(rotations).toBeGreaterThanOrEqual(4);
    expect(c.truncations).toBeGreaterThanOrEqual(1);
    expect(dups).toBe(0);
    expect(lost).toBeLessThanOrEqual(TOTAL / 100);
    expect(garbage.length).toBeLessThanOrEqual(rotations);
  }, 90_000);
});
