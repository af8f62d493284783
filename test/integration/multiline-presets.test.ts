/**
 * A multiline preset in the real daemon: a file source with
 * `multiline = "java"` turns a Java stack trace captured from the JVM
 * (test/fixtures/multiline/java/) into one record between the log lines
 * around it, end to end (file -> joiner -> parse -> hub -> /api/records and a
 * live SSE client); `sluice check` names a bad preset by its key path.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authHeaders, fileSourceToml, runCli, startDaemon, stopAll, tempDir, waitFor } from '../helpers/daemon.js';
import { SseClient } from '../helpers/sse.js';

afterAll(() => stopAll());

const JAVA = readFileSync(path.resolve(import.meta.dirname, '../fixtures/multiline/java/caused-by.txt'), 'utf8').replace(/\n$/, '');

describe('multiline presets in the daemon', () => {
  it('multiline = "java": a Java trace between two log lines becomes one record', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'app.log');
    writeFileSync(log, '');
    const d = await startDaemon(`data_dir = "${dir}/data"\n${fileSourceToml('app', log, 'format = "plain"\nmultiline = "java"\n')}`, { dir });
    const sse = new SseClient(`${d.url}/api/streams/app/sse`, authHeaders);
    await sse.connect();
    appendFileSync(log, `2024-05-01T10:00:00Z INFO request received\n${JAVA}\n2024-05-01T10:00:01Z INFO next request\n`);
    const want = ['2024-05-01T10:00:00Z INFO request received', JAVA, '2024-05-01T10:00:01Z INFO next request'];
    const records = await waitFor(async () => {
      const r = await fetch(`${d.url}/api/records?stream=app&limit=100`, { headers: authHeaders });
      const recs = ((await r.json()) as { records: { message: string }[] }).records;
      return recs.length >= 3 ? recs : undefined;
    }, 'three records');
    expect(records.map((r) => r.message)).toEqual(want);
    await sse.waitFor(() => sse.logs().length >= 3, 'three SSE log events');
    expect(sse.logs().map((r) => r.message)).toEqual(want);
    sse.disconnect();
    await d.stop();
  });

  it('sluice check names a bad preset by its key path and lists the presets', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'sluice.toml');
    writeFileSync(f, `data_dir = "${dir}/data"\n${fileSourceToml('app', path.join(dir, 'app.log'), 'multiline = "jvm"\n')}`);
    const r = await runCli(['check', '-c', f]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('sources[0].multiline: unknown multiline preset "jvm" (expected one of: java, python, go, ruby, dotnet, stack)');
  });
});
