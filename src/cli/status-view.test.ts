import { describe, expect, it } from 'vitest';
import { backlog, bytes, clean, duration, linesPerSecond, renderStatus, type StatusJson } from './status-view.js';

const full: StatusJson = {
  version: '0.2.0',
  uptime_s: 3725,
  pid: 4242,
  seq: 1200,
  sources: [
    {
      name: 'app', type: 'file', state: 'running', last_error: null, counters: { lines: 1500 },
      files: [
        { path: '/var/log/a.log', offset: 1024 * 1024, size: 4 * 1024 * 1024 },
        { path: '/var/log/b.log', offset: 512, size: 512 },
      ],
    },
    {
      name: 'dock', type: 'docker', state: 'error', counters: { lines: 0 }, containers: [],
      last_error: { code: 'ENOENT', message: 'cannot reach the Docker engine at /var/run/docker.sock: no such socket', at: '2026-12-06T03:05:29.776Z' },
    },
    { name: 'sys', type: 'syslog', state: 'running', counters: { lines: 10 }, listeners: [{ transport: 'udp', address: '127.0.0.1:5514' }], paused: true },
  ],
  streams: [
    { name: 'app', records: 900, sse_clients: 2, tcp: { listen: '127.0.0.1:9090', clients: [{}, {}, {}] } },
    { name: 'dock', records: 0, sse_clients: 0, tcp: null },
  ],
  all_streams_sse_clients: 1,
  drops: { 'sse/slow_client': 12, 'transform/drop': 0, 'udp/udp_overflow': 3 },
  forward: [{ name: 'central', url: 'http://central:8080/api/ingest?source=edge1', state: 'degraded', spool_bytes: 2048, spool_records: 40, counters: { records_sent: 100 }, last_error: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.0.0.1:8080', at: '2026-12-06T03:06:00.000Z' } }],
  archive: [{ stream: 'app', path: '/data/archive/app.ndjson', state: 'running', size: 10_000, last_error: null }],
  recent_errors: [
    { at: '2026-12-06T03:05:29.776Z', component: 'source dock', code: 'ENOENT', message: 'cannot reach the Docker engine' },
    { at: '2026-12-06T03:06:00.000Z', component: 'sink forward central', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.0.0.1:8080' },
  ],
  rules: { hits: 7 },
  webhooks: { delivered: 3, failed: 1, dropped: 0 },
};

describe('renderStatus', () => {
  it('summarizes sources (state, rate, backlog, last error), streams with clients, non-zero drops, sinks and recent errors', () => {
    const earlier: StatusJson = { sources: [{ name: 'app', counters: { lines: 1000 } }, { name: 'sys', counters: { lines: 10 } }] };
    const text = renderStatus(full, { url: 'http://127.0.0.1:8080', earlier: { status: earlier, ms: 2000 } });
    expect(text).toBe(
      [
        'Sluice 0.2.0 at http://127.0.0.1:8080, up 1h 2m, pid 4242, last seq 1200',
        '',
        'Sources (3)',
        '  app   file    running  250 lines/s, 1500 lines, read 1.0 MiB of 4.0 MiB (25%) in 2 files',
        '      /var/log/a.log: 1.0 MiB of 4.0 MiB',
        '  dock  docker  error    0 lines, 0 containers', // not in the first sample: no rate
        '      last error at 2026-12-06T03:05:29.776Z: ENOENT: cannot reach the Docker engine at /var/run/docker.sock: no such socket',
        '  sys   syslog  running  0.0 lines/s, 10 lines, on udp 127.0.0.1:5514, paused (back-pressure)',
        '',
        'Streams (2)',
        '  app   900 records  2 SSE clients, TCP 127.0.0.1:9090: 3 clients',
        '  dock  0 records    0 SSE clients',
        '  all streams (/api/tail/sse): 1 SSE clients',
        '',
        'Drops (by stage/reason)',
        '  sse/slow_client   12',
        '  udp/udp_overflow  3',
        '',
        'Forward (1)',
        '  central  degraded  to http://central:8080/api/ingest?source=edge1, spool 2.0 KiB (40 records), 100 records sent',
        '      last error at 2026-12-06T03:06:00.000Z: ECONNREFUSED: connect ECONNREFUSED 10.0.0.1:8080',
        '',
        'Archive (1)',
        '  app  running  to /data/archive/app.ndjson, 9.8 KiB',
        '',
        'rules: 7 hits; webhooks: 3 delivered, 1 failed, 0 dropped',
        '',
        'Recent errors',
        '  2026-12-06T03:05:29.776Z  source dock  ENOENT: cannot reach the Docker engine',
        '  2026-12-06T03:06:00.000Z  sink forward central  ECONNREFUSED: connect ECONNREFUSED 10.0.0.1:8080',
        '',
      ].join('\n'),
    );
  });

  it('does not fail on a status without states, errors, sinks or rates (an older daemon)', () => {
    const text = renderStatus({ version: '0.1.0', sources: [{ name: 'app', type: 'file', counters: { lines: 3 }, files: [] }], streams: [], drops: {} }, { url: 'http://h:1' });
    expect(text).toBe(['Sluice 0.1.0 at http://h:1', '', 'Sources (1)', '  app  file  ?  3 lines, no file matched yet', '', 'Streams (0)', '  none', '', 'Drops (by stage/reason)', '  none', ''].join('\n'));
    expect(renderStatus({}, { url: 'http://h:1' })).toContain('Sources (0)\n  none');
  });

  it('keeps control characters and bidi overrides of the daemon\'s text off the terminal', () => {
    const text = renderStatus({ sources: [{ name: 'a\x1b[2Jb', type: 'file', last_error: { code: 'X', message: 'evil\r\n\x1b]0;title\x07 \u202eflipped' } }] }, { url: 'http://h:1' });
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f\u202e]/);
    expect(text).toContain('a [2Jb');
  });

  it('shows at most the last 10 recent errors', () => {
    const recent = Array.from({ length: 50 }, (_, i) => ({ at: `t${i}`, component: 'source x', code: 'E', message: `m${i}` }));
    const text = renderStatus({ recent_errors: recent }, { url: 'http://h:1' });
    expect(text).toContain('Recent errors (last 10 of 50)');
    expect(text).toContain('t49  source x  E: m49');
    expect(text).not.toContain('m39');
  });
});

describe('pieces', () => {
  it('a rate needs the same source in both samples and a counter that did not go back', () => {
    expect(linesPerSecond({ name: 'a', counters: { lines: 300 } }, { status: { sources: [{ name: 'a', counters: { lines: 100 } }] }, ms: 1000 })).toBe(200);
    expect(linesPerSecond({ name: 'a', counters: { lines: 300 } }, undefined)).toBeUndefined();
    expect(linesPerSecond({ name: 'a', counters: { lines: 5 } }, { status: { sources: [{ name: 'a', counters: { lines: 100 } }] }, ms: 1000 })).toBeUndefined();
    expect(linesPerSecond({ name: 'b', counters: { lines: 5 } }, { status: { sources: [{ name: 'a', counters: { lines: 1 } }] }, ms: 1000 })).toBeUndefined();
  });

  it('backlog sums what was read of what is known; a truncated file counts as read to its end', () => {
    expect(backlog({ files: [{ offset: 10, size: 100 }, { offset: 50, size: 20 }] })).toEqual({ read: 30, known: 120 });
    expect(backlog({ name: 'x' })).toBeUndefined();
  });

  it('formats', () => {
    expect([bytes(0), bytes(1023), bytes(1536), bytes(50 * 1024 ** 3)]).toEqual(['0 B', '1023 B', '1.5 KiB', '50 GiB']);
    expect([duration(5), duration(65), duration(3725), duration(90_000)]).toEqual(['5s', '1m 5s', '1h 2m', '1d 1h']);
    expect(clean('x'.repeat(400)).length).toBe(300);
  });
});
