/**
 * The file source against the real /usr/sbin/logrotate (own state file and
 * config in a temp dir, `logrotate -f -s state conf`) while a separate writer
 * process appends uniquely numbered lines at a steady pace.
 *
 * (a) `create` (rename + create; the writer reopens when the path names a new
 *     file, like Python's WatchedFileHandler): every line arrives exactly once.
 *     Logrotate runs while the writer keeps writing.
 * (b) `copytruncate` (the writer keeps its O_APPEND descriptor): every line
 *     exactly once and in order, nothing garbled. Copytruncate itself loses
 *     two kinds of lines, and the test keeps both out so that zero loss is a
 *     fair assertion about the source:
 *       - lines written between logrotate's copy and its truncate (they are
 *         in neither file): the writer pauses itself before each rotation
 *         and resumes only after logrotate has exited;
 *       - lines the source had not read when the file was truncated (they
 *         are only in the copy, which is not tailed): the rotation waits until
 *         the source has every line written so far.
 *     Then the file regrows (a burst of lines, far below the old offset) and
 *     the test waits until the source counted the truncation before the
 *     writer goes on. The lines start with the same 280 bytes, so the
 *     fingerprint (the first 256) is the same before and after: only the
 *     size, now below what was read, says the file was truncated (the
 *     "noticed late" case past the 64 KiB re-check offset, tailer.ts
 *     `refresh`). Every other rotation the source is paused by back-pressure
 *     while logrotate runs and the file regrows, so it looks only afterwards.
 *
 * (c) The daemon (`sluice run`) on copytruncate, with no poll to help: the
 *     same prefix, files past 64 KiB, every line once to an SSE client.
 *
 * Nothing waits on time: rotations follow the writer's count, the ends
 * follow a marker line written last.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { fileSourceSchema } from '../../src/sources/file/config.js';
import { CollectingPipeline, waitFor } from '../helpers/fake-pipeline.js';
import { FileSource } from '../../src/sources/file/source.js';
import { FINGERPRINT_BYTES } from '../../src/sources/file/tailer.js';
import { authHeaders, startDaemon, stopAll, tempDir, waitFor as waitForAsync } from '../helpers/daemon.js';
import { SseClient } from '../helpers/sse.js';

const run = promisify(execFile);
const LOGROTATE = '/usr/sbin/logrotate';
const TOTAL = 20_000;
/** Lines per writer tick and the tick: ~2,000 lines/s, one write(2) per line. */
const PER_TICK = 10;
const TICK_MS = 5;
/** A rotation after every EVERY lines written: 7 of them. */
const EVERY = 2_500;
/** Lines written into a truncated file before the source must notice (far below the old offset). */
const BURST = 20;
/** A constant start longer than the fingerprint (like the static fields a JSON logger writes first). */
const PREFIX = 'static '.repeat(40);
const RECHECK_BELOW = 64 * 1024;

// The writer: one line per write(2). It reports {at} after every EVERY lines; in "keep" mode
// (copytruncate) it then pauses until told to resume. In "reopen" mode it reopens the path
// when it names another file. Commands: {cmd:'write',count} writes now, {cmd:'resume'};
// each is answered with {reply: lines written}.
const WRITER = `
const fs = require('node:fs');
const [path, total, perTick, tickMs, every, mode, prefix] = process.argv.slice(1);
const TOTAL = Number(total);
let fd = fs.openSync(path, 'a');
let ino = fs.fstatSync(fd).ino;
let n = 0;
let paused = false;
const line = () => fs.writeSync(fd, prefix + 'L' + (++n) + '\\n');
process.on('message', (m) => {
  if (m.cmd === 'write') for (let i = 0; i < m.count && n < TOTAL; i++) line();
  if (m.cmd === 'resume') paused = false;
  process.send({ reply: n });
});
const timer = setInterval(() => {
  if (paused) return;
  if (mode === 'reopen') {
    let st = null;
    try { st = fs.statSync(path); } catch {}
    if (st && st.ino !== ino) { fs.closeSync(fd); fd = fs.openSync(path, 'a'); ino = fs.fstatSync(fd).ino; }
  }
  for (let i = 0; i < Number(perTick) && n < TOTAL; i++) {
    line();
    if (n % Number(every) === 0 && n < TOTAL) {
      process.send({ at: n });
      if (mode === 'keep') { paused = true; break; }
    }
  }
  if (n >= TOTAL) { clearInterval(timer); fs.closeSync(fd); process.send({ done: n }); }
}, Number(tickMs));
`;

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  stopAll();
});

type WriterEvent = { at: number } | { done: number };

class Writer {
  readonly child: ChildProcess;
  #events: WriterEvent[] = [];
  #eventWaiter: (() => void) | null = null;
  #replies: ((n: number) => void)[] = [];

  constructor(path: string, mode: 'reopen' | 'keep') {
    this.child = spawn(process.execPath, ['-e', WRITER, path, String(TOTAL), String(PER_TICK), String(TICK_MS), String(EVERY), mode, PREFIX], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: { reply?: number; at?: number; done?: number }) => {
      if (m.reply !== undefined) this.#replies.shift()?.(m.reply);
      else {
        this.#events.push(m as WriterEvent);
        this.#eventWaiter?.();
      }
    });
    this.child.on('exit', (code, signal) => {
      this.#events.push({ done: -1 });
      this.#eventWaiter?.();
      if (code !== 0 && signal !== 'SIGKILL') console.error(`writer exited with ${code ?? signal}`);
    });
    cleanup.push(() => {
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    });
  }

  /** The next report: a rotation point or the end. */
  async next(): Promise<WriterEvent> {
    while (this.#events.length === 0) await new Promise<void>((r) => (this.#eventWaiter = r));
    this.#eventWaiter = null;
    return this.#events.shift()!;
  }

  /** Send a command; the lines written so far once it is done. */
  ask(msg: { cmd: 'write'; count: number } | { cmd: 'resume' }): Promise<number> {
    return new Promise((resolve) => {
      this.#replies.push(resolve);
      this.child.send(msg);
    });
  }
}

const LINE = new RegExp(`^${PREFIX}L(\\d+)$`);

interface Tally {
  counts: Uint8Array;
  garbage: string[];
}

function tally(messages: string[]): Tally {
  const counts = new Uint8Array(TOTAL + 1);
  const garbage: string[] = [];
  for (const msg of messages) {
    const m = LINE.exec(msg);
    const n = m ? Number(m[1]) : 0;
    if (n < 1 || n > TOTAL) garbage.push(msg);
    else if (counts[n]! < 255) counts[n]!++;
  }
  return { counts, garbage };
}

function lostAndDuplicated(t: Tally): { missing: number[]; dups: number[] } {
  const missing: number[] = [];
  const dups: number[] = [];
  for (let n = 1; n <= TOTAL; n++) {
    if (t.counts[n] === 0) missing.push(n);
    else if (t.counts[n]! > 1) dups.push(n);
  }
  return { missing, dups };
}

const numbers = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

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

  const writer = new Writer(log, mode === 'create' ? 'reopen' : 'keep');
  const offsetsAtRotation: number[] = [];
  let rotations = 0;
  for (;;) {
    const ev = await writer.next();
    if ('done' in ev) {
      expect(ev.done).toBe(TOTAL);
      break;
    }
    rotations++;
    if (mode === 'create') {
      // the writer keeps writing meanwhile
      await run(LOGROTATE, ['-f', '-s', state, conf]);
      continue;
    }
    // copytruncate: the writer has paused itself after line ev.at; let the source read every line so far
    const k = rotations;
    await waitFor(() => p.records.length >= ev.at, `the source to read line ${ev.at}`, 30_000);
    const pauseSource = k % 2 === 1;
    if (pauseSource) {
      // back-pressure: the next batch (one more line) is refused, and the source reads nothing until drain
      p.refuse = true;
      const n = await writer.ask({ cmd: 'write', count: 1 });
      await waitFor(() => source.status().paused === true && p.records.length >= n, 'the source to pause', 30_000);
    }
    offsetsAtRotation.push((source.status().files as { path: string; offset: number }[]).find((f) => f.path === log)!.offset);
    await run(LOGROTATE, ['-f', '-s', state, conf]); // copy, then truncate: nothing is written meanwhile
    await writer.ask({ cmd: 'write', count: BURST }); // the file regrows, still far below the old offset
    if (pauseSource) p.drain();
    await waitFor(() => source.status().counters.truncations >= k, `copytruncate #${k} to be noticed`, 30_000).catch((e: Error) => {
      const st = source.status();
      throw new Error(`${e.message} (truncations ${st.counters.truncations}; files ${JSON.stringify(st.files)})`);
    });
    await writer.ask({ cmd: 'resume' });
  }
  // The end: a marker appended after the last line; the source reads the file in order, so once
  // the marker is in, every record before it is too (and no duplicate can come later).
  await waitFor(() => p.records.length >= TOTAL, `${TOTAL} lines`, 30_000, 50);
  appendFileSync(log, 'marker\n');
  await waitFor(() => p.messages.includes('marker'), 'the marker', 30_000);
  return { p, source, rotations, offsetsAtRotation };
}

describe('file source with the real logrotate', () => {
  it('create mode: every line arrives exactly once across several rotations', async () => {
    const { p, source, rotations } = await scenario('create');
    // the rotated files are retired after rotate_wait of quiet: the source ends up with the one file
    await waitFor(() => {
      const c = source.status().counters;
      return c.files_closed === c.files_opened - 1;
    }, 'the rotated files to be retired', 30_000, 50);
    const messages = p.messages.filter((m) => m !== 'marker');
    const t = tally(messages);
    const { missing, dups } = lostAndDuplicated(t);
    const c = source.status().counters;
    console.log(`logrotate create: ${rotations} rotations, ${p.records.length} records, rotations counted ${c.rotations}, files opened ${c.files_opened}, closed ${c.files_closed}`);
    expect(rotations).toBe(TOTAL / EVERY - 1);
    expect(t.garbage).toEqual([]);
    expect(missing).toEqual([]);
    expect(dups).toEqual([]);
    expect(messages.length).toBe(TOTAL);
    expect(p.messages.at(-1)).toBe('marker');
    expect(c.rotations).toBeGreaterThanOrEqual(rotations);
    expect(source.status().files).toHaveLength(1);
  }, 120_000);

  it('copytruncate, noticed late past the 64 KiB re-check offset with the same first bytes: no line lost, none twice, in order', async () => {
    expect(PREFIX.length).toBeGreaterThan(FINGERPRINT_BYTES);
    const { p, source, rotations, offsetsAtRotation } = await scenario('copytruncate');
    const messages = p.messages.filter((m) => m !== 'marker');
    const t = tally(messages);
    const { missing, dups } = lostAndDuplicated(t);
    const c = source.status().counters;
    console.log(
      `logrotate copytruncate: ${rotations} rotations at offsets ${offsetsAtRotation.join(', ')}, truncations counted ${c.truncations}, ` +
        `lost ${missing.length} of ${TOTAL} lines, duplicated ${dups.length}, partial/garbled ${t.garbage.length}`,
    );
    expect(rotations).toBe(TOTAL / EVERY - 1);
    for (const off of offsetsAtRotation) expect(off).toBeGreaterThan(RECHECK_BELOW);
    expect(c.truncations).toBe(rotations);
    expect(t.garbage).toEqual([]);
    expect(missing).toEqual([]);
    expect(dups).toEqual([]);
    // one file, read in order: the exact sequence
    expect(messages.map((m) => Number(LINE.exec(m)![1]))).toEqual(numbers(1, TOTAL));
    expect(p.messages.at(-1)).toBe('marker');
  }, 120_000);

  it('daemon: copytruncate past 64 KiB with the same first bytes and no poll to help: every line once, in order, to a live client', async () => {
    const dir = tempDir();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const log = join(dir, 'app.log');
    const conf = join(dir, 'logrotate.conf');
    const state = join(dir, 'logrotate.state');
    writeFileSync(log, '');
    writeFileSync(conf, `${log} {\n  rotate 100\n  copytruncate\n  missingok\n  nocompress\n}\n`);
    // poll_interval 1h: no rescan re-checks the first bytes; the change notifications and the size must do
    const d = await startDaemon(
      `data_dir = "${dir}/data"
[[sources]]
name = "app"
type = "file"
paths = ["${log}"]
from = "start"
poll_interval = "1h"

[[streams]]
name = "app"
replay = 20000
`,
      { dir },
    );
    cleanup.push(async () => void (await d.stop()));
    const status = async () =>
      ((await (await fetch(`${d.url}/api/status`, { headers: authHeaders })).json()) as {
        sources: { name: string; counters: Record<string, number>; files: { path: string; offset: number }[] }[];
      }).sources.find((s) => s.name === 'app')!;
    const client = new SseClient(`${d.url}/api/streams/app/sse?since=0`, authHeaders);
    await client.connect();
    cleanup.push(() => client.disconnect());

    let n = 0;
    const write = (count: number): void => {
      let s = '';
      for (let i = 0; i < count; i++) s += `${PREFIX}L${++n}\n`;
      appendFileSync(log, s); // O_APPEND, as the writer's descriptor in copytruncate
    };
    const ROUNDS = 3;
    for (let k = 1; k <= ROUNDS; k++) {
      write(400); // ~115 KB: past the 64 KiB re-check offset
      await waitForAsync(async () => (await status()).counters.records >= n, `the daemon to read line ${n}`);
      expect((await status()).files[0]!.offset).toBeGreaterThan(RECHECK_BELOW);
      await run(LOGROTATE, ['-f', '-s', state, conf]);
      write(BURST); // regrown, far below the old offset, same first bytes
      await waitForAsync(async () => (await status()).counters.truncations >= k, `copytruncate #${k} to be noticed`).catch(async (e: Error) => {
        const st = await status();
        throw new Error(`${e.message} (truncations ${st.counters.truncations}; files ${JSON.stringify(st.files)})`);
      });
    }
    write(1);
    const last = `${PREFIX}L${n}`;
    await client.waitFor(() => client.logs().some((r) => r.message === last), 'the last line');
    expect(client.gaps()).toEqual([]);
    expect(client.logs().map((r) => Number(LINE.exec(r.message)?.[1] ?? -1))).toEqual(numbers(1, n));
    const seqs = client.logs().map((r) => r.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    expect((await status()).counters.truncations).toBe(ROUNDS);
  }, 120_000);
});
