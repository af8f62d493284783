import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseJson } from './json.js';
import { normalizeLevel } from './level.js';

describe('parseJson', () => {
  it('parses a Go zap production line', () => {
    const line =
      '{"level":"error","ts":1795435200.1234567,"caller":"server/main.go:42","msg":"request failed","error":"context deadline exceeded","stacktrace":"main.main\\n\\t/app/main.go:42"}';
    expect(parseJson(line)).toEqual({
      time: 1795435200123,
      level: 'error',
      message: 'request failed',
      fields: { caller: 'server/main.go:42', error: 'context deadline exceeded', stacktrace: 'main.main\n\t/app/main.go:42' },
    });
  });

  it('parses a pino line (numeric level, ms time, hostname)', () => {
    const line = '{"level":30,"time":1795435200123,"pid":4242,"hostname":"web-1","reqId":"req-1","res":{"statusCode":200},"responseTime":12.5,"msg":"request completed"}';
    const r = parseJson(line)!;
    expect(r).toMatchObject({ time: 1795435200123, level: 'info', message: 'request completed', host: 'web-1' });
    expect(r.fields).toEqual({ pid: 4242, reqId: 'req-1', res: { statusCode: 200 }, responseTime: 12.5 });
  });

  it('parses ECS (nested log.level, @timestamp, service)', () => {
    const line = '{"@timestamp":"2026-11-23T12:00:00.123Z","log":{"level":"WARN","logger":"app.db"},"message":"slow query","service":"billing","event":{"duration":1200}}';
    const r = parseJson(line)!;
    expect(r).toMatchObject({ time: Date.UTC(2026, 10, 23, 12, 0, 0, 123), level: 'warn', message: 'slow query', app: 'billing' });
    expect(r.fields).toEqual({ log: { logger: 'app.db' }, event: { duration: 1200 } });
  });

  it('parses ECS with a dotted log.level key', () => {
    const r = parseJson('{"log.level":"debug","message":"x","log.logger":"y"}')!;
    expect(r.level).toBe('debug');
    expect(r.fields).toEqual({ 'log.logger': 'y' });
  });

  it('parses a docker json-file line (log with its newline)', () => {
    const r = parseJson('{"log":"hello world\\r\\n","stream":"stdout","time":"2026-11-23T12:00:00.123456789Z"}')!;
    expect(r.message).toBe('hello world');
    expect(r.time).toBe(Date.UTC(2026, 10, 23, 12, 0, 0, 123));
    expect(r.fields).toEqual({ stream: 'stdout' });
  });

  it('parses journald JSON export', () => {
    const r = parseJson('{"__REALTIME_TIMESTAMP":"1795435200123456","PRIORITY":"3","_HOSTNAME":"h1","SYSLOG_IDENTIFIER":"sshd","MESSAGE":"boom","_PID":"77"}')!;
    expect(r).toMatchObject({ time: 1795435200123, level: 'error', host: 'h1', app: 'sshd', message: 'boom' });
    expect(r.fields).toEqual({ _PID: '77' });
  });

  it('takes keys by priority and leaves unused candidates in fields', () => {
    const r = parseJson('{"message":"second","msg":"first","level":"bogus","severity":"warning","t":"not a time","time":"2026-11-23T12:00:00Z"}')!;
    expect(r.message).toBe('first');
    expect(r.level).toBe('warn');
    expect(r.time).toBe(Date.UTC(2026, 10, 23, 12));
    expect(r.fields).toEqual({ message: 'second', level: 'bogus', t: 'not a time' });
  });

  it('uses the whole line as message when there is no message key, and keeps object messages in fields', () => {
    const line = '{"event":"login","user":"bob","msg":{"nested":true}}';
    const r = parseJson(line)!;
    expect(r.message).toBe(line);
    expect(r.fields).toEqual({ event: 'login', user: 'bob', msg: { nested: true } });
    expect(parseJson('{"msg":42}')!.message).toBe('42');
  });

  it('keeps a "__proto__" key as a plain field', () => {
    const r = parseJson('{"msg":"x","__proto__":{"polluted":1}}')!;
    expect(Object.getPrototypeOf(r.fields)).toBe(Object.prototype);
    expect(Object.keys(r.fields)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('returns undefined for lines that are not JSON objects', () => {
    for (const l of ['', 'plain', '[1,2]', '"str"', '42', '{', '{"a":1', '{"a":1} trailing', '  {bad json}', 'x{"a":1}']) {
      expect(parseJson(l), l).toBeUndefined();
    }
    expect(parseJson('  \t{"msg":"indented"}')!.message).toBe('indented');
  });

  it('property: never throws on any string', () => {
    const inputs = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.json().map((j) => j),
      fc.string().map((s) => '{' + s),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('utf8')),
    );
    fc.assert(
      fc.property(inputs, (line) => {
        const r = parseJson(line);
        if (r !== undefined) expect(typeof r.message).toBe('string');
      }),
      { numRuns: 3000 },
    );
  });

  it('property: round trip of message, level and fields through JSON.stringify', () => {
    const levelWord = fc.constantFrom('trace', 'DEBUG', 'info', 'Warning', 'error', 'fatal', 'notice', 30, 50, 'E');
    const reserved = new Set(['msg', 'message', 'log', 'text', 'MESSAGE', 'level', 'lvl', 'severity', 'log.level', 'loglevel', 'levelname', 'PRIORITY', 'time', 'ts', 'timestamp', '@timestamp', 't', '__REALTIME_TIMESTAMP', 'host', 'hostname', '_HOSTNAME', 'app', 'service', 'SYSLOG_IDENTIFIER']);
    const fieldsArb = fc.dictionary(
      fc.string({ minLength: 1 }).filter((k) => !reserved.has(k)),
      fc.jsonValue(),
      { maxKeys: 8 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), levelWord, fieldsArb, (message, level, fields) => {
        const line = JSON.stringify({ ...fields, msg: message, level });
        const r = parseJson(line)!;
        expect(r.message).toBe(message);
        expect(r.level).toBe(normalizeLevel(level));
        expect(r.fields).toEqual(JSON.parse(JSON.stringify(fields)));
      }),
      { numRuns: 1000 },
    );
  });
});
