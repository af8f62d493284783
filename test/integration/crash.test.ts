/**
 * SIGKILL mid-file and restart, against a real `sluice run`.
 *
 * What the crash replay promises (sources/file/source.ts `restore`,
 * docs/operations.md "Crash safety"): the hub fans a batch out in the same
 * synchronous step that precedes the checkpoint write, and the checkpoint's
 * `last` names that batch (byte range, seqs). After a crash the file is read
 * again from past `last`, and the batch itself is re-published from the file
 * with its original seqs. So a client that had *not* received that batch
 * (it was behind at the kill, or disconnected) and resumes from a seq before
 * it gets it with the same content, then the rest: every line once, in order.
 *
 * Such a client is made deterministic here: the kill lands wherever it lands,
 * the test reads the checkpoint the dead daemon left (the file the restarted
 * daemon restores from) and resumes clients from inside and just before that
 * batch. Nothing waits on time: the writer's pace only shapes the workload,
 * and the test ends on a marker line written last (records come in seq order,
 * so once a client has the marker, any duplicate would have come before it).
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SseParser } from '../../src/cli/tail.js';
import { CheckpointStore, type CheckpointLast } from '../../src/sources/file/checkpoint.js';
import { authHeaders, launch, startDaemon, stopAll, tempDir, waitFor, type DaemonHandle, fileSourceToml } from '../helpers/daemon.js';
import { SseClient } from '../helpers/sse.js';

const handles: DaemonHandle[] = [];
afterAll(async () => {
  for (const h of handles) await h.stop();
  stopAll();
});

/** Lines carry their own time, so a record is a function of the line's bytes alone (a replay rebuilds it byte for byte). */
const BASE = Date.UTC(2026, 0, 1);
const lineOf = (n: number): string => `${new Date(BASE + n).toISOString()} line n=${n} payload=${'p'.repeat(60)}`;
const numOf = (message: string): number => Number(/ line n=(\d+) /.exec(message)![1]);

interface Rec {
  seq: number;
  message: string;
  time: string;
  source: string;
  stream: string;
  origin: { kind: string; path: string };
}

/**
 * The client that is live when the daemon is killed: like SseClient, but it
 * also says when the response ended, i.e. when every byte the dead daemon's
 * socket still held has been read (the kernel closes it after the data).
 */
class LiveReader {
  readonly events: { id?: string; event: string; data: string }[] = [];
  lastId: string | undefined;
  readonly ended: Promise<void>;
  #end!: () => void;
  #req?: http.ClientRequest;

  constructor(readonly url: string) {
    this.ended = new Promise((r) => (this.#end = r));
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = http.get(this.url, { headers: { Accept: 'text/event-stream', ...authHeaders } }, (res) => {
        res.setEncoding('utf8');
        const parser = new SseParser();
        res.on('data', (chunk: string) =>
          parser.push(chunk, (e) => {
            if (e.id !== undefined) this.lastId = e.id;
            this.events.push({ ...e });
          }),
        );
        res.on('end', () => this.#end());
        res.on('error', () => this.#end());
        res.on('close', () => this.#end());
        resolve();
      });
      req.on('error', (err) => {
        reject(err);
        this.#end();
      });
      this.#req = req;
    });
  }

  close(): void {
    this.#req?.destroy();
  }

  logs(): Rec[] {
    return this.events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data) as Rec);
  }
}

/** The checkpoint the daemon restores from (the newest valid slot), read with the source's own store. */
function lastBatch(dataDir: string, source: string): CheckpointLast {
  const store = new CheckpointStore(dataDir, source);
  const loaded = store.load();
  store.close();
  if (loaded.kind !== 'ok' || loaded.doc.last === null) throw new Error(`no checkpointed batch: ${JSON.stringify(loaded)}`);
  return loaded.doc.last;
}

async function sourceCounters(url: string, name: string): Promise<Record<string, number>> {
  const st = (await (await fetch(`${url}/api/status`, { headers: authHeaders })).json()) as { sources: { name: string; counters: Record<string, number> }[] };
  return st.sources.find((s) => s.name === name)!.counters;
}

const dataOf = (c: { events: { id?: string; event: string; data: string }[] }): Map<number, string> =>
  new Map(c.events.filter((e) => e.event === 'log').map((e) => [Number(e.id), e.data]));

function expectIncreasing(seqs: number[]): void {
  for (let i = 1; i < seqs.length; i++) if (!(seqs[i]! > seqs[i - 1]!)) throw new Error(`seq ${seqs[i]} after ${seqs[i - 1]} (index ${i})`);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('crash safety', () => {
  it('SIGKILL mid-file then restart: a client behind at the kill gets the last batch replayed with its seqs, then every line once', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    const dataDir = path.join(dir, 'data');
    writeFileSync(file, '');
    const d1 = await startDaemon(
      `data_dir = "${dataDir}"
${fileSourceToml('app', file)}[[streams]]
name = "app"
replay = 50000
`,
      { dir },
    );
    handles.push(d1);
    const TOTAL = 30_000; // lines 0..TOTAL-1, then the marker line TOTAL
    let written = 0;
    // A steady writer, independent of the daemon's life, so the kill lands while the
    // daemon is reading a growing file. Its pace only shapes the load: nothing
    // asserted depends on where the kill lands.
    const writer = (async () => {
      while (written < TOTAL) {
        let s = '';
        for (let i = 0; i < 500 && written < TOTAL; i++) s += lineOf(written++) + '\n';
        appendFileSync(file, s);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const a = new LiveReader(`${d1.url}/api/streams/app/sse?since=0`);
    await a.connect();
    await waitFor(() => a.events.length >= 8_000, '8k records before the kill', 30_000);
    await d1.kill9();
    await a.ended; // everything the daemon had handed to the kernel for this client is in
    a.close();

    // The batch that was fanned out and checkpointed last: the restart must re-publish it.
    const last = lastBatch(dataDir, 'app');
    const batchLen = last.seqLast - last.seqFirst + 1;
    expect(batchLen).toBeGreaterThan(0);
    expect(last.path).toBe(file);
    const head = readFileSync(file).subarray(0, last.to);
    expect(head[last.to - 1]).toBe(0x0a); // batches end at a line end
    let firstLine = 0; // the first line of the batch: the lines before its byte range
    for (let i = 0; i < last.from; i++) if (head[i] === 0x0a) firstLine++;

    // What the live client got before the kill: a prefix of the file, in order, no gap,
    // and (where it got that far) seq <-> line as the checkpoint says.
    const aLogs = a.logs();
    expect(a.events.filter((e) => e.event === 'gap')).toEqual([]);
    expect(aLogs.map((r) => numOf(r.message))).toEqual(range(0, aLogs.length - 1));
    expectIncreasing(aLogs.map((r) => r.seq));
    expect(aLogs.at(-1)!.seq).toBeLessThanOrEqual(last.seqLast); // fan-out never runs ahead of the checkpoint
    for (const r of aLogs) if (r.seq >= last.seqFirst) expect(numOf(r.message)).toBe(firstLine + (r.seq - last.seqFirst));
    const lastA = aLogs.at(-1)!.seq;
    console.log(`crash: killed after ${aLogs.length} records to the live client (last seq ${lastA}); checkpointed batch seqs ${last.seqFirst}-${last.seqLast} (${batchLen} lines from line ${firstLine}), ${written} of ${TOTAL} lines written`);

    const d2 = await launch(d1.configFile, d1.port);
    handles.push(d2);
    const c = await sourceCounters(d2.url, 'app');
    expect(c.replayed).toBe(batchLen);
    expect(c.replay_mismatch).toBe(0);
    expect(c.replay_skipped).toBe(0);

    // Clients that were behind at the kill and resume after the restart:
    //  - b had everything before the batch and none of it (Last-Event-ID),
    //  - m stopped inside the batch (?since=),
    //  - a2 is the live client itself, resuming from what it had.
    const b = new SseClient(`${d2.url}/api/streams/app/sse`, authHeaders);
    await b.connect(String(last.seqFirst - 1));
    const mid = last.seqFirst - 1 + Math.floor(batchLen / 2);
    const m = new SseClient(`${d2.url}/api/streams/app/sse?since=${mid}`, authHeaders);
    await m.connect();
    const a2 = new SseClient(`${d2.url}/api/streams/app/sse`, authHeaders);
    await a2.connect(String(lastA));

    await writer;
    appendFileSync(file, lineOf(TOTAL) + '\n'); // the marker: written after every other line
    // the marker is the last line: once a client has it, it is its last event
    const hasMarker = (x: SseClient) => () => x.events.at(-1)?.data.includes(` line n=${TOTAL} `) === true;
    await b.waitFor(hasMarker(b), 'the marker (b)', 60_000);
    await m.waitFor(hasMarker(m), 'the marker (m)', 60_000);
    await a2.waitFor(hasMarker(a2), 'the marker (a2)', 60_000);
    for (const x of [b, m, a2]) x.disconnect();

    // b: the replayed batch first, with the seqs it had, then every later line once, in order.
    expect(b.gaps()).toEqual([]);
    const bLogs = b.logs() as unknown as Rec[];
    expect(bLogs.map((r) => numOf(r.message))).toEqual(range(firstLine, TOTAL));
    expect(bLogs.slice(0, batchLen).map((r) => r.seq)).toEqual(range(last.seqFirst, last.seqLast));
    expectIncreasing(bLogs.map((r) => r.seq));
    // the same content as before the crash: each record is what its line makes of it ...
    for (const r of bLogs.slice(0, batchLen)) {
      const n = numOf(r.message);
      expect(r).toMatchObject({ message: lineOf(n), time: new Date(BASE + n).toISOString(), source: 'app', stream: 'app', origin: { kind: 'file', path: file } });
    }
    // ... and byte for byte what the live client got for the same seqs, where it got them
    const aData = dataOf(a);
    const bData = dataOf(b);
    for (const seq of range(last.seqFirst, last.seqLast)) if (aData.has(seq)) expect(bData.get(seq)).toBe(aData.get(seq));

    // m: the second half of the batch, then the rest.
    expect(m.gaps()).toEqual([]);
    const mLogs = m.logs();
    expect(mLogs[0]!.seq).toBe(mid + 1);
    expect(mLogs.map((r) => numOf(r.message))).toEqual(range(firstLine + (mid + 1 - last.seqFirst), TOTAL));
    expectIncreasing(mLogs.map((r) => r.seq));

    // a2: exactly once when the live client had at least everything before the batch (the
    // promise); had it fallen further behind, the records between are gone with the
    // dead process's memory, and it is told how many (docs/operations.md).
    const a2Logs = a2.logs();
    if (lastA >= last.seqFirst - 1) {
      expect(a2.gaps()).toEqual([]);
      expect([...aLogs, ...a2Logs].map((r) => numOf(r.message))).toEqual(range(0, TOTAL));
    } else {
      expect(a2.gaps()).toEqual([{ missed: last.seqFirst - 1 - lastA }]);
      expect(a2Logs.map((r) => numOf(r.message))).toEqual(range(firstLine, TOTAL));
    }
    expectIncreasing([...aLogs, ...a2Logs].map((r) => r.seq));
  }, 120_000);
});
