import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseSyslog5424 } from './syslog5424.js';
import { LEVELS } from '../core/record.js';

const FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'security', 'console', 'solaris-cron', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'];
const SEVERITY = ['emergency', 'alert', 'critical', 'error', 'warn', 'notice', 'info', 'debug'];

describe('parseSyslog5424', () => {
  it('parses a real `logger --rfc5424` line', () => {
    expect(parseSyslog5424('<13>1 2026-11-23T12:00:00.123456+00:00 myhost root 1234 - [timeQuality tzKnown="1" isSynced="0"] hello')).toEqual({
      time: Date.UTC(2026, 10, 23, 12, 0, 0, 123),
      level: 'notice',
      message: 'hello',
      host: 'myhost',
      app: 'root',
      fields: { facility: 'user', procid: '1234', sd: { timeQuality: { tzKnown: '1', isSynced: '0' } } },
    });
  });

  it('parses the RFC 5424 examples (NIL fields, BOM, several SD elements, no MSG)', () => {
    const a = parseSyslog5424("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \uFEFF'su root' failed for lonvick on /dev/pts/8")!;
    expect(a).toMatchObject({ level: 'critical', host: 'mymachine.example.com', app: 'su', message: "'su root' failed for lonvick on /dev/pts/8" });
    expect(a.fields).toEqual({ facility: 'auth', msgid: 'ID47' });
    expect(a.time).toBe(Date.UTC(2003, 9, 11, 22, 14, 15, 3));

    const b = parseSyslog5424("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.")!;
    expect(b).toMatchObject({ level: 'notice', host: '192.0.2.1', app: 'myproc', message: "%% It's time to make the do-nuts." });
    expect(b.time).toBe(Date.UTC(2003, 7, 24, 12, 14, 15));
    expect(b.fields).toEqual({ facility: 'local4', procid: '8710' });

    const c = parseSyslog5424(
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
    )!;
    expect(c.message).toBe('');
    expect(c.fields.sd).toEqual({
      'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' },
      'examplePriority@32473': { class: 'high' },
    });

    const d = parseSyslog5424('<0>1 - - - - - -')!;
    expect(d).toMatchObject({ level: 'emergency', message: '', time: undefined, host: undefined, app: undefined });
    expect(d.fields).toEqual({ facility: 'kern' });
  });

  it('unescapes SD values and keeps params whose names DECNET\'s \\w+ would drop', () => {
    const r = parseSyslog5424('<14>1 2026-11-23T12:00:00Z h app - - [relay@55555 cmd="echo \\"a\\] b\\" \\\\ c\\d" src_ip="1.2.3.4" x-forwarded.for="5.6.7.8"] after')!;
    expect(r.fields.sd).toEqual({ 'relay@55555': { cmd: 'echo "a] b" \\ c\\d', src_ip: '1.2.3.4', 'x-forwarded.for': '5.6.7.8' } });
    expect(r.message).toBe('after');
  });

  it('keeps repeated params as arrays and merges a repeated SD-ID', () => {
    const r = parseSyslog5424('<14>1 - h a - - [x a="1" a="2" a="3"][y b="1"][x c="4"] m')!;
    expect(r.fields.sd).toEqual({ x: { a: ['1', '2', '3'], c: '4' }, y: { b: '1' } });
  });

  it('keeps the text of a malformed SD element in the message', () => {
    const r = parseSyslog5424('<14>1 - h a - - [ok k="v"][bad k=unquoted] the message')!;
    expect(r.fields.sd).toEqual({ ok: { k: 'v' } });
    expect(r.message).toBe('[bad k=unquoted] the message');
    const u = parseSyslog5424('<14>1 - h a - - [x k="never closed')!;
    expect(u.message).toBe('[x k="never closed');
  });

  it('is lenient with extra spaces, a missing SD and a bad timestamp', () => {
    expect(parseSyslog5424('<14>1  2026-11-23T12:00:00Z  h  a  -  -  - msg')).toMatchObject({ host: 'h', app: 'a', message: 'msg', time: Date.UTC(2026, 10, 23, 12) });
    expect(parseSyslog5424('<14>1 2026-11-23T12:00:00Z h a - ID1 plain message')!.message).toBe('plain message');
    const bad = parseSyslog5424('<14>1 yesterday h a - - - m')!;
    expect(bad.time).toBeUndefined();
    expect(bad.host).toBe('h');
    expect(parseSyslog5424('<14>1 2026-11-23T12:00:00Z h a - ID1')!.message).toBe('');
  });

  it('rejects lines that are not RFC 5424', () => {
    for (const l of ['', 'hello', '<14>Nov 23 12:00:00 h t: m', '<14> 1 - - - - - -', '<192>1 - - - - - -', '<014>1 - - - - - -', '<14>0 - - - - - -', '<14>1 - h a', '<14>1', '<>1 - - - - - -', '14>1 - - - - - -']) {
      expect(parseSyslog5424(l), l).toBeUndefined();
    }
  });

  it('unwraps a relayed 5424 line whose MSG is a PRI-less, VERSION-less 5424 header (the DECNET docker envelope)', () => {
    const r = parseSyslog5424(
      '<14>1 2026-11-23T12:00:01Z decky 1 - - - 2026-11-23T12:00:00.5Z decky-ssh bash - command [timeQuality tzKnown="1" isSynced="0"] CMD uid=0 user=root src=1.2.3.4 pwd=/root cmd=ls -la /tmp',
    )!;
    expect(r).toMatchObject({
      time: Date.UTC(2026, 10, 23, 12, 0, 0, 500),
      level: 'info',
      host: 'decky-ssh',
      app: 'bash',
      message: 'CMD uid=0 user=root src=1.2.3.4 pwd=/root cmd=ls -la /tmp',
    });
    expect(r.fields).toEqual({
      facility: 'user',
      msgid: 'command',
      sd: { timeQuality: { tzKnown: '1', isSynced: '0' } },
      relay: { host: 'decky', app: '1', time: Date.UTC(2026, 10, 23, 12, 0, 1) },
    });
  });

  it('unwraps a relayed full 5424 line (inner PRI wins) and merges SD', () => {
    const r = parseSyslog5424('<14>1 2026-11-23T12:00:01Z relay fwd - - [origin ip="10.0.0.9"] <11>1 2026-11-23T12:00:00Z app1 web 77 ID9 [req id="42"] inner message')!;
    expect(r).toMatchObject({ level: 'error', host: 'app1', app: 'web', message: 'inner message', time: Date.UTC(2026, 10, 23, 12) });
    expect(r.fields).toEqual({
      facility: 'user',
      procid: '77',
      msgid: 'ID9',
      sd: { origin: { ip: '10.0.0.9' }, req: { id: '42' } },
      relay: { host: 'relay', app: 'fwd', time: Date.UTC(2026, 10, 23, 12, 0, 1) },
    });
  });

  it('unwraps a relayed 3164 line and a 5424 line with only its PRI stripped', () => {
    const now = Date.UTC(2026, 10, 24);
    const r = parseSyslog5424('<14>1 2026-11-23T12:00:01Z relay - - - - <38>Nov 23 12:00:00 web1 sshd[99]: Accepted publickey', now)!;
    expect(r).toMatchObject({ level: 'info', host: 'web1', app: 'sshd', message: 'Accepted publickey' });
    expect(r.fields).toMatchObject({ facility: 'auth', pid: '99', relay: { host: 'relay' } });

    const s = parseSyslog5424('<14>1 2026-11-23T12:00:01Z relay - - - - 1 2026-11-23T12:00:00Z web1 app - - - stripped pri')!;
    expect(s).toMatchObject({ level: 'info', host: 'web1', app: 'app', message: 'stripped pri' });
  });

  it('does not unwrap prose or rsyslog-style text that merely starts with a timestamp-like word', () => {
    for (const msg of ['Connection from 1.2.3.4 port 22', '2026-11-23T12:00:00Z something happened to host x y', 'Mar is a month', '1 2 3 go']) {
      const r = parseSyslog5424('<14>1 2026-11-23T12:00:01Z h a - - - ' + msg)!;
      expect(r.message).toBe(msg);
      expect(r.fields.relay).toBeUndefined();
    }
  });

  it('property: never throws on any string', () => {
    const inputs = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.string().map((s) => '<14>1 ' + s),
      fc.stringMatching(/^<1[0-9]>1 [-0-9TZ:.]{0,25} [a-z-]{1,3} [a-z-]{1,3} - - (-|\[[a-z =\\"\]]{0,20}\]?) ?.{0,10}$/),
      fc.uint8Array({ maxLength: 200 }).map((b) => '<13>1 ' + Buffer.from(b).toString('utf8')),
    );
    fc.assert(
      fc.property(inputs, (line) => {
        const r = parseSyslog5424(line);
        if (r !== undefined) {
          expect(typeof r.message).toBe('string');
          expect(LEVELS).toContain(r.level);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('property: a generated line gives back every part', () => {
    const printable = (min: number, max: number) =>
      fc.string({ unit: fc.integer({ min: 33, max: 126 }).map((c) => String.fromCharCode(c)), minLength: min, maxLength: max }).filter((s) => s !== '-');
    const sdName = fc.string({ unit: fc.integer({ min: 33, max: 126 }).filter((c) => c !== 61 && c !== 93 && c !== 34).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 32 });
    const escape = (v: string) => v.replace(/[\\"\]]/g, '\\$&');
    const sdArb = fc.dictionary(sdName, fc.dictionary(sdName, fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('"', '\\', ']', '\\]', 'a"b]c\\')), { maxKeys: 4 }), { maxKeys: 3 });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 191 }),
        fc.option(fc.date({ min: new Date(Date.UTC(1980, 0, 1)), max: new Date(Date.UTC(9000, 0, 1)), noInvalidDate: true })),
        fc.option(printable(1, 255)),
        fc.option(printable(1, 48)),
        fc.option(printable(1, 128)),
        fc.option(printable(1, 32)),
        sdArb,
        fc.option(fc.string({ unit: 'binary' }).map((m) => 'm ' + m)),
        fc.boolean(),
        (pri, date, host, app, procid, msgid, sd, msg, bom) => {
          const ts = date === null ? '-' : date.toISOString();
          const sdText = Object.keys(sd).length === 0 ? '-' : Object.entries(sd).map(([id, ps]) => `[${id}${Object.entries(ps).map(([k, v]) => ` ${k}="${escape(v)}"`).join('')}]`).join('');
          const line = `<${pri}>1 ${ts} ${host ?? '-'} ${app ?? '-'} ${procid ?? '-'} ${msgid ?? '-'} ${sdText}${msg === null ? '' : ' ' + (bom ? '\uFEFF' : '') + msg}`;
          const r = parseSyslog5424(line)!;
          expect(r.level).toBe(SEVERITY[pri & 7]);
          expect(r.time).toBe(date === null ? undefined : date.getTime());
          expect(r.host).toBe(host ?? undefined);
          expect(r.app).toBe(app ?? undefined);
          expect(r.message).toBe(msg ?? '');
          const want: Record<string, unknown> = { facility: FACILITIES[pri >> 3] };
          if (procid !== null) want.procid = procid;
          if (msgid !== null) want.msgid = msgid;
          if (Object.keys(sd).length > 0) want.sd = sd;
          expect(r.fields).toEqual(want);
        },
      ),
      { numRuns: 1500 },
    );
  });
});
