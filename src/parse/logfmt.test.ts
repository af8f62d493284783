import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatLogfmt, parseLogfmt } from './logfmt.js';

describe('parseLogfmt', () => {
  it('parses a logrus text line', () => {
    const r = parseLogfmt('time="2026-11-23T12:00:00Z" level=warning msg="disk usage high" path=/var used="91%" component=monitor')!;
    expect(r).toEqual({
      time: Date.UTC(2026, 10, 23, 12),
      level: 'warn',
      message: 'disk usage high',
      fields: { path: '/var', used: '91%', component: 'monitor' },
    });
  });

  it('parses a go-kit / slog line with ts and caller', () => {
    const r = parseLogfmt('ts=2026-11-23T12:00:00.5Z caller=main.go:42 level=error msg="dial tcp: i/o timeout" host=db-1 retries=3')!;
    expect(r).toMatchObject({ time: Date.UTC(2026, 10, 23, 12, 0, 0, 500), level: 'error', message: 'dial tcp: i/o timeout', host: 'db-1' });
    expect(r.fields).toEqual({ caller: 'main.go:42', retries: '3' });
  });

  it('parses a Heroku router line (no msg: message is the line)', () => {
    const line = 'at=info method=GET path="/" host=example.herokuapp.com fwd="1.2.3.4" dyno=web.1 connect=1ms service=3ms status=200 bytes=1548';
    const r = parseLogfmt(line)!;
    expect(r.message).toBe(line);
    expect(r.host).toBe('example.herokuapp.com');
    expect(r.app).toBe('3ms');
    expect(r.fields).toMatchObject({ at: 'info', method: 'GET', path: '/', status: '200' });
  });

  it('handles escapes, bare keys, empty values and odd tokens', () => {
    const r = parseLogfmt('msg="say \\"hi\\" \\\\ \\n\\t\\u00e9 \\x" flag empty= quoted="" =junk "loose" a=b=c d=e"f')!;
    expect(r.message).toBe('say "hi" \\ \n\té \\x');
    expect(r.fields).toEqual({ flag: true, empty: '', quoted: '', a: 'b=c', d: 'e"f' });
  });

  it('takes an unterminated quote to the end of the line', () => {
    expect(parseLogfmt('level=info msg="never closed and more')!.message).toBe('never closed and more');
  });

  it('requires two pairs or a msg', () => {
    expect(parseLogfmt('just some words')).toBeUndefined();
    expect(parseLogfmt('one=pair and words')).toBeUndefined();
    expect(parseLogfmt('')).toBeUndefined();
    expect(parseLogfmt('msg=hello')!.message).toBe('hello');
    expect(parseLogfmt('a=1 b=2')!.fields).toEqual({ a: '1', b: '2' });
  });

  it('formats values that need quoting', () => {
    expect(formatLogfmt({ a: 'plain', b: 'with space', c: '', d: 'q"uote', e: 'back\\slash', f: 'x=y', g: 'line\nbreak' })).toBe(
      'a=plain b="with space" c="" d="q\\"uote" e=back\\slash f="x=y" g="line\\nbreak"',
    );
    expect(formatLogfmt({ 'bad key': 'v', '': 'w' })).toBe('bad_key=v _=w');
  });

  it('property: never throws on any string', () => {
    const inputs = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.stringMatching(/^[a-z= "\\\t]{0,60}$/),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('utf8')),
    );
    fc.assert(
      fc.property(inputs, (line) => {
        const r = parseLogfmt(line);
        if (r !== undefined) expect(typeof r.message).toBe('string');
      }),
      { numRuns: 3000 },
    );
  });

  it('property: formatLogfmt -> parseLogfmt round trip', () => {
    const reserved = new Set(['msg', 'message', 'log', 'text', 'MESSAGE', 'level', 'lvl', 'severity', 'log.level', 'loglevel', 'levelname', 'PRIORITY', 'time', 'ts', 'timestamp', '@timestamp', 't', '__REALTIME_TIMESTAMP', 'host', 'hostname', '_HOSTNAME', 'app', 'service', 'SYSLOG_IDENTIFIER']);
    const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.\-@/]{0,15}$/).filter((k) => !reserved.has(k));
    const value = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', ' ', '"', '\\', '\\"', 'a=b', '\n', '\\n', '\\u0041'));
    fc.assert(
      fc.property(fc.dictionary(key, value, { minKeys: 2, maxKeys: 8 }), fc.string({ unit: 'binary' }), fc.constantFrom('info', 'ERROR', 'warn'), (fields, msg, level) => {
        const r = parseLogfmt(formatLogfmt(fields))!;
        expect(r.fields).toEqual(fields);
        const r2 = parseLogfmt(formatLogfmt({ level, msg, ...fields }))!;
        expect(r2.message).toBe(msg);
        expect(r2.level).toBe(level.toLowerCase());
        expect(r2.fields).toEqual(fields);
      }),
      { numRuns: 1000 },
    );
  });
});
