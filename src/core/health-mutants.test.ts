/**
 * Health and problemOf at their edges (mutation testing): the state a
 * component starts in, which set() calls are reported (a new state; the same
 * failing state with another code or message; never a repeat or a missing
 * problem), state_since moving only with the state, the event's shape, no
 * observer, recover() from each state, a note's optional parts, and
 * problemOf's code pattern and message bounds.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { COMPONENT_STATES, Health, problemOf, type HealthEvent } from './health.js';

afterEach(() => {
  vi.useRealTimers();
});

function watched() {
  const h = new Health('source', 'app', 'file');
  const events: HealthEvent[] = [];
  h.observe((who, e) => {
    expect(who).toBe(h);
    events.push(e);
  });
  return { h, events };
}

describe('Health', () => {
  it('starts stopped, without an error, since its creation', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 2, 3, 4, 5, 6), toFake: ['Date'] });
    const h = new Health('sink', 'out', 'tcp');
    expect([h.kind, h.name, h.type]).toEqual(['sink', 'out', 'tcp']);
    expect(h.state).toBe('stopped');
    expect(h.lastError).toBeNull();
    expect(h.view()).toEqual({ state: 'stopped', state_since: '2026-01-02T03:04:05.006Z', last_error: null });
  });

  it('state_since moves when the state changes, not when a problem changes within it', () => {
    vi.useFakeTimers({ now: 1_000, toFake: ['Date'] });
    const { h } = watched();
    vi.setSystemTime(2_000);
    h.set('error', { code: 'A', message: 'a' });
    expect(h.view().state_since).toBe(new Date(2_000).toISOString());
    vi.setSystemTime(3_000);
    h.set('error', { code: 'B', message: 'b' });
    expect(h.view()).toEqual({ state: 'error', state_since: new Date(2_000).toISOString(), last_error: { code: 'B', message: 'b', at: new Date(3_000).toISOString() } });
    vi.setSystemTime(4_000);
    h.set('error', { code: 'B', message: 'b' }); // not reported, but the error's time is now
    expect(h.lastError).toEqual({ code: 'B', message: 'b', at: new Date(4_000).toISOString() });
  });

  it('reports a new state, or the same one with another code or another message; not a repeat, not a missing problem', () => {
    const { h, events } = watched();
    h.set('stopped'); // the state it is in
    expect(events).toEqual([]);
    h.set('error', { code: 'E1', message: 'm' });
    h.set('error', { code: 'E1', message: 'm' });
    h.set('error'); // no problem given: the same as far as the log goes
    h.set('error', { code: 'E2', message: 'm' });
    h.set('error', { code: 'E2', message: 'other' });
    h.set('running');
    h.set('running');
    expect(events).toEqual([
      { type: 'state', from: 'stopped', to: 'error', problem: { code: 'E1', message: 'm' } },
      { type: 'state', from: 'error', to: 'error', problem: { code: 'E2', message: 'm' } },
      { type: 'state', from: 'error', to: 'error', problem: { code: 'E2', message: 'other' } },
      { type: 'state', from: 'error', to: 'running' },
    ]);
    expect(events[3]).not.toHaveProperty('problem');
    expect(h.lastError).toMatchObject({ code: 'E2', message: 'other' }); // kept after recovery
  });

  it('a first problem in the state it is in is reported (there was no last error to compare with)', () => {
    const { h, events } = watched();
    h.set('stopped', { code: 'E', message: 'm' });
    expect(events).toEqual([{ type: 'state', from: 'stopped', to: 'stopped', problem: { code: 'E', message: 'm' } }]);
  });

  it('without an observer, or after it is taken away, changes still happen', () => {
    const h = new Health('source', 'a', 'file');
    h.set('running');
    expect(h.state).toBe('running');
    const { events } = watched();
    const w = new Health('source', 'b', 'file');
    w.observe((_who, e) => events.push(e));
    w.observe(undefined);
    w.set('error', { code: 'E', message: 'm' });
    w.note('x', 'y');
    expect(events).toEqual([]);
    expect(w.state).toBe('error');
  });

  it('recover() moves to running from degraded and error only', () => {
    for (const from of COMPONENT_STATES) {
      const { h, events } = watched();
      h.set(from);
      events.length = 0;
      h.recover();
      expect([from, h.state]).toEqual([from, from === 'degraded' || from === 'error' ? 'running' : from]);
      expect(events).toEqual(from === 'degraded' || from === 'error' ? [{ type: 'state', from, to: 'running' }] : []);
    }
  });

  it('a note carries fields and level only when given', () => {
    const { h, events } = watched();
    h.note('file_opened', 'reading /a');
    h.note('file_opened', 'reading /b', { path: '/b' });
    h.note('file_refused', 'not /c', undefined, 'warn');
    expect(events).toEqual([
      { type: 'note', event: 'file_opened', msg: 'reading /a' },
      { type: 'note', event: 'file_opened', msg: 'reading /b', fields: { path: '/b' } },
      { type: 'note', event: 'file_refused', msg: 'not /c', level: 'warn' },
    ]);
    expect(Object.keys(events[0]!)).toEqual(['type', 'event', 'msg']);
    expect(Object.keys(events[2]!)).toEqual(['type', 'event', 'msg', 'level']);
  });
});

describe('problemOf', () => {
  it('an errno-like code of 1 to 64 word characters is kept; anything else gives the fallback', () => {
    expect(problemOf({ code: 'a'.repeat(64), message: 'm' }).code).toBe('a'.repeat(64));
    expect(problemOf({ code: 'a'.repeat(65), message: 'm' }).code).toBe('error');
    expect(problemOf({ code: '', message: 'm' }).code).toBe('error');
    expect(problemOf({ code: 'http_503', message: 'm' }).code).toBe('http_503');
    expect(problemOf({ code: 'x\nENOENT', message: 'm' }, 'fb').code).toBe('fb');
    expect(problemOf({ code: 'ENOENT\n', message: 'm' }, 'fb').code).toBe('fb');
    expect(problemOf({ code: 5, message: 'm' }, 'fb').code).toBe('fb');
  });

  it('the message, or the value as text when there is none; at most 500 characters and an ellipsis', () => {
    expect(problemOf(null)).toEqual({ code: 'error', message: 'null' });
    expect(problemOf(undefined)).toEqual({ code: 'error', message: 'undefined' });
    expect(problemOf('a string')).toEqual({ code: 'error', message: 'a string' });
    expect(problemOf({ message: '' }).message).toBe('[object Object]');
    expect(problemOf({ message: 42 }).message).toBe('[object Object]');
    expect(problemOf(new Error('x'.repeat(500))).message).toBe('x'.repeat(500));
    expect(problemOf(new Error('x'.repeat(501))).message).toBe('x'.repeat(500) + '…');
  });
});
