/**
 * describeSource, the start-up summary of a source (mutation testing): each
 * part it shows (files and backlog, containers, listeners, a socket's path, a
 * route, the last error only while failing), singular and plural, the list
 * cut after five, and the bare state when there is nothing to say.
 */
import { describe, expect, it } from 'vitest';
import { describeSource } from './describe.js';
import type { SourceStatus } from './pipeline.js';

const status = (extra: Partial<SourceStatus> & Record<string, unknown> = {}): SourceStatus => ({
  name: 'app',
  type: 'file',
  stream: 'app',
  state: 'running',
  state_since: '2026-01-01T00:00:00.000Z',
  last_error: null,
  counters: {},
  ...extra,
});
const file = (p: string, offset: number, size: number) => ({ path: p, offset, size });

describe('describeSource', () => {
  it('nothing to say: the state', () => {
    expect(describeSource(status())).toBe('running');
    expect(describeSource(status({ state: 'starting' }))).toBe('starting');
  });

  it('files: none yet, one, several, the backlog summed over what is unread (never negative)', () => {
    expect(describeSource(status({ files: [] }))).toBe('no file matches its paths yet');
    expect(describeSource(status({ files: [file('/a', 10, 10)] }))).toBe('1 file (/a)');
    expect(describeSource(status({ files: [file('/a', 0, 7)] }))).toBe('1 file (/a), 7 bytes of backlog');
    expect(describeSource(status({ files: [file('/a', 5, 7), file('/b', 10, 3), file('/c', 0, 1)] }))).toBe('3 files (/a, /b, /c), 3 bytes of backlog');
    expect(describeSource(status({ files: [file('/a', 10, 3), file('/b', 0, 1)] }))).toBe('2 files (/a, /b), 1 bytes of backlog');
  });

  it('lists five names, then how many more', () => {
    const five = ['/1', '/2', '/3', '/4', '/5'].map((p) => file(p, 0, 0));
    expect(describeSource(status({ files: five }))).toBe('5 files (/1, /2, /3, /4, /5)');
    const seven = [...five, file('/6', 0, 0), file('/7', 0, 0)];
    expect(describeSource(status({ files: seven }))).toBe('7 files (/1, /2, /3, /4, /5 and 2 more)');
  });

  it('containers: the socket and how many, their names when any', () => {
    expect(describeSource(status({ type: 'docker', socket: '/run/docker.sock', containers: [] }))).toBe('socket /run/docker.sock, 0 containers');
    expect(describeSource(status({ type: 'docker', socket: '/s', containers: [{ name: 'web' }] }))).toBe('socket /s, 1 container (web)');
    expect(describeSource(status({ type: 'docker', socket: '/s', containers: [{ name: 'web' }, { name: 'db' }] }))).toBe('socket /s, 2 containers (web, db)');
  });

  it('listeners with their transport and address, ? while unbound; a socket source its path; an HTTP source its route', () => {
    expect(describeSource(status({ type: 'syslog', listeners: [{ transport: 'udp', address: '0.0.0.0:514' }, { transport: 'tcp', address: null }] }))).toBe('listening on udp 0.0.0.0:514, tcp ?');
    expect(describeSource(status({ type: 'socket', path: '/run/app.sock' }))).toBe('listening on /run/app.sock');
    expect(describeSource(status({ type: 'file', path: '/run/app.sock' }))).toBe('running'); // a path of another kind of source is not a listener
    expect(describeSource(status({ type: 'socket', path: 42 }))).toBe('running');
    expect(describeSource(status({ type: 'http', route: '/ingest/app' }))).toBe('POST /ingest/app');
  });

  it('the last error while in error or degraded, after the rest, parts joined by "; "', () => {
    const last_error = { code: 'EACCES', message: 'permission denied', at: '2026-01-01T00:00:00.000Z' };
    expect(describeSource(status({ state: 'error', last_error }))).toBe('EACCES: permission denied');
    expect(describeSource(status({ state: 'degraded', last_error, files: [file('/a', 0, 0)] }))).toBe('1 file (/a); EACCES: permission denied');
    expect(describeSource(status({ state: 'running', last_error }))).toBe('running'); // recovered: not shown
    expect(describeSource(status({ state: 'stopped', last_error }))).toBe('stopped');
    expect(describeSource(status({ state: 'error', last_error: null }))).toBe('error');
  });
});
