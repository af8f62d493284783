import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FORMATS, parseCounters, parseLine, type Format } from './detect.js';
import { LEVELS } from '../core/record.js';

const local = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) => new Date(y, mo - 1, d, h, mi, s, ms).getTime();
const NOW = local(2026, 11, 23, 13);

function counted(fn: () => void): Record<string, number> {
  const before = { ...parseCounters };
  fn();
  const diff: Record<string, number> = {};
  for (const k of Object.keys(parseCounters) as (keyof typeof parseCounters)[]) if (parseCounters[k] !== before[k]) diff[k] = parseCounters[k] - before[k];
  return diff;
}

describe('parseLine auto-detection on realistic lines', () => {
  const cases: { name: string; line: string; parser: string; expect: Record<string, unknown> }[] = [
    {
      name: 'nginx access line',
      line: '93.184.216.34 - - [23/Nov/2026:12:00:00 +0000] "GET /index.html HTTP/1.1" 200 612 "-" "Mozilla/5.0 (X11; Linux x86_64)"',
      parser: 'plain',
      expect: { time: Date.UTC(2026, 10, 23, 12), level: undefined },
    },
    {
      name: 'Go zap JSON line',
      line: '{"level":"warn","ts":1795435200.5,"caller":"api/handler.go:88","msg":"slow request","method":"GET","latency":"1.2s"}',
      parser: 'json',
      expect: { time: 1795435200500, level: 'warn', message: 'slow request', fields: { caller: 'api/handler.go:88', method: 'GET', latency: '1.2s' } },
    },
    {
      name: 'pino JSON line',
      line: '{"level":50,"time":1795435200123,"pid":7,"hostname":"web-1","err":{"type":"Error","message":"boom"},"msg":"handler failed"}',
      parser: 'json',
      expect: { time: 1795435200123, level: 'error', message: 'handler failed', host: 'web-1', fields: { pid: 7, err: { type: 'Error', message: 'boom' } } },
    },
    {
      name: 'logrus logfmt line',
      line: 'time="2026-11-23T12:00:00+01:00" level=error msg="failed to connect to database" error="dial tcp 10.0.0.5:5432: connect: connection refused" attempt=3',
      parser: 'logfmt',
      expect: { time: Date.UTC(2026, 10, 23, 11), level: 'error', message: 'failed to connect to database', fields: { error: 'dial tcp 10.0.0.5:5432: connect: connection refused', attempt: '3' } },
    },
    {
      name: 'logger RFC 5424 line',
      line: '<13>1 2026-11-23T12:00:00.123456+00:00 myhost root 1234 - [timeQuality tzKnown="1" isSynced="0"] hello',
      parser: 'syslog5424',
      expect: { time: Date.UTC(2026, 10, 23, 12, 0, 0, 123), level: 'notice', host: 'myhost', app: 'root', message: 'hello' },
    },
    {
      name: 'rsyslog /var/log/syslog line',
      line: 'Nov 23 12:00:00 web-1 systemd[1]: Started Daily apt download activities.',
      parser: 'syslog3164',
      expect: { time: local(2026, 11, 23, 12), host: 'web-1', app: 'systemd', message: 'Started Daily apt download activities.', fields: { pid: '1' } },
    },
    {
      name: 'rsyslog file format line',
      line: '2026-11-23T12:00:00.123456+00:00 web-1 kernel: [12345.678] eth0: link up',
      parser: 'syslog3164',
      expect: { time: Date.UTC(2026, 10, 23, 12, 0, 0, 123), host: 'web-1', app: 'kernel', message: '[12345.678] eth0: link up' },
    },
    {
      name: 'Java stack trace first line',
      line: 'Exception in thread "main" java.lang.IllegalStateException: Connection pool exhausted',
      parser: 'plain',
      expect: { time: undefined, level: undefined, message: 'Exception in thread "main" java.lang.IllegalStateException: Connection pool exhausted' },
    },
    {
      name: 'Java logback line',
      line: '2026-11-23 12:00:00.123 [http-nio-8080-exec-1] ERROR o.a.c.c.C.[.[.[/].[dispatcherServlet] - Servlet.service() threw exception',
      parser: 'plain',
      expect: { time: local(2026, 11, 23, 12, 0, 0, 123), level: 'error' },
    },
    {
      name: 'Python traceback line',
      line: 'Traceback (most recent call last):',
      parser: 'plain',
      expect: { time: undefined, level: undefined, message: 'Traceback (most recent call last):' },
    },
    {
      name: 'Python logging line',
      line: '2026-11-23 12:00:00,123 - myapp.db - WARNING - retrying connection',
      parser: 'plain',
      expect: { time: local(2026, 11, 23, 12, 0, 0, 123), level: 'warn' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      let r!: ReturnType<typeof parseLine>;
      const diff = counted(() => {
        r = parseLine(c.line, 'auto', NOW);
      });
      expect(diff).toEqual({ [c.parser]: 1 });
      expect(r).toMatchObject(c.expect);
      if (c.parser === 'plain') expect(r.message).toBe(c.line);
    });
  }
});

describe('parseLine formats and fallback', () => {
  it('falls back to plain (counted) when a forced format does not parse', () => {
    for (const [format, line] of [
      ['json', 'not json at all'],
      ['json', '{"truncated": '],
      ['logfmt', 'a plain sentence'],
      ['syslog', 'a plain sentence'],
    ] as [Format, string][]) {
      let r!: ReturnType<typeof parseLine>;
      const diff = counted(() => {
        r = parseLine(line, format, NOW);
      });
      expect(diff, `${format}: ${line}`).toEqual({ fallback: 1 });
      expect(r.message).toBe(line);
    }
  });

  it('counts a broken "{" line in auto mode as a fallback, ordinary text as plain', () => {
    expect(counted(() => parseLine('{oops', 'auto'))).toEqual({ fallback: 1 });
    expect(counted(() => parseLine('<13 not a pri', 'auto'))).toEqual({ plain: 1 });
    expect(counted(() => parseLine('hello', 'auto'))).toEqual({ plain: 1 });
  });

  it('forced formats parse their lines', () => {
    expect(parseLine('{"msg":"x"}', 'json').message).toBe('x');
    expect(parseLine('msg=x', 'logfmt').message).toBe('x');
    expect(parseLine('<13>Nov 23 12:00:00 h t: x', 'syslog', NOW)).toMatchObject({ message: 'x', app: 't' });
    expect(parseLine('{"msg":"x"}', 'plain').message).toBe('{"msg":"x"}');
  });

  it('auto sends a line with a non-key first token to plain even if it has pairs', () => {
    const line = 'user logged in id=5 ip=1.2.3.4';
    expect(parseLine(line, 'auto')).toMatchObject({ message: line, fields: {} });
  });

  it('property: no input makes any format throw or return something malformed', () => {
    const inputs = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.json(),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('utf8')),
      fc.string().map((s) => '<13>1 ' + s),
      fc.string().map((s) => '<13>' + s),
      fc.string().map((s) => 'Nov 23 12:00:00 ' + s),
      fc.string().map((s) => '2026-11-23T12:00:00Z ' + s),
      fc.string().map((s) => 'level=info msg=' + s),
    );
    fc.assert(
      fc.property(inputs, fc.constantFrom(...FORMATS), (line, format) => {
        const r = parseLine(line, format, NOW);
        expect(typeof r.message).toBe('string');
        expect(r.fields !== null && typeof r.fields === 'object').toBe(true);
        expect(r.level === undefined || (LEVELS as readonly string[]).includes(r.level)).toBe(true);
        expect(r.time === undefined || Number.isFinite(r.time)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });
});
