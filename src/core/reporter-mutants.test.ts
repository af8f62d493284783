/**
 * The Reporter at its edges (mutation testing): the words and level of a
 * state line (recovered only into running from a failure), a problem in a
 * state that is not failing logged but not remembered, notes and failures
 * with their fields and the count held back, the default rate limit, and the
 * recent list handed out as a copy.
 */
import { describe, expect, it } from 'vitest';
import { Health } from './health.js';
import { createLog, RateLimit } from './log.js';
import { Reporter } from './reporter.js';

function setup(burst = 5, limit?: 'default') {
  const lines: Record<string, unknown>[] = [];
  const log = createLog({ out: { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) }, format: 'json', level: 'trace' });
  let now = 0;
  const reporter = limit === 'default' ? new Reporter(log) : new Reporter(log, new RateLimit(burst, 60_000, () => now));
  const h = new Health('sink', 'central', 'forward');
  h.observe(reporter.observe);
  /** The line without its time (which changes). */
  const last = () => {
    const { time: _t, ...rest } = lines.at(-1)!;
    return rest;
  };
  return { lines, reporter, h, last, tick: (ms: number) => (now += ms) };
}

describe('Reporter: state lines', () => {
  it('error at error, degraded at warn, anything else at info, with the state, where from and the code', () => {
    const { h, last } = setup();
    h.set('starting');
    expect(last()).toEqual({ level: 'info', component: 'sink', name: 'central', type: 'forward', state: 'starting', from: 'stopped', msg: 'sink central: starting' });
    h.set('error', { code: 'ECONNREFUSED', message: 'refused' });
    expect(last()).toEqual({ level: 'error', component: 'sink', name: 'central', type: 'forward', state: 'error', from: 'starting', code: 'ECONNREFUSED', msg: 'sink central: error: refused' });
    h.set('degraded', { code: 'http_503', message: 'unavailable' });
    expect(last()).toEqual({ level: 'warn', component: 'sink', name: 'central', type: 'forward', state: 'degraded', from: 'error', code: 'http_503', msg: 'sink central: degraded: unavailable' });
  });

  it('"recovered" only for running after error or degraded; other moves out of a failure say the state', () => {
    const { h, last } = setup(100);
    h.set('error', { code: 'E', message: 'm' });
    h.set('running');
    expect(last()).toMatchObject({ level: 'info', state: 'running', from: 'error', msg: 'sink central: recovered' });
    h.set('degraded', { code: 'E', message: 'm' });
    h.set('stopped');
    expect(last()).toMatchObject({ level: 'info', state: 'stopped', from: 'degraded', msg: 'sink central: stopped' });
    h.set('starting');
    h.set('running');
    expect(last()).toMatchObject({ msg: 'sink central: running', from: 'starting' });
    h.set('degraded', { code: 'E', message: 'm' });
    h.set('error', { code: 'E2', message: 'worse' });
    expect(last()).toMatchObject({ level: 'error', msg: 'sink central: error: worse', from: 'degraded' });
  });

  it('a problem given with a state that is not failing is logged with its code, not remembered', () => {
    const { h, last, reporter } = setup();
    h.set('running', { code: 'EPIPE', message: 'reconnected after a broken pipe' });
    expect(last()).toMatchObject({ level: 'info', state: 'running', code: 'EPIPE', msg: 'sink central: running: reconnected after a broken pipe' });
    expect(reporter.recent()).toEqual([]);
    h.set('error'); // failing without a problem: nothing to remember either
    expect(reporter.recent()).toEqual([]);
    expect(last()).not.toHaveProperty('code');
  });

  it('a failure is remembered with the time, the component, code and message', () => {
    const { h, reporter } = setup();
    h.set('error', { code: 'ENOENT', message: 'no socket' });
    h.set('degraded', { code: 'EACCES', message: 'denied' });
    const recent = reporter.recent();
    expect(recent.map(({ at: _a, ...r }) => r)).toEqual([
      { component: 'sink central', code: 'ENOENT', message: 'no socket' },
      { component: 'sink central', code: 'EACCES', message: 'denied' },
    ]);
    expect(recent[0]!.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    recent.length = 0; // a copy
    expect(reporter.recent()).toHaveLength(2);
  });

  it('state lines held back are counted on the next one; notes have their own budget', () => {
    const { h, lines, tick } = setup(2);
    h.set('starting');
    h.set('running');
    h.set('starting'); // held
    h.note('connected', 'connected to central'); // its own key: let through
    expect(lines.map((l) => l.msg)).toEqual(['sink central: starting', 'sink central: running', 'connected to central']);
    expect(lines[1]).not.toHaveProperty('suppressed');
    tick(60_000);
    h.set('running');
    expect(lines.at(-1)).toMatchObject({ msg: 'sink central: running', suppressed: 1 });
  });
});

describe('Reporter: notes and failures', () => {
  it('a note: its event and fields at info, or warn when asked; what was held back counted on the next', () => {
    const { h, last, lines, tick } = setup(1);
    h.note('file_opened', 'reading /a', { path: '/a', size: 3 });
    expect(last()).toEqual({ level: 'info', component: 'sink', name: 'central', type: 'forward', event: 'file_opened', path: '/a', size: 3, msg: 'reading /a' });
    h.note('file_opened', 'reading /b', { path: '/b' }); // held
    h.note('file_opened', 'reading /c'); // held
    expect(lines).toHaveLength(1);
    tick(60_000);
    h.note('file_opened', 'reading /d', undefined, 'warn');
    expect(last()).toEqual({ level: 'warn', component: 'sink', name: 'central', type: 'forward', event: 'file_opened', suppressed: 2, msg: 'reading /d' });
  });

  it('state lines of two components do not share a budget', () => {
    const { h, lines, reporter } = setup(1);
    const other = new Health('source', 'app', 'file');
    other.observe(reporter.observe);
    h.set('starting');
    other.set('starting');
    h.set('running'); // held
    expect(lines.map((l) => [l.component, l.state])).toEqual([['sink', 'starting'], ['source', 'starting']]);
  });

  it('notes of two components do not share a budget', () => {
    const { h, lines, reporter } = setup(1);
    const other = new Health('source', 'central', 'forward');
    other.observe(reporter.observe);
    h.note('x', 'one');
    other.note('x', 'two');
    h.note('x', 'three'); // held
    expect(lines.map((l) => [l.component, l.msg])).toEqual([['sink', 'one'], ['source', 'two']]);
  });

  it('failure(): warn with its fields and code, the count held back on the next line, remembered every time', () => {
    const { reporter, last, lines, tick } = setup(1);
    reporter.failure('trigger/1', 'trigger 1 (pager)', 'http_500', 'delivery d1 failed', { delivery: 'd1' });
    expect(last()).toEqual({ level: 'warn', delivery: 'd1', code: 'http_500', msg: 'trigger 1 (pager): delivery d1 failed' });
    reporter.failure('trigger/1', 'trigger 1 (pager)', 'http_500', 'delivery d2 failed');
    reporter.failure('trigger/2', 'trigger 2', 'ETIMEDOUT', 'delivery d3 failed'); // another key
    expect(lines).toHaveLength(2);
    tick(60_000);
    reporter.failure('trigger/1', 'trigger 1 (pager)', 'http_500', 'delivery d4 failed');
    expect(last()).toEqual({ level: 'warn', code: 'http_500', suppressed: 1, msg: 'trigger 1 (pager): delivery d4 failed' });
    expect(reporter.recent().map((r) => [r.component, r.code, r.message])).toEqual([
      ['trigger 1 (pager)', 'http_500', 'delivery d1 failed'],
      ['trigger 1 (pager)', 'http_500', 'delivery d2 failed'],
      ['trigger 2', 'ETIMEDOUT', 'delivery d3 failed'],
      ['trigger 1 (pager)', 'http_500', 'delivery d4 failed'],
    ]);
  });

  it('without a RateLimit of its own: five lines a key a minute', () => {
    const { reporter, lines } = setup(0, 'default');
    for (let i = 0; i < 8; i++) reporter.failure('k', 'c', 'E', `m${i}`);
    expect(lines).toHaveLength(5);
  });
});
