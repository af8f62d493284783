/** The record shape socket and HTTP ingest accept. */
import { describe, expect, it } from 'vitest';
import { checkRecord, parseRecord, recordTime } from './record.js';

const ctx = { source: 's', stream: 's', origin: { kind: 'test' }, now: 1000 };

describe('ingest records', () => {
  it('keeps message, level, time and fields as sent', () => {
    const r = parseRecord('{"message":" m ","level":"WARNING","time":"2026-12-06T00:00:00.5+02:00","fields":{"msg":"x","host":"h","level":1}}', ctx);
    expect(r).toMatchObject({ ok: true, record: { message: ' m ', level: 'warn', time: Date.parse('2026-12-05T22:00:00.5Z'), fields: { msg: 'x', host: 'h', level: 1 }, received: 1000 } });
  });

  it('times: RFC 3339 or epoch ms, nothing else', () => {
    expect(recordTime(1765000000123)).toBe(1765000000123);
    expect(recordTime('2026-12-06 01:02:03Z')).toBe(Date.parse('2026-12-06T01:02:03Z'));
    for (const bad of ['2026-12-06', 'yesterday', '1765000000', NaN, Infinity, 1e20, null, true]) expect(recordTime(bad), String(bad)).toBeUndefined();
  });

  it('refuses a prototype-rewriting key in fields, also spelled with an escape', () => {
    for (const text of ['{"message":"m","fields":{"__proto__":{"x":1}}}', '{"message":"m","fields":{"a":{"\\u005f_proto__":{"x":1}}}}', '{"message":"m","fields":{"constructor":{"prototype":{}}}}']) {
      const r = parseRecord(text, ctx);
      expect(r.ok, text).toBe(false);
      expect(r.ok ? '' : r.error).toMatch(/not allowed/);
    }
    expect(checkRecord(JSON.parse('{"message":"m","fields":{"__proto__":1}}'), ctx).ok).toBe(false);
    expect(checkRecord(JSON.parse('{"message":"m","fields":{"__proto__":1}}'), ctx, false).ok).toBe(false);
  });

  it('reasons: bad_json, no_message, bad_record', () => {
    expect(parseRecord('{', ctx)).toMatchObject({ ok: false, reason: 'bad_json' });
    expect(parseRecord('{"msg":"x"}', ctx)).toMatchObject({ ok: false, reason: 'no_message' });
    expect(parseRecord('{"message":["x"]}', ctx)).toMatchObject({ ok: false, reason: 'no_message' });
    expect(parseRecord('"x"', ctx)).toMatchObject({ ok: false, reason: 'bad_record' });
    expect(parseRecord('{"message":"x","level":3}', ctx)).toMatchObject({ ok: false, reason: 'bad_record' });
    expect(parseRecord('{"message":"x","fields":"y"}', ctx)).toMatchObject({ ok: false, reason: 'bad_record' });
    expect(parseRecord('{"message":"x","user":1}', ctx)).toMatchObject({ ok: false, reason: 'bad_record', error: expect.stringMatching(/unknown key "user"/) });
  });

  it('a Sluice wire record (a forward sink\'s, a TCP stream\'s): host and app kept, the sender\'s seq, source, stream and origin in origin.from', () => {
    const wire = '{"seq":42,"time":"2026-12-06T01:02:03.004Z","source":"app","stream":"main","origin":{"kind":"file","path":"/var/log/a.log"},"host":"web1","app":"api","level":"warn","message":"m","fields":{"k":1}}';
    const r = parseRecord(wire, ctx);
    expect(r).toMatchObject({ ok: true, record: { source: 's', stream: 's', host: 'web1', app: 'api', level: 'warn', message: 'm', fields: { k: 1 }, time: Date.parse('2026-12-06T01:02:03.004Z'), origin: { kind: 'test', from: { seq: 42, source: 'app', stream: 'main', origin: { kind: 'file', path: '/var/log/a.log' } } } } });
    expect(parseRecord('{"message":"x","seq":-1}', ctx)).toMatchObject({ ok: false, reason: 'bad_record' });
    expect(parseRecord('{"message":"x","origin":[]}', ctx)).toMatchObject({ ok: false, reason: 'bad_record' });
    expect(parseRecord('{"message":"x","host":1}', ctx)).toMatchObject({ ok: false, reason: 'bad_record' });
  });
});
