import { describe, expect, it } from 'vitest';
import { createLog, prettyLine, RateLimit } from './log.js';

function capture(isTTY = false) {
  const lines: string[] = [];
  return { out: { isTTY, write: (s: string) => lines.push(s) }, lines };
}

describe('the daemon log', () => {
  it('writes one JSON object a line with the level as a word and an ISO time when not on a terminal', () => {
    const c = capture(false);
    const log = createLog({ out: c.out });
    log.info({ component: 'source', name: 'app' }, 'started');
    log.debug('not written at level info');
    expect(c.lines).toHaveLength(1);
    const o = JSON.parse(c.lines[0]!) as Record<string, unknown>;
    expect(o).toMatchObject({ level: 'info', component: 'source', name: 'app', msg: 'started' });
    expect(String(o.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('writes readable lines on a terminal (format auto), and JSON when asked even there', () => {
    const tty = capture(true);
    createLog({ out: tty.out }).warn({ component: 'sink', name: 'central', code: 'ECONNREFUSED' }, 'cannot deliver');
    expect(tty.lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}\[sink central\] cannot deliver code=ECONNREFUSED\n$/);
    const json = capture(true);
    createLog({ out: json.out, format: 'json' }).warn('x');
    expect(JSON.parse(json.lines[0]!)).toMatchObject({ level: 'warn', msg: 'x' });
  });

  it('honours the level, down to silent', () => {
    const c = capture();
    const log = createLog({ out: c.out, level: 'warn' });
    log.info('no');
    log.warn('yes');
    createLog({ out: c.out, level: 'silent' }).fatal('never');
    expect(c.lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['yes']);
  });

  it('censors secret-looking keys should one reach an object, at the top and one level down', () => {
    const c = capture();
    createLog({ out: c.out }).info({ token: 'tok-0123456789abcdef', cfg: { secret: 's3cr3t-value', url: 'https://hooks.example/T0/B0/XYZ' } }, 'x');
    expect(c.lines[0]).not.toMatch(/tok-0123|s3cr3t|XYZ/);
    expect(JSON.parse(c.lines[0]!)).toMatchObject({ token: '[redacted]', cfg: { secret: '[redacted]', url: '[redacted]' } });
  });

  it('prettyLine quotes values with spaces and passes a line that is not JSON through', () => {
    expect(prettyLine('{"time":"2026-01-01T00:00:00.000Z","level":"info","msg":"m","path":"/a b","n":3}')).toMatch(/ INFO {2}m path="\/a b" n=3\n$/);
    expect(prettyLine('plain\n')).toBe('plain\n');
  });
});

describe('RateLimit', () => {
  it('lets a burst a key through in each window, holds the rest back and reports how many with the next line', () => {
    let now = 0;
    const rl = new RateLimit(3, 1000, () => now);
    expect([rl.take('a'), rl.take('a'), rl.take('a')]).toEqual([0, 0, 0]);
    expect([rl.take('a'), rl.take('a')]).toEqual([-1, -1]);
    expect(rl.take('b')).toBe(0); // keys are apart
    expect(rl.held('a')).toBe(2);
    now = 999;
    expect(rl.take('a')).toBe(-1);
    now = 1000; // a new window: the first line carries the count held back in the last one
    expect(rl.take('a')).toBe(3);
    expect(rl.take('a')).toBe(0);
  });
});
