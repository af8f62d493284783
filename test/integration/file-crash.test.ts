/**
 * Exactly-once across SIGKILL, end to end: a child process runs the file
 * source against a stand-in hub that, inside `push`, hands each record to a
 * "client" (appends `seq message` to a file, synchronously, as the hub's
 * fan-out does) and assigns seqs from a counter that starts at 0 in every new
 * process (the hub's ring is in memory). The test appends numbered lines while
 * it SIGKILLs and restarts the child again and again, then reads the client's
 * file the way an SSE client resuming with Last-Event-ID would: records with
 * a seq at or below the last one it saw are not sent to it again.
 *
 * It must receive every line exactly once and in order, and a seq seen twice
 * must always carry the same line (the replay re-publishes the last batch
 * with its old seqs, and the lines read again after the crash get the seqs
 * they had).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../helpers/fake-pipeline.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TOTAL = 5000;

const CHILD = `
import { openSync, writeSync } from 'node:fs';
import { fileSourceSchema } from ${JSON.stringify(join(ROOT, 'src/sources/file/config.ts'))};
import { FileSource } from ${JSON.stringify(join(ROOT, 'src/sources/file/source.ts'))};
const [glob, dataDir, outPath] = process.argv.slice(2);
const out = openSync(outPath, 'a');
let seq = 0;
const send = (batch) => { if (batch.length) writeSync(out, batch.map((r) => r.seq + ' ' + r.message + '\\n').join('')); };
const hub = {
  push(batch) { for (const r of batch) r.seq = ++seq; send(batch); return true; },
  onDrain() {},
  lastSeq: () => seq,
  replay(batch, floor) { send(batch); if (floor > seq) seq = floor; },
  drop() {},
};
const cfg = fileSourceSchema.parse({ name: 'crash', type: 'file', format: 'plain', paths: [glob], from: 'start',
  poll_interval: '100ms', idle_flush: '5s', rotate_wait: '500ms', read_buffer: '4KiB' });
const source = new FileSource(cfg, { dataDir });
await source.restore(hub);
await source.start(hub);
process.stdout.write('started\\n');
process.on('SIGTERM', () => { void source.stop().then(() => process.exit(0)); });
`;

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A small deterministic PRNG (mulberry32) so a failing run can be repeated. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ClientView {
  delivered: string[];
  resentSuppressed: number;
  conflicts: string[];
}

/** What an SSE client resuming by Last-Event-ID receives from the sequence of (seq, line) the hubs sent. */
function clientView(outPath: string): ClientView {
  const v: ClientView = { delivered: [], resentSuppressed: 0, conflicts: [] };
  if (!existsSync(outPath)) return v;
  const bySeq = new Map<number, string>();
  let lastSeen = 0;
  for (const row of readFileSync(outPath, 'utf8').split('\n')) {
    if (row === '') continue;
    const sp = row.indexOf(' ');
    const seq = Number(row.slice(0, sp));
    const msg = row.slice(sp + 1);
    const prev = bySeq.get(seq);
    if (prev !== undefined && prev !== msg) v.conflicts.push(`seq ${seq}: "${prev}" then "${msg}"`);
    if (seq <= lastSeen) {
      v.resentSuppressed++;
      continue;
    }
    bySeq.set(seq, msg);
    v.delivered.push(msg);
    lastSeen = seq;
  }
  return v;
}

describe('file source crash recovery', () => {
  it('SIGKILL at random points: a Last-Event-ID client gets every line exactly once, in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-file-crash-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const log = join(dir, 'app.log');
    const script = join(dir, 'child.mts');
    const outPath = join(dir, 'client.txt');
    writeFileSync(script, CHILD);
    writeFileSync(log, '');

    let child: ChildProcess | null = null;
    const exited = (c: ChildProcess) =>
      c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()));
    cleanup.push(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited(child);
      }
    });
    const startChild = async (): Promise<ChildProcess> => {
      const c = spawn(process.execPath, ['--import', 'tsx', script, join(dir, '*.log'), join(dir, 'data'), outPath], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      child = c;
      await new Promise<void>((res, rej) => {
        c.stdout!.on('data', (b: Buffer) => b.toString().includes('started') && res());
        c.once('exit', (code, sig) => rej(new Error(`child exited early (${code ?? sig})`)));
      });
      return c;
    };

    // The writer: ~600 lines/s in small appends.
    let written = 0;
    const writer = setInterval(() => {
      let s = '';
      for (let i = 0; i < 3 && written < TOTAL; i++) s += `C${++written}\n`;
      if (s) appendFileSync(log, s);
    }, 5);
    cleanup.push(() => clearInterval(writer));

    const rnd = prng(20240501);
    let kills = 0;
    // Kill and restart, mostly while the writer runs, some while the source catches up.
    for (let round = 0; round < 10; round++) {
      const c = await startChild();
      await sleep(150 + Math.floor(rnd() * 500));
      c.kill('SIGKILL');
      await exited(c);
      kills++;
    }
    await waitFor(() => written >= TOTAL, 'writer', 30_000, 20);
    clearInterval(writer);

    // A last run reads the rest, then stops cleanly.
    const last = await startChild();
    await waitFor(() => clientView(outPath).delivered.length >= TOTAL, `${TOTAL} lines delivered`, 30_000, 50);
    last.kill('SIGTERM');
    await exited(last);

    const v = clientView(outPath);
    console.log(`file crash: ${kills} SIGKILLs, ${v.delivered.length} delivered, ${v.resentSuppressed} re-sent records suppressed by Last-Event-ID`);
    expect(kills).toBe(10);
    expect(v.resentSuppressed).toBeGreaterThan(0); // the replays were exercised
    expect(v.conflicts).toEqual([]);
    expect(v.delivered.length).toBe(TOTAL);
    for (let i = 0; i < TOTAL; i++) {
      if (v.delivered[i] !== `C${i + 1}`) expect.fail(`position ${i}: got ${v.delivered[i]}, want C${i + 1}`);
    }
  }, 120_000);
});
