import { describe, expect, it } from 'vitest';
import { createLog, RateLimit } from './log.js';
import { Health, problemOf } from './health.js';
import { RECENT_ERRORS, Reporter } from './reporter.js';

function setup(burst = 5) {
  const lines: Record<string, unknown>[] = [];
  const log = createLog({ out: { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) }, format: 'json' });
  let now = 0;
  const reporter = new Reporter(log, new RateLimit(burst, 60_000, () => now));
  const h = new Health('source', 'dock', 'docker');
  h.observe(reporter.observe);
  return { lines, reporter, h, tick: (ms: number) => (now += ms) };
}

describe('Health', () => {
  it('reports a change of state once, and a new problem in the same state, not a repeat', () => {
    const { h, lines } = setup();
    h.set('starting');
    h.set('error', { code: 'ENOENT', message: 'no such socket' });
    h.set('error', { code: 'ENOENT', message: 'no such socket' }); // the same: no line
    h.set('error', { code: 'EACCES', message: 'permission denied' });
    expect(lines.map((l) => [l.level, l.state, l.code ?? null])).toEqual([
      ['info', 'starting', null],
      ['error', 'error', 'ENOENT'],
      ['error', 'error', 'EACCES'],
    ]);
    expect(h.view()).toMatchObject({ state: 'error', last_error: { code: 'EACCES', message: 'permission denied' } });
  });

  it('recover() returns to running only from degraded or error, and keeps the last error for the operator', () => {
    const { h, lines } = setup();
    h.set('running');
    h.recover();
    expect(lines).toHaveLength(1);
    h.set('degraded', { code: 'EACCES', message: 'cannot open /var/log/x' });
    h.recover();
    expect(lines.at(-1)).toMatchObject({ level: 'info', state: 'running', from: 'degraded', msg: 'source dock: recovered' });
    expect(h.view()).toMatchObject({ state: 'running', last_error: { code: 'EACCES' } });
  });

  it('problemOf keeps an errno code and falls back for anything else', () => {
    expect(problemOf(Object.assign(new Error('connect ENOENT /x'), { code: 'ENOENT' }))).toEqual({ code: 'ENOENT', message: 'connect ENOENT /x' });
    expect(problemOf(new Error('boom'), 'failed')).toEqual({ code: 'failed', message: 'boom' });
    expect(problemOf({ code: 'has spaces', message: 'm' }).code).toBe('error');
  });
});

describe('Reporter', () => {
  it('rate-limits a flapping component: a burst of lines, then the count held back on the next', () => {
    const { h, lines, tick } = setup(4);
    for (let i = 0; i < 10; i++) {
      h.set('running');
      h.set('error', { code: 'ECONNREFUSED', message: 'refused' });
    }
    expect(lines).toHaveLength(4);
    tick(60_000);
    h.set('running');
    expect(lines.at(-1)).toMatchObject({ state: 'running', suppressed: 16 });
  });

  it('remembers every failure (even those held back from the log), newest last and at most RECENT_ERRORS', () => {
    const { h, reporter } = setup(1);
    for (let i = 0; i < RECENT_ERRORS + 7; i++) h.set('degraded', { code: 'E', message: `m${i}` });
    const recent = reporter.recent();
    expect(recent).toHaveLength(RECENT_ERRORS);
    expect(recent.at(-1)).toMatchObject({ component: 'source dock', code: 'E', message: `m${RECENT_ERRORS + 6}` });
    expect(recent[0]!.message).toBe('m7');
  });

  it('notes go to the log under their own key, warn when asked', () => {
    const { h, lines } = setup(2);
    for (let i = 0; i < 3; i++) h.note('file_opened', `reading /a/${i}`, { path: `/a/${i}` });
    h.note('file_refused', 'not reading /a/fifo', { path: '/a/fifo' }, 'warn');
    expect(lines.map((l) => [l.level, l.event, l.path])).toEqual([
      ['info', 'file_opened', '/a/0'],
      ['info', 'file_opened', '/a/1'],
      ['warn', 'file_refused', '/a/fifo'],
    ]);
  });

  it('failure(): a line a failure within the burst, remembered either way', () => {
    const { reporter, lines } = setup(2);
    for (let i = 0; i < 5; i++) reporter.failure('trigger/1', 'trigger 1 (pager)', 'ECONNREFUSED', `delivery d${i} failed`);
    expect(lines.map((l) => l.msg)).toEqual(['trigger 1 (pager): delivery d0 failed', 'trigger 1 (pager): delivery d1 failed']);
    expect(reporter.recent()).toHaveLength(5);
  });
});
