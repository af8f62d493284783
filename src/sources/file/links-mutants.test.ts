/**
 * The link rules' edges that mutation testing found untested (`npm run
 * mutate`): every kind of non-regular file named, errors other than ENOENT
 * reported with their code, the special roots matched as whole path
 * components, allow_targets only for links (and matching dot files), and the
 * policy's defaults. Run as root (mknod), as the test machine does.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, lchownSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LINK_POLICY, inspect, linkPolicy, swappedAtOpen, verifyOpened, type FoundFile, type LinkPolicy, type Verdict } from './links.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = realpathSync(mkdtempSync(join(tmpdir(), 'sluice-links-m-')));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const follow = (over: Partial<{ follow_symlinks: boolean; allow_targets: string[] }> = {}, cwd?: string): LinkPolicy =>
  linkPolicy({ follow_symlinks: true, allow_targets: [], ...over }, cwd);

const look = (path: string, policy: LinkPolicy = follow()): Promise<Verdict> => inspect(path, policy, (d) => realpath(d));

describe('inspect, what is not a regular file', () => {
  it('names a socket and a device outside /dev', async () => {
    const d = tempDir();
    const sock = join(d, 'app.sock');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    expect(await look(sock)).toEqual({ kind: 'refused', refusal: { code: 'ENOTREG', reason: `${sock} is a socket, not a regular file` } });
    const dev = join(d, 'null.log');
    execFileSync('mknod', [dev, 'c', '1', '3']);
    expect(await look(dev)).toEqual({ kind: 'refused', refusal: { code: 'ENOTREG', reason: `${dev} is a device, not a regular file` } });
    const blk = join(d, 'loop.log');
    execFileSync('mknod', [blk, 'b', '7', '200']);
    expect(await look(blk)).toEqual({ kind: 'refused', refusal: { code: 'ENOTREG', reason: `${blk} is a device, not a regular file` } });
  });

  it('/proc itself is under /proc (the root, not only what is below it)', async () => {
    expect(await look('/proc')).toEqual({ kind: 'refused', refusal: { code: 'ESPECIALFS', reason: 'target /proc is under /proc' } });
  });
});

describe('inspect, errors', () => {
  it('a vanished path or a dangling link is nothing; other errors are reported with their code', async () => {
    const d = tempDir();
    expect(await look(join(d, 'gone.log'))).toEqual({ kind: 'none' });
    symlinkSync(join(d, 'nowhere'), join(d, 'dangling.log'));
    expect(await look(join(d, 'dangling.log'))).toEqual({ kind: 'none' });
    writeFileSync(join(d, 'file'), 'x');
    expect(await look(join(d, 'file', 'x.log'))).toEqual({ kind: 'error', code: 'ENOTDIR' });
    symlinkSync(join(d, 'loop-b'), join(d, 'loop-a'));
    symlinkSync(join(d, 'loop-a'), join(d, 'loop-b'));
    expect(await look(join(d, 'loop-a'))).toEqual({ kind: 'error', code: 'ELOOP' });
  });

  it('an error without a code is EUNKNOWN', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'a.log'), 'x');
    const v = await inspect(join(d, 'a.log'), follow(), () => Promise.reject(new Error('no code')));
    expect(v).toEqual({ kind: 'error', code: 'EUNKNOWN' });
    expect(await inspect(join(d, 'a.log'), follow(), () => Promise.reject(undefined))).toEqual({ kind: 'error', code: 'EUNKNOWN' });
  });
});

describe('ownership rule', () => {
  it('a root-owned link is followed to anyone\'s file, also when Sluice does not run as root', async () => {
    const d = tempDir();
    const usersFile = join(d, 'user.log');
    writeFileSync(usersFile, 'x');
    chownSync(usersFile, 1234, 1234);
    const l = join(d, 'kubelet.log');
    symlinkSync(usersFile, l);
    lchownSync(l, 0, 0);
    const asSluice = { ...follow(), uid: 5678 };
    expect(await look(l, asSluice)).toMatchObject({ kind: 'file', file: { real: usersFile, viaLink: true } });
  });
});

describe('allow_targets', () => {
  it('applies to links only: a plain file outside it is still read', async () => {
    const d = tempDir();
    const plain = join(d, 'plain.log');
    writeFileSync(plain, 'x');
    const policy = follow({ allow_targets: ['/nowhere/**'] });
    expect(await look(plain, policy)).toMatchObject({ kind: 'file', file: { real: plain, viaLink: false } });
    symlinkSync(plain, join(d, 'l.log'));
    expect(await look(join(d, 'l.log'), policy)).toMatchObject({ kind: 'refused', refusal: { code: 'ENOTALLOWED' } });
  });

  it('matches dot files and dot directories, relative globs from the process cwd by default', () => {
    const p = follow({ allow_targets: ['/pods/**'] });
    expect(p.allowed!('/pods/.hidden/0.log')).toBe(true);
    expect(p.allowed!('/pods/a/.0.log')).toBe(true);
    expect(p.allowed!('/other/a.log')).toBe(false);
    const rel = follow({ allow_targets: ['logs/*.log'] });
    expect(rel.allowed!(join(process.cwd(), 'logs/a.log'))).toBe(true);
    expect(rel.allowed!('/logs/a.log')).toBe(false);
  });

  it('the policy: follow as configured, no matcher without allow_targets, the process uid', () => {
    expect(follow({ follow_symlinks: false })).toEqual({ follow: false, allowed: null, uid: process.getuid!() });
    expect(follow().follow).toBe(true);
    expect(DEFAULT_LINK_POLICY).toEqual({ follow: true, allowed: null, uid: process.getuid!() });
  });
});

describe('verifyOpened and swappedAtOpen', () => {
  const plain: FoundFile = { path: '/logs/app.log', real: '/logs/app.log', viaLink: false, dev: '2049', ino: '77', size: 10 };

  it('a special root is a whole path component: /procx is not /proc', () => {
    expect(verifyOpened(plain, { dev: '2049', ino: '77' }, '/procx/a.log', follow())).toBeNull();
    expect(verifyOpened(plain, { dev: '2049', ino: '77' }, '/devices.log', follow())).toBeNull();
    expect(verifyOpened(plain, { dev: '2049', ino: '77' }, '/sys', follow())).toMatchObject({ code: 'ESWAPPED' });
  });

  it('allow_targets does not apply to a file not reached through a link', () => {
    expect(verifyOpened(plain, { dev: '2049', ino: '77' }, '/etc/a.log', follow({ allow_targets: ['/pods/**'] }))).toBeNull();
    expect(verifyOpened({ ...plain, viaLink: true }, { dev: '2049', ino: '77' }, '/etc/a.log', follow({ allow_targets: ['/pods/**'] }))).toMatchObject({ code: 'ESWAPPED' });
  });

  it('another device with the same inode number is another file', () => {
    expect(verifyOpened(plain, { dev: '2050', ino: '77' }, null, follow())).toEqual({
      code: 'ESWAPPED', reason: '/logs/app.log changed between check and open (checked 2049:77, opened 2050:77)',
    });
  });

  it('swappedAtOpen names the file and the open\'s error', () => {
    expect(swappedAtOpen(plain, 'ELOOP')).toEqual({ code: 'ESWAPPED', reason: '/logs/app.log changed between check and open (ELOOP)' });
  });
});
