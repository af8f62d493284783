/**
 * SIGKILL mid-file and restart: a client that resumes with Last-Event-ID
 * sees every line exactly once. Offsets are checkpointed right after the hub
 * accepts a batch, and the last batch is replayed with its original seqs
 * after a crash (sources/file/checkpoint.ts), so neither a loss nor a
 * duplicate can come from the kill landing between fan-out and checkpoint.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authHeaders, launch, startDaemon, stopAll, tempDir, type DaemonHandle, fileSourceToml } from '../helpers/daemon.js';
import { SseClient } from '../helpers/sse.js';

const handles: DaemonHandle[] = [];
afterAll(async () => {
  for (const h of handles) await h.stop();
  stopAll();
});

describe('crash safety', () => {
  it('SIGKILL mid-file then restart: every line exactly once for a resuming client', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    writeFileSync(file, '');
    const d1 = await startDaemon(
      `data_dir = "${dir}/data"
${fileSourceToml('app', file)}[[streams]]
name = "app"
replay = 50000
`,
      { dir },
    );
    handles.push(d1);
    const total = 30_000;
    let written = 0;
    let writing = true;
    // a steady writer, independent of the daemon's life: 500 lines every 20 ms
    const writer = (async () => {
      while (written < total) {
        let s = '';
        for (let i = 0; i < 500 && written < total; i++) s += `line n=${written++} payload=${'p'.repeat(60)}\n`;
        appendFileSync(file, s);
        await new Promise((r) => setTimeout(r, 20));
      }
      writing = false;
    })();

    const seen: number[] = [];
    const client = new SseClient(`${d1.url}/api/streams/app/sse?since=0`, authHeaders);
    await client.connect();
    await client.waitFor(() => client.logs().length >= 8_000, '8k records before the kill', 30_000);
    await d1.kill9();
    await new Promise((r) => setTimeout(r, 100)); // let the socket's last bytes arrive
    client.disconnect();
    seen.push(...client.logs().map((r) => Number(/n=(\d+)/.exec(r.message)![1])));
    const lastId = client.lastId!;
    expect(client.gaps()).toEqual([]);

    const d2 = await launch(d1.configFile, d1.port);
    handles.push(d2);
    const c2 = new SseClient(`${d2.url}/api/streams/app/sse`, authHeaders);
    await c2.connect(lastId);
    await writer;
    expect(writing).toBe(false);
    await c2.waitFor(() => seen.length + c2.logs().length >= total, 'every line after restart', 60_000);
    await new Promise((r) => setTimeout(r, 300)); // any duplicate would arrive now
    expect(c2.gaps()).toEqual([]);
    seen.push(...c2.logs().map((r) => Number(/n=(\d+)/.exec(r.message)![1])));
    const dupes = seen.length - new Set(seen).size;
    expect(dupes).toBe(0);
    expect(seen.length).toBe(total);
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
    // seqs keep increasing across the restart
    const seqs = [...client.logs(), ...c2.logs()].map((r) => r.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
  }, 120_000);
});
