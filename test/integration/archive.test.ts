/**
 * The archive sink in the daemon: a plain-format file source archived raw is
 * byte-identical to its input, also while the real logrotate rotates the
 * archive (create and copytruncate): no line lost, none twice.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN, authHeaders, fileSourceToml, freePort, launch, stopAll, tempDir, waitFor } from '../helpers/daemon.js';
import { requires } from '../helpers/requires.js';

afterAll(() => stopAll());

const LOGROTATE = '/usr/sbin/logrotate';
if (!existsSync(LOGROTATE)) console.warn('SKIPPED archive.test.ts: no /usr/sbin/logrotate (Debian package logrotate; .ci/run installs it)');

describe.skipIf(!requires('logrotate', existsSync(LOGROTATE), 'apt-get install logrotate'))('archive sink', () => {
  for (const mode of ['create', 'copytruncate'] as const) {
    it(`raw archive = the input byte for byte, across ${mode} rotations by the real logrotate`, async () => {
      const dir = tempDir();
      const input = path.join(dir, 'in.log');
      const out = path.join(dir, 'archive', 'app.raw');
      writeFileSync(input, '');
      const port = await freePort();
      const cfg = path.join(dir, 'sluice.toml');
      writeFileSync(cfg, `data_dir = "${dir}/data"\n${fileSourceToml('app', input, 'format = "plain"\n')}\n[[archive]]\nstream = "app"\npath = "${out}"\nformat = "raw"\ncheck_interval = "50ms"\nmax_size = "1GiB"\n\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "${ADMIN}"\n`);
      const d = await launch(cfg, port);
      const conf = path.join(dir, 'logrotate.conf');
      writeFileSync(conf, `${out} {\n  rotate 100\n  ${mode}\n  missingok\n  nocompress\n}\n`);
      let want = '';
      type ArchiveView = { size: number; counters: { records: number; reopened: number } };
      const view = async () => ((await (await fetch(`${d.url}/api/status`, { headers: authHeaders })).json()) as { archive: ArchiveView[] }).archive[0]!;
      const archived = async () => (await view()).counters.records;
      let n = 0;
      for (let round = 0; round < 5; round++) {
        let chunk = '';
        for (let i = 0; i < 2000; i++) chunk += `round ${round} line ${n++} ünïcødé\t"quoted" \\ end\n`;
        appendFileSync(input, chunk);
        want += chunk;
        await waitFor(async () => (await archived()) === n, `${n} lines archived`);
        execFileSync(LOGROTATE, ['-f', '-s', path.join(dir, 'state'), conf]);
        // create: the sink notices the move (inode) and writes a new file; copytruncate: it notices the
        // truncation (its size back to 0) and appends at the new end. Wait for it before the next chunk.
        if (mode === 'create') await waitFor(async () => (await view()).counters.reopened === round + 1, `the sink reopening after rotation ${round + 1}`);
        else await waitFor(async () => (await view()).size === 0, `the sink seeing the truncation of rotation ${round + 1}`);
      }
      expect(await d.stop()).toBe(0);
      const files = readdirSync(path.dirname(out)).filter((f) => f.startsWith('app.raw'));
      // logrotate numbers the newest rotation .1: oldest first is the highest number, then the live file
      const ordered = files.filter((f) => f !== 'app.raw').sort((a, b) => Number(b.split('.').pop()) - Number(a.split('.').pop()));
      if (files.includes('app.raw')) ordered.push('app.raw');
      const got = ordered.map((f) => readFileSync(path.join(path.dirname(out), f), 'utf8')).join('');
      expect(got.length).toBe(want.length);
      expect(got === want).toBe(true);
    }, 120_000);
  }
});
