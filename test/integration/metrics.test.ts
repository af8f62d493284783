/** /metrics is valid Prometheus text: checked by the real `promtool check metrics`. */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDaemon, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';
import { requires } from '../helpers/requires.js';

const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
if (!promtool) console.warn('SKIPPED metrics.test.ts "promtool accepts /metrics": promtool not installed (Debian package prometheus; .ci/run installs it)');

let d: DaemonHandle | undefined;
afterAll(async () => {
  await d?.stop();
  stopAll();
});

describe.skipIf(!requires('promtool', promtool !== undefined, 'apt-get install prometheus'))('metrics', () => {
  it('promtool accepts /metrics, with source counters and drops present', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'a.log');
    writeFileSync(file, '');
    d = await startDaemon(`data_dir = "${dir}/data"\n[[sources]]\nname = "a"\ntype = "file"\npaths = ["${file}"]\nfrom = "start"\n`, { dir });
    appendFileSync(file, Buffer.concat([Buffer.from('ERROR one\n'), Buffer.from([0xff, 0xfe]), Buffer.from(' bad utf8\n' + 'x'.repeat(10) + '\n')]));
    const text = await waitFor(async () => {
      const t = await (await fetch(`${d!.url}/metrics`)).text();
      return /sluice_records_total\{stream="a"\} 3/.test(t) ? t : '';
    }, 'records counted');
    expect(text).toMatch(/sluice_source_events_total\{source="a",type="file",counter="lines"\} 3/);
    expect(text).toMatch(/sluice_source_events_total\{source="a",type="file",counter="repaired"\} 1/);
    const r = spawnSync(promtool!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.stderr + r.stdout).toBe('');
    expect(r.status).toBe(0);
    expect(execFileSync(promtool!, ['--version']).toString()).toMatch(/promtool/);
  });
});
