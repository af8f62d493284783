/** The daemon's [[forward]] sinks as one unit: names by index, attached and started, an earlier run's spool announced, status, healths, stop. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DurableStage, PipelineRuntime } from '../../core/pipeline-runtime.js';
import { forwardSchema } from './config.js';
import { Forwards } from './index.js';
import { Spool } from './spool.js';

describe('Forwards', () => {
  it('one started stage per config, named by index unless named, attached to the pipeline; a spool left by an earlier run is said', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sluice-fwds-'));
    // an earlier run of "edge" left two batches (five records) in its spool
    const sp = new Spool(path.join(dataDir, 'spool', 'edge'), { fsync: 'off', fsyncIntervalMs: 1000 });
    sp.open();
    sp.append(Buffer.from('{"seq":1}\n{"seq":2}\n'), 2, false);
    sp.append(Buffer.from('{"seq":3}\n{"seq":4}\n{"seq":5}\n'), 3, false);
    sp.close();
    const cfgs = [
      forwardSchema.parse({ url: 'http://127.0.0.1:9/api/ingest', allow_hosts: ['127.0.0.1:9'], batch_age: '1h', backoff_base: '1h' }),
      forwardSchema.parse({ name: 'edge', url: 'http://127.0.0.1:9/api/ingest', allow_hosts: ['127.0.0.1:9'], batch_age: '1h', backoff_base: '1h', timeout: '1h' }),
    ];
    const added: DurableStage[] = [];
    const logs: string[] = [];
    const seen: string[] = [];
    const fw = new Forwards(cfgs, { addStage: (s: DurableStage) => added.push(s) } as unknown as PipelineRuntime, { dataDir, drop: () => undefined, log: (m) => logs.push(m), observe: (who, e) => seen.push(`${who.name} ${e.type}`) });
    expect(added.map((s) => s.name)).toEqual(['forward:forward-0', 'forward:edge']);
    expect(logs).toEqual(['forward:edge: 2 spooled batch(es) (5 records) from an earlier run are sent first']);
    expect(fw.healths().map((h) => [h.name, h.state])).toEqual([['forward-0', 'running'], ['edge', 'running']]);
    expect(seen).toEqual(['forward-0 state', 'edge state']);
    expect(fw.status().map((s) => [s.name, s.spool_batches])).toEqual([['forward-0', 0], ['edge', 2]]);
    await fw.stop(Date.now());
    expect(fw.healths().map((h) => h.state)).toEqual(['stopped', 'stopped']);
  });
});
