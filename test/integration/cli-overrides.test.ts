/**
 * docs/configuration.md, Overrides: "Precedence: file < environment <
 * command-line flags", with `SLUICE_<SECTION>_<KEY>` variables and
 * `sluice run --listen HOST:PORT --data-dir DIR`, on a real `sluice run`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN, authHeaders, freePort, sluiceArgs, tempDir, waitFor } from '../helpers/daemon.js';

const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

async function refused(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/healthz`);
    return false;
  } catch {
    return true;
  }
}

describe('configuration overrides', () => {
  it('an environment variable beats the file, a flag beats both', async () => {
    const dir = tempDir();
    const [filePort, envPort, flagPort] = [await freePort(), await freePort(), await freePort()];
    const fileData = path.join(dir, 'data-from-file');
    const flagData = path.join(dir, 'data-from-flag');
    const cfg = path.join(dir, 'sluice.toml');
    writeFileSync(cfg, `data_dir = "${fileData}"\n[limits]\nmemory = "64MiB"\n[server]\nlisten = "127.0.0.1:${filePort}"\nadmin_token = "${ADMIN}"\n`);
    const p = spawn(process.execPath, sluiceArgs('run', '-c', cfg, '--listen', `127.0.0.1:${flagPort}`, '--data-dir', flagData), {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { ...process.env, SLUICE_SERVER_LISTEN: `127.0.0.1:${envPort}`, SLUICE_LIMITS_MEMORY: '32MiB', SLUICE_DATA_DIR: path.join(dir, 'data-from-env') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    procs.push(p);
    let err = '';
    p.stderr!.on('data', (c) => (err += c));
    const exited = new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
    const url = `http://127.0.0.1:${flagPort}`;
    await waitFor(async () => {
      if (p.exitCode !== null) throw new Error(`sluice exited ${p.exitCode}: ${err}`);
      return (await fetch(`${url}/healthz`).catch(() => undefined))?.ok;
    }, 'the daemon on the --listen port', 20_000);

    const st = (await (await fetch(`${url}/api/status`, { headers: authHeaders })).json()) as { memory: { budget: number } };
    expect(st.memory.budget).toBe(32 * 1024 * 1024); // env over file
    expect(await refused(filePort)).toBe(true); // flag over env over file
    expect(await refused(envPort)).toBe(true);
    expect(existsSync(path.join(flagData, 'hub-seq.json'))).toBe(true);
    expect(existsSync(fileData)).toBe(false);
    expect(existsSync(path.join(dir, 'data-from-env'))).toBe(false);
    p.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
