/**
 * data_dir is private at rest (core/private-dir.ts): a real `sluice run` that
 * uses every writer under data_dir (file and docker checkpoints, the hub seq
 * file, the SQLite store with its WAL holding a rule, an event and a trigger
 * secret, the generated admin token) leaves only 0700 directories and 0600
 * files, while running and after SIGTERM; and loose modes left by an older
 * Sluice are tightened at start, each named in a warning.
 */
import { appendFileSync, chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, launch, startDaemon, stopAll, tempDir, waitFor, type DaemonHandle, fileSourceToml } from '../helpers/daemon.js';
import { hasDockerd, startEngine, warnSkipped, type Engine } from '../helpers/dockerd.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

warnSkipped('test/integration/private-data-dir.test.ts (its docker source part; the rest runs)', [
  'the docker source checkpoint under data_dir is 0600',
]);

/** Every entry under `dir` (not following symlinks) with its permission bits, relative paths. */
function walk(dir: string): Map<string, { mode: number; kind: 'dir' | 'file' | 'other' }> {
  const out = new Map<string, { mode: number; kind: 'dir' | 'file' | 'other' }>();
  const visit = (abs: string, rel: string) => {
    for (const name of readdirSync(abs)) {
      const a = path.join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(a);
      const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
      out.set(r, { mode: st.mode & 0o777, kind });
      if (kind === 'dir') visit(a, r);
    }
  };
  visit(dir, '');
  return out;
}

/** The entries whose mode lets anyone but the owner in, as `path mode` lines (empty = all private). */
function loose(dir: string): string[] {
  const bad: string[] = [];
  const top = lstatSync(dir).mode & 0o777;
  if (top !== 0o700) bad.push(`. ${top.toString(8)}`);
  for (const [p, e] of walk(dir)) {
    if ((e.mode & 0o077) !== 0 || (e.kind === 'dir' && e.mode !== 0o700) || (e.kind === 'file' && e.mode !== 0o600) || e.kind === 'other') {
      bad.push(`${p} ${e.kind} ${e.mode.toString(8)}`);
    }
  }
  return bad;
}

const handles: DaemonHandle[] = [];
let rx: Receiver | undefined;
let engine: Engine | undefined;
const dirs: string[] = [];

beforeAll(async () => {
  if (hasDockerd) engine = await startEngine();
}, 120_000);

afterAll(async () => {
  for (const h of handles) await h.stop();
  await rx?.close();
  stopAll();
  await engine?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 120_000);

describe('data_dir is private at rest', () => {
  it('every directory under data_dir is 0700 and every file 0600, while running and after SIGTERM', async () => {
    rx = await startReceiver();
    const dir = tempDir();
    dirs.push(dir);
    const data = path.join(dir, 'data');
    const file = path.join(dir, 'app.log');
    writeFileSync(file, '');
    const port = await freePort();
    const cfg = path.join(dir, 'sluice.toml');
    const docker = engine
      ? `[[sources]]\nname = "c"\ntype = "docker"\nsocket = "${engine.socket}"\nfrom = "start"\ninclude_names = ["private-*"]\n`
      : '';
    // no admin_token: the daemon generates one and keeps it in data_dir/admin_token
    writeFileSync(
      cfg,
      `data_dir = "${data}"
[server]
listen = "127.0.0.1:${port}"
[triggers]
allow_hosts = ["127.0.0.1:${rx.port}"]
${fileSourceToml('app', file)}
${docker}`,
    );
    const d = await launch(cfg, port);
    handles.push(d);
    const admin = readFileSync(path.join(data, 'admin_token'), 'utf8').trim();
    const A = { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' };

    const rule = await fetch(`${d.url}/api/rules`, { method: 'POST', headers: A, body: JSON.stringify({ name: 'boom', pattern: 'boom (?P<n>\\d+)', severity: 'error', cooldown_s: 0 }) });
    expect(rule.status).toBe(201);
    const trig = await fetch(`${d.url}/api/triggers`, { method: 'POST', headers: A, body: JSON.stringify({ name: 'ops', url: rx.url, secret: 'trigger-secret-at-rest', filter: { severity: ['error'] } }) });
    expect(trig.status).toBe(201);
    appendFileSync(file, 'INFO fine\nERROR boom 42\n');
    await waitFor(async () => {
      const r = (await (await fetch(`${d.url}/api/events`, { headers: A })).json()) as { events: unknown[] };
      return r.events.length >= 1;
    }, 'the event stored');
    await waitFor(() => rx!.received.length >= 1, 'the webhook delivery');
    if (engine) {
      await engine.run({ name: 'private-1', script: 'echo from a container; sleep 600' });
      await waitFor(() => walk(data).has('checkpoints/docker-c.json'), 'the docker checkpoint');
    }
    await waitFor(() => walk(data).has('checkpoints/file-app.json'), 'the file checkpoint');

    const running = walk(data);
    const expected = ['admin_token', 'hub-seq.json', 'sluice.db', 'sluice.db-wal', 'sluice.db-shm', 'checkpoints', 'checkpoints/file-app.json'];
    if (engine) expected.push('checkpoints/docker-c.json');
    for (const p of expected) expect(running.has(p), `${p} exists while running`).toBe(true);
    expect(loose(data)).toEqual([]);
    // The umask itself, as the kernel sees it for the daemon: it covers files libraries create,
    // which the explicit modes above cannot (remove it and this fails even when every file is 0600).
    expect(readFileSync(`/proc/${d.proc.pid}/status`, 'utf8')).toMatch(/^Umask:\s+0077$/m);

    expect(await d.stop('SIGTERM')).toBe(0);
    const after = walk(data);
    for (const p of ['admin_token', 'hub-seq.json', 'sluice.db', 'checkpoints/file-app.json']) expect(after.has(p), `${p} exists after stop`).toBe(true);
    expect(loose(data)).toEqual([]);
    expect(d.stderr()).not.toMatch(/was mode/); // nothing was loose to begin with
  }, 120_000);

  it('an existing data_dir 0755 with a 0644 file is tightened at start, each path named in a warning', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const data = path.join(dir, 'data');
    mkdirSync(path.join(data, 'old'), { recursive: true });
    chmodSync(data, 0o755);
    chmodSync(path.join(data, 'old'), 0o755);
    writeFileSync(path.join(data, 'hub-seq.json'), '{"reserved":5}');
    chmodSync(path.join(data, 'hub-seq.json'), 0o644);
    writeFileSync(path.join(data, 'old', 'notes.txt'), 'x');
    chmodSync(path.join(data, 'old', 'notes.txt'), 0o640);
    // a link out of data_dir: its target is not Sluice's to change
    const outside = path.join(dir, 'shared.log');
    writeFileSync(outside, '');
    chmodSync(outside, 0o644);
    symlinkSync(outside, path.join(data, 'link.log'));

    const d = await startDaemon(`data_dir = "${data}"\n`, { dir });
    handles.push(d);
    expect(await d.stop('SIGTERM')).toBe(0);

    expect(lstatSync(data).mode & 0o777).toBe(0o700);
    expect(lstatSync(path.join(data, 'hub-seq.json')).mode & 0o777).toBe(0o600);
    expect(lstatSync(path.join(data, 'old')).mode & 0o777).toBe(0o700);
    expect(lstatSync(path.join(data, 'old', 'notes.txt')).mode & 0o777).toBe(0o600);
    expect(lstatSync(outside).mode & 0o777).toBe(0o644);
    // the daemon's log (JSON lines on a pipe): one warning a path
    const logged = d.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; msg: string });
    const warnings = logged.filter((l) => l.level === 'warn' && l.msg.includes(' was mode ')).map((l) => l.msg).sort();
    expect(warnings).toEqual(
      [
        `${data} was mode 0755; set to 0700`,
        `${data}/hub-seq.json was mode 0644; set to 0600`,
        `${data}/old was mode 0755; set to 0700`,
        `${data}/old/notes.txt was mode 0640; set to 0600`,
      ].sort(),
    );
  }, 60_000);
});
