import { chownSync, existsSync, lchownSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { realpath } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { inspect, linkPolicy, verifyOpened, type FoundFile, type LinkPolicy, type Verdict } from './links.js';
import { fileSourceSchema } from './config.js';
import { FileTailer } from './tailer.js';
import { newCounters } from './counters.js';

// These tests make links and files owned by other uids: they need root (as the test machine runs).
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

function tempDir(): string {
  const d = realpathSync(mkdtempSync(join(tmpdir(), 'sluice-links-')));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const follow = (over: Partial<{ follow_symlinks: boolean; allow_targets: string[] }> = {}, cwd?: string): LinkPolicy =>
  linkPolicy({ follow_symlinks: true, allow_targets: [], ...over }, cwd);

const look = (path: string, policy: LinkPolicy = follow()): Promise<Verdict> => inspect(path, policy, (d) => realpath(d));

/** A regular file in `dir` owned by `uid`. */
function file(dir: string, name: string, uid = 0): string {
  const p = join(dir, name);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, 'x\n');
  chownSync(p, uid, uid);
  return p;
}

/** A symlink at `dir/name` to `target`, owned by `uid` (lchown: the link itself). */
function link(dir: string, name: string, target: string, uid = 0): string {
  const p = join(dir, name);
  symlinkSync(target, p);
  lchownSync(p, uid, uid);
  return p;
}

/** /sys holds regular files (sysfs reports S_IFREG): one that exists here. */
const SYS_FILE = ['/sys/kernel/uevent_seqnum', '/sys/power/state', '/sys/kernel/profiling'].find((p) => existsSync(p))!;

describe('inspect', () => {
  it('follows a link to a regular file: the real path, the link as the matched path, the target\'s dev:ino', async () => {
    const d = tempDir();
    const target = file(d, 'pods/ns_pod/app/0.log');
    const l = link(d, 'app.log', join(d, 'pods/ns_pod/app/../app/0.log'));
    const st = statSync(target);
    expect(await look(l)).toEqual({
      kind: 'file',
      file: { path: l, real: target, viaLink: true, dev: String(st.dev), ino: String(st.ino), size: 2 },
    });
    // a plain file: not via a link, its real path through its directory's
    const plain = file(d, 'real-dir/plain.log');
    symlinkSync(join(d, 'real-dir'), join(d, 'linked-dir'));
    expect(await look(plain)).toMatchObject({ kind: 'file', file: { path: plain, real: plain, viaLink: false } });
    const viaDir = join(d, 'linked-dir/plain.log');
    expect(await look(viaDir)).toMatchObject({ kind: 'file', file: { path: viaDir, real: plain, viaLink: false } });
  });

  it('follow_symlinks = false refuses every link, not the plain files', async () => {
    const d = tempDir();
    const target = file(d, 'a.log');
    const l = link(d, 'b.log', target);
    const off = follow({ follow_symlinks: false });
    expect(await look(l, off)).toEqual({ kind: 'refused', refusal: { code: 'ELINKOFF', reason: `${l} is a symlink (follow_symlinks = false)` } });
    expect(await look(target, off)).toMatchObject({ kind: 'file' });
  });

  it('never a target under /proc, /sys or /dev, through a link or named directly, even when allow_targets matches', async () => {
    const d = tempDir();
    const everything = follow({ allow_targets: ['/**'] });
    for (const policy of [follow(), everything]) {
      const proc = await look(link(d, `proc-${policy === everything}.log`, '/proc/self/status'), policy);
      expect(proc).toMatchObject({ kind: 'refused', refusal: { code: 'ESPECIALFS', reason: expect.stringMatching(/^target \/proc\/\d+\/status is under \/proc$/) } });
      const sys = await look(link(d, `sys-${policy === everything}.log`, SYS_FILE), policy);
      expect(sys).toEqual({ kind: 'refused', refusal: { code: 'ESPECIALFS', reason: `target ${realpathSync(SYS_FILE)} is under /sys` } });
      const dev = await look(link(d, `null-${policy === everything}.log`, '/dev/null'), policy);
      expect(dev).toEqual({ kind: 'refused', refusal: { code: 'ESPECIALFS', reason: 'target /dev/null is under /dev' } });
      // named directly (a regular file to stat, but under /proc by its real path), also through a linked directory
      expect(await look('/proc/self/status', policy)).toMatchObject({ kind: 'refused', refusal: { code: 'ESPECIALFS' } });
      const procDir = join(d, `procdir-${policy === everything}`);
      symlinkSync('/proc/self', procDir);
      expect(await look(join(procDir, 'status'), policy)).toMatchObject({ kind: 'refused', refusal: { code: 'ESPECIALFS' } });
    }
  });

  it('refuses a FIFO matched directly or through a link, and a link to a directory: not regular files', async () => {
    const d = tempDir();
    const fifo = join(d, 'pipe.log');
    execFileSync('mkfifo', [fifo]);
    mkdirSync(join(d, 'dir'));
    expect(await look(fifo)).toEqual({ kind: 'refused', refusal: { code: 'ENOTREG', reason: `${fifo} is a FIFO, not a regular file` } });
    expect(await look(link(d, 'to-pipe.log', fifo))).toEqual({ kind: 'refused', refusal: { code: 'ENOTREG', reason: `${fifo} is a FIFO, not a regular file` } });
    expect(await look(link(d, 'to-dir.log', join(d, 'dir')))).toEqual({
      kind: 'refused', refusal: { code: 'ENOTREG', reason: `${join(d, 'dir')} is a directory, not a regular file` },
    });
  });

  it('allow_targets admits only links whose real target matches (relative globs from cwd), and then ignores ownership', async () => {
    const d = tempDir();
    const inPods = file(d, 'pods/a/0.log', 1234);
    const elsewhere = file(d, 'etc/secret');
    const policy = follow({ allow_targets: ['pods/**/*.log'] }, d);
    // the link is 4321's, the target 1234's: the ownership rule would refuse it, the glob admits it
    const ok = link(d, 'ok.log', inPods, 4321);
    expect(await look(ok, policy)).toMatchObject({ kind: 'file', file: { real: inPods, viaLink: true } });
    const bad = link(d, 'bad.log', elsewhere);
    expect(await look(bad, policy)).toEqual({ kind: 'refused', refusal: { code: 'ENOTALLOWED', reason: `symlink target ${elsewhere} is not in allow_targets` } });
    // a link through the allowed directory's parent still resolves outside
    const sneaky = link(d, 'sneaky.log', join(d, 'pods/../etc/secret'));
    expect(await look(sneaky, policy)).toMatchObject({ kind: 'refused', refusal: { code: 'ENOTALLOWED' } });
  });

  it('ownership rule: a link owned by another uid to a root-owned file is refused; owned by root, the target\'s owner or Sluice\'s uid it is followed', async () => {
    const d = tempDir();
    const rootFile = file(d, 'root.log');
    const usersFile = file(d, 'user.log', 1234);
    const planted = link(d, 'planted.log', rootFile, 1234);
    expect(await look(planted)).toEqual({
      kind: 'refused',
      refusal: { code: 'ELINKTARGET', reason: `symlink target ${rootFile} is owned by uid 0 but the link by uid 1234` },
    });
    // the same link given to the target's owner (root)
    lchownSync(planted, 0, 0);
    expect(await look(planted)).toMatchObject({ kind: 'file', file: { real: rootFile } });
    // a user's link to their own file (neither root nor Sluice's uid: only the target-owner clause admits it)
    expect(await look(link(d, 'own.log', usersFile, 1234))).toMatchObject({ kind: 'file', file: { real: usersFile } });
    // Sluice's own uid (the tests run as root: pretend Sluice runs as 5678)
    const asSluice = { ...follow(), uid: 5678 };
    expect(await look(link(d, 'sluice.log', rootFile, 5678), asSluice)).toMatchObject({ kind: 'file', file: { real: rootFile } });
    expect(await look(link(d, 'other.log', rootFile, 5679), asSluice)).toMatchObject({ kind: 'refused', refusal: { code: 'ELINKTARGET' } });
  });

  it('the rule is on the final target of a chain of links, and on the link the glob matched', async () => {
    const d = tempDir();
    const rootFile = file(d, 'root.log');
    // a root-owned link to a root file, and a user's link to that link: the user's link decides
    const middle = link(d, 'middle', rootFile, 0);
    expect(await look(link(d, 'chain.log', middle, 1234))).toEqual({
      kind: 'refused',
      refusal: { code: 'ELINKTARGET', reason: `symlink target ${rootFile} is owned by uid 0 but the link by uid 1234` },
    });
  });
});

describe('verifyOpened (time of check vs time of use)', () => {
  const checked: FoundFile = { path: '/logs/app.log', real: '/pods/a/0.log', viaLink: true, dev: '2049', ino: '77', size: 10 };

  it('admits the descriptor of the inode the scan checked', () => {
    expect(verifyOpened(checked, { dev: '2049', ino: '77' }, '/pods/a/0.log', follow())).toBeNull();
    expect(verifyOpened(checked, { dev: '2049', ino: '77' }, null, follow())).toBeNull();
  });

  it('refuses another inode at the checked path (swapped between scan and open)', () => {
    expect(verifyOpened(checked, { dev: '2049', ino: '78' }, '/pods/a/0.log', follow())).toEqual({
      code: 'ESWAPPED', reason: '/pods/a/0.log changed between check and open (checked 2049:77, opened 2049:78)',
    });
    expect(verifyOpened(checked, { dev: '9', ino: '77' }, null, follow())).toMatchObject({ code: 'ESWAPPED' });
  });

  it('refuses a descriptor whose path now breaks the path rules (a directory on the way swapped for a link)', () => {
    expect(verifyOpened(checked, { dev: '2049', ino: '77' }, '/proc/1/environ', follow())).toEqual({
      code: 'ESWAPPED', reason: '/pods/a/0.log was /proc/1/environ when opened: target /proc/1/environ is under /proc',
    });
    const pods = follow({ allow_targets: ['/pods/**'] });
    expect(verifyOpened(checked, { dev: '2049', ino: '77' }, '/etc/shadow', pods)).toMatchObject({ code: 'ESWAPPED', reason: expect.stringContaining('not in allow_targets') });
  });

  it('a tailer tells the path of its descriptor, and does not open a real path that became a link (O_NOFOLLOW)', async () => {
    const d = tempDir();
    const cfg = fileSourceSchema.parse({ name: 'x', type: 'file', paths: [d] });
    const f = file(d, 'a.log');
    const t = await FileTailer.open({ path: f, real: f, viaLink: false }, cfg, newCounters());
    expect(await t.openedPath()).toBe(f);
    await t.close();
    // the checked real path is now a link (to a root-owned file the rule would refuse): not followed
    const swapped = link(d, 'b.log', f);
    await expect(FileTailer.open({ path: swapped, real: swapped, viaLink: false }, cfg, newCounters())).rejects.toMatchObject({ code: 'ELOOP' });
  });
});
