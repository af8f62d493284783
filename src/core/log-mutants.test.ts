/**
 * The daemon log at its edges (mutation testing): which format auto picks,
 * pretty asked for off a terminal, no pid/hostname, every censored key at the
 * top and one level down, the silent logger; prettyLine's clock, tag, quoting
 * and missing parts; RateLimit's defaults and window edge.
 */
import { describe, expect, it } from 'vitest';
import { createLog, prettyLine, RateLimit, silentLog } from './log.js';

function capture(isTTY?: boolean) {
  const lines: string[] = [];
  return { out: { ...(isTTY === undefined ? {} : { isTTY }), write: (s: string) => lines.push(s) }, lines };
}
const PRETTY = /^\d\d:\d\d:\d\d\.\d{3} INFO {2}m\n$/;

describe('createLog', () => {
  it('auto is JSON unless the output says it is a terminal; pretty and json win over it', () => {
    for (const [isTTY, format, pretty] of [
      [undefined, undefined, false],
      [false, 'auto', false],
      [true, 'auto', true],
      [true, undefined, true],
      [false, 'pretty', true],
      [undefined, 'pretty', true],
      [true, 'json', false],
    ] as const) {
      const c = capture(isTTY);
      createLog({ out: c.out, ...(format ? { format } : {}) }).info('m');
      expect(c.lines[0], `${String(isTTY)} ${String(format)}`).toMatch(pretty ? PRETTY : /^\{"level":"info","time":"[^"]+","msg":"m"\}\n$/);
    }
  });

  it('writes to stderr by default, at info', () => {
    const writes: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (writes.push(s), true)) as typeof process.stderr.write;
    try {
      const log = createLog({ format: 'json' });
      log.debug('no');
      log.info('to stderr');
    } finally {
      process.stderr.write = orig;
    }
    expect(writes.map((w) => (JSON.parse(w) as { msg: string }).msg)).toEqual(['to stderr']);
  });

  it('censors every secret-looking key, top level and one down', () => {
    const keys = ['token', 'admin_token', 'viewer_token', 'secret', 'password', 'authorization', 'url', 'headers'];
    const c = capture();
    const top = Object.fromEntries(keys.map((k) => [k, `v-${k}`]));
    createLog({ out: c.out }).info({ ...top, nested: { ...top }, keep: 'visible' }, 'x');
    const o = JSON.parse(c.lines[0]!) as Record<string, unknown>;
    const redacted = Object.fromEntries(keys.map((k) => [k, '[redacted]']));
    expect(o).toEqual({ level: 'info', time: expect.any(String), msg: 'x', keep: 'visible', ...redacted, nested: redacted });
  });

  it('the silent logger writes nothing, at any level', () => {
    expect(silentLog.level).toBe('silent');
    expect(silentLog.isLevelEnabled('fatal')).toBe(false);
  });
});

describe('prettyLine', () => {
  const at = new Date(2026, 0, 2, 3, 4, 5, 6); // local time: the clock is shown in the terminal's zone
  const line = (o: Record<string, unknown>) => prettyLine(JSON.stringify({ time: at.toISOString(), level: 'info', ...o }));

  it('the local clock with zero padding, the level padded to five, then the message', () => {
    expect(line({ msg: 'hello' })).toBe('03:04:05.006 INFO  hello\n');
    const late = new Date(2026, 0, 2, 13, 14, 15, 160);
    expect(prettyLine(JSON.stringify({ time: late.toISOString(), level: 'error', msg: 'm' }))).toBe('13:14:15.160 ERROR m\n');
    expect(prettyLine(JSON.stringify({ time: new Date(2026, 0, 2, 10, 0, 9, 45).toISOString(), level: 'warn', msg: 'm' }))).toBe('10:00:09.045 WARN  m\n');
  });

  it('a line without a time gets the current one', () => {
    const before = new Date();
    const out = prettyLine(JSON.stringify({ level: 'info', msg: 'm' }));
    expect(out).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}m\n$/);
    // the hour shown is the hour now (or the next, should it just have turned)
    const h = Number(out.slice(0, 2));
    expect([before.getHours(), (before.getHours() + 1) % 24]).toContain(h);
  });

  it('tags with component and name, component alone, or nothing; no tag when the message starts with it', () => {
    expect(line({ msg: 'm', component: 'source', name: 'app' })).toBe('03:04:05.006 INFO  [source app] m\n');
    expect(line({ msg: 'm', component: 'api' })).toBe('03:04:05.006 INFO  [api] m\n');
    expect(line({ msg: 'm', name: 'app' })).toBe('03:04:05.006 INFO  m\n');
    expect(line({ msg: 'source app: running', component: 'source', name: 'app' })).toBe('03:04:05.006 INFO  source app: running\n');
    expect(line({ component: 'source', name: 'app' })).toBe('03:04:05.006 INFO  [source app] \n');
  });

  it('fields after the message: plain words bare, anything with a blank, quote or = (and non-strings) as JSON', () => {
    expect(line({ msg: 'm', a: 'word', b: 'two words', c: 'x=y', d: 'say "hi"', e: 'tab\there', f: 3, g: null, h: { k: 1 }, i: '', j: [1, 2] })).toBe(
      '03:04:05.006 INFO  m a=word b="two words" c="x=y" d="say \\"hi\\"" e="tab\\there" f=3 g=null h={"k":1} i= j=[1,2]\n',
    );
  });

  it('a line that is not JSON passes through', () => {
    expect(prettyLine('{not json')).toBe('{not json');
  });
});

describe('RateLimit', () => {
  it('by default: five lines a key, a new window after a minute exactly', () => {
    let now = 0;
    const rl = new RateLimit(undefined, undefined, () => now);
    expect(Array.from({ length: 7 }, () => rl.take('k'))).toEqual([0, 0, 0, 0, 0, -1, -1]);
    now = 59_999;
    expect(rl.take('k')).toBe(-1);
    now = 60_000;
    expect(rl.take('k')).toBe(3);
    expect(rl.held('k')).toBe(0);
    expect(rl.held('never')).toBe(0);
  });

  it('the count held back is reported once, by the first line let through', () => {
    let now = 0;
    const rl = new RateLimit(1, 10, () => now);
    expect(rl.take('k')).toBe(0);
    expect(rl.take('k')).toBe(-1);
    expect(rl.held('k')).toBe(1);
    now = 10;
    expect(rl.take('k')).toBe(1);
    expect(rl.take('k')).toBe(-1);
    now = 25; // past the window: nothing was held since (one was, and it is reported)
    expect(rl.take('k')).toBe(1);
    now = 40;
    expect(rl.take('k')).toBe(0);
  });

  it('uses the clock it is given by default (Date.now)', () => {
    const rl = new RateLimit(1, 60_000);
    expect(rl.take('k')).toBe(0);
    expect(rl.take('k')).toBe(-1);
  });
});
