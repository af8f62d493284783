/**
 * dockerd restarted mid-stream (live-restore keeps the container running):
 * the events stream and the log stream both break, the source reconnects
 * with backoff, resumes from its checkpoint, and every line arrives once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerSourceSchema } from '../../src/sources/docker/config.js';
import { DockerSource } from '../../src/sources/docker/source.js';
import { CollectingPipeline, waitFor } from '../helpers/docker-collect.js';
import { hasDockerd, startEngine, warnSkipped, type Engine } from '../helpers/dockerd.js';

const TESTS = ['dockerd restarted mid-stream: the source reconnects and loses nothing'];
warnSkipped('test/integration/docker-restart.test.ts', TESTS);

describe.skipIf(!hasDockerd)('docker source across an engine restart', () => {
  let engine: Engine;
  let src: DockerSource | undefined;
  let dir: string;

  beforeAll(async () => {
    engine = await startEngine({ liveRestore: true });
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-docker-'));
  }, 120_000);

  afterAll(async () => {
    await src?.stop();
    await engine?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it(TESTS[0]!, async () => {
    const N = 400;
    const pipeline = new CollectingPipeline();
    const cfg = dockerSourceSchema.parse({ name: 'ctr', type: 'docker', socket: engine.socket });
    src = new DockerSource(cfg, { dataDir: dir });
    await src.start(pipeline);
    await src.ready();
    // ~20 lines per second for ~20 s, so the restart lands mid-stream.
    await engine.run({ name: 'steady', script: `i=0; while [ $i -lt ${N} ]; do i=$((i+1)); echo "line $i"; sleep 0.05; done; sleep 600` });
    await waitFor('some lines', () => pipeline.records.length >= 40);
    await engine.restart();
    const atRestart = pipeline.records.length;
    await waitFor(`line ${N}`, () => pipeline.messages().includes(`line ${N}`), 90_000);
    expect(atRestart).toBeLessThan(N);
    // every line the engine kept, once and in order: a line in dockerd's log copier when it stopped can
    // be lost by the engine itself (seen once in CI: one line missing from the source's stream)
    const kept = (await engine.docker(['logs', 'steady'])).split('\n').filter(Boolean);
    expect(kept.length).toBeGreaterThanOrEqual(N - 2);
    expect(pipeline.messages()).toEqual(kept);
    const c = src.status().counters;
    expect(c.reconnects).toBeGreaterThanOrEqual(1);
    expect(c.event_reconnects).toBeGreaterThanOrEqual(1);
    expect(src.status().state).toBe('running');
  }, 150_000);
});
