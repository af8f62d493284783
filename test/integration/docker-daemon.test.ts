/**
 * The Docker source inside a real `sluice run` daemon against a private
 * dockerd (test/helpers/dockerd.ts): SIGKILL of the daemon mid-stream and a
 * restart give a client resuming by Last-Event-ID every line exactly once
 * (checkpoint per accepted batch plus the crash replay of the last batch,
 * sources/docker/checkpoint.ts); and /api/status and /metrics show the
 * source's tails and counters.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeaders, launch, startDaemon, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';
import { hasDockerd, startEngine, warnSkipped, type Engine } from '../helpers/dockerd.js';
import { SseClient } from '../helpers/sse.js';

const TESTS = [
  'SIGKILL of the daemon mid-stream then restart: every container line exactly once for a resuming client',
  '/api/status shows the active tails and per-container counters, /metrics the source counters',
];
warnSkipped('test/integration/docker-daemon.test.ts', TESTS);

interface Rec {
  seq: number;
  message: string;
  origin: { container_name?: string; std?: string };
}

describe.skipIf(!hasDockerd)('docker source in the daemon', () => {
  let engine: Engine;
  const handles: DaemonHandle[] = [];
  const clients: SseClient[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    engine = await startEngine();
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const h of handles) await h.stop();
    stopAll();
    await engine?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }, 120_000);

  function config(dir: string, names: string): string {
    return `data_dir = "${dir}/data"
[[sources]]
name = "c"
type = "docker"
socket = "${engine.socket}"
from = "start"
include_names = ["${names}"]
[[streams]]
name = "c"
replay = 50000
`;
  }

  it(TESTS[0]!, async () => {
    const dir = tempDir();
    dirs.push(dir);
    const d1 = await startDaemon(config(dir, 'kill-*'), { dir });
    handles.push(d1);
    const c1 = new SseClient(`${d1.url}/api/streams/c/sse?since=0`, authHeaders);
    clients.push(c1);
    await c1.connect();

    // Two containers, 1000 numbered lines each (one on stdout, one on stderr), 25 lines
    // every 0.1 s: about 4 s of output, then they stay up.
    const PER = 1000;
    const script = (redirect: string) =>
      `i=0; while [ $i -lt ${PER} ]; do i=$((i+1)); echo "line n=$i" ${redirect}; [ $((i % 25)) -eq 0 ] && sleep 0.1; done; sleep 600`;
    await engine.run({ name: 'kill-out', script: script('') });
    await engine.run({ name: 'kill-err', script: script('>&2') });

    await c1.waitFor(() => c1.logs().length >= 400, '400 records before the kill', 30_000);
    await d1.kill9();
    // every byte the killed daemon sent has been read once its connection is closed (no waiting a while)
    await c1.waitFor(() => c1.closed, "the killed daemon's SSE connection closed");
    c1.disconnect();
    const before = c1.logs() as unknown as Rec[];
    const lastId = c1.lastId!;
    expect(c1.gaps()).toEqual([]);
    expect(before.length).toBeLessThan(2 * PER); // the kill really landed mid-stream

    const d2 = await launch(d1.configFile, d1.port);
    handles.push(d2);
    const c2 = new SseClient(`${d2.url}/api/streams/c/sse`, authHeaders);
    clients.push(c2);
    await c2.connect(lastId);
    // Instead of waiting a while for duplicates: each container's lines come in order on its own tail, so
    // a duplicate (say from the crash replay) arrives before that container's last line; wait for both last lines.
    const lastLine = (name: string) => (r: Rec) => r.origin.container_name === name && r.message.endsWith(`n=${PER}`);
    await c2.waitFor(() => {
      const got = [...before, ...(c2.logs() as unknown as Rec[])];
      return got.some(lastLine('kill-out')) && got.some(lastLine('kill-err'));
    }, 'the last line of both containers after the restart', 60_000);
    expect(c2.gaps()).toEqual([]);
    const all = [...before, ...(c2.logs() as unknown as Rec[])];

    // Every line once, in order per container, each std stream kept apart.
    const numbers = (name: string) => all.filter((r) => r.origin.container_name === name).map((r) => Number(/n=(\d+)/.exec(r.message)![1]));
    const want = Array.from({ length: PER }, (_, i) => i + 1);
    expect(numbers('kill-out')).toEqual(want);
    expect(numbers('kill-err')).toEqual(want);
    expect(all.filter((r) => r.origin.container_name === 'kill-out').every((r) => r.origin.std === 'stdout')).toBe(true);
    expect(all.filter((r) => r.origin.container_name === 'kill-err').every((r) => r.origin.std === 'stderr')).toBe(true);
    expect(all).toHaveLength(2 * PER);
    // Seqs keep increasing across the restart.
    for (let i = 1; i < all.length; i++) expect(all[i]!.seq).toBeGreaterThan(all[i - 1]!.seq);

    // The restarted daemon re-published the last batch from the engine (nothing skipped or mismatched).
    const st = (await (await fetch(`${d2.url}/api/status`, { headers: authHeaders })).json()) as { sources: Array<{ name: string; counters: Record<string, number> }> };
    const counters = st.sources.find((s) => s.name === 'c')!.counters;
    expect(counters.replayed).toBeGreaterThan(0);
    expect(counters).toMatchObject({ replay_skipped: 0, replay_mismatch: 0, checkpoint_errors: 0 });
  }, 150_000);

  it(TESTS[1]!, async () => {
    const dir = tempDir();
    dirs.push(dir);
    const d = await startDaemon(config(dir, 'stat-*'), { dir });
    handles.push(d);
    const id = await engine.run({ name: 'stat-1', script: 'for i in 1 2 3 4 5; do echo "out $i"; done; echo err1 >&2; echo err2 >&2; sleep 600' });
    interface Status {
      sources: Array<{
        name: string;
        type: string;
        state: string;
        counters: Record<string, number>;
        containers: Array<{ id: string; name: string; state: string; lines: number; last_time?: string }>;
      }>;
    }
    const status = async () => ((await (await fetch(`${d.url}/api/status`, { headers: authHeaders })).json()) as Status).sources.find((s) => s.name === 'c')!;
    const src = await waitFor(async () => {
      const s = await status();
      // lines count as they are read, last_time once their batch is committed (the checkpoint's position)
      return s.containers.length === 1 && s.containers[0]!.lines === 7 && s.containers[0]!.last_time !== undefined ? s : undefined;
    }, 'the 7 lines of stat-1 in /api/status, committed');
    expect(src).toMatchObject({ type: 'docker', state: 'running' });
    expect(src.containers[0]).toMatchObject({ id, name: 'stat-1', state: 'following', lines: 7 });
    expect(src.containers[0]!.last_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/);
    expect(src.counters).toMatchObject({ lines: 7, records: 7, containers_active: 1, containers_started: 1, bad_frames: 0 });

    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toMatch(/^sluice_source_events_total\{source="c",type="docker",counter="lines"\} 7$/m);
    expect(metrics).toMatch(/^sluice_source_events_total\{source="c",type="docker",counter="containers_active"\} 1$/m);
    // per-container series
    expect(metrics).toMatch(/^sluice_source_tails\{source="c"\} 1$/m);
    expect(metrics).toContain(`sluice_source_instance_lines_total{source="c",instance="${id.slice(0, 12)}",instance_name="stat-1"} 7`);

    // The tail ends when its container stops; the status follows.
    await engine.docker(['rm', '-f', 'stat-1']);
    const after = await waitFor(async () => {
      const s = await status();
      return s.containers.length === 0 ? s : undefined;
    }, 'the tail to end');
    expect(after.counters).toMatchObject({ containers_active: 0, containers_stopped: 1 });
  }, 90_000);
});
