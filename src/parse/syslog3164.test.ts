import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseSyslog3164 } from './syslog3164.js';

const local = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) => new Date(y, mo - 1, d, h, mi, s, ms).getTime();
const NOW = local(2026, 11, 23, 13);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'security', 'console', 'solaris-cron', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'];
const SEVERITY = ['emergency', 'alert', 'critical', 'error', 'warn', 'notice', 'info', 'debug'];

describe('parseSyslog3164', () => {
  it('parses the RFC 3164 example', () => {
    expect(parseSyslog3164("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", NOW)).toEqual({
      time: local(2026, 10, 11, 22, 14, 15),
      level: 'critical',
      message: "'su root' failed for lonvick on /dev/pts/8",
      host: 'mymachine',
      app: 'su',
      fields: { facility: 'auth' },
    });
  });

  it('parses a /var/log/syslog line (no PRI) with tag[pid]', () => {
    expect(parseSyslog3164('Nov 23 12:00:00 web-1 sshd[1234]: Failed password for root from 1.2.3.4 port 42772 ssh2', NOW)).toEqual({
      time: local(2026, 11, 23, 12),
      level: undefined,
      message: 'Failed password for root from 1.2.3.4 port 42772 ssh2',
      host: 'web-1',
      app: 'sshd',
      fields: { pid: '1234' },
    });
  });

  it('parses an rsyslog RSYSLOG_FileFormat line (ISO timestamp)', () => {
    const r = parseSyslog3164('2026-11-23T12:00:00.123456+01:00 web-1 systemd[1]: Started Session 4 of user root.')!;
    expect(r).toMatchObject({ time: Date.UTC(2026, 10, 23, 11, 0, 0, 123), host: 'web-1', app: 'systemd', message: 'Started Session 4 of user root.' });
    expect(r.fields).toEqual({ pid: '1' });
    const f = parseSyslog3164('<30>2026-11-23T12:00:00Z web-1 postfix/smtpd[77]: connect from x')!;
    expect(f).toMatchObject({ level: 'info', app: 'postfix/smtpd', host: 'web-1' });
    expect(f.fields).toEqual({ facility: 'daemon', pid: '77' });
  });

  it('handles a missing host, a missing tag, a space-padded day, a year and a fraction', () => {
    expect(parseSyslog3164('<13>Nov  3 01:02:03 kernel: oops', NOW)).toMatchObject({ host: undefined, app: 'kernel', message: 'oops', time: local(2026, 11, 3, 1, 2, 3) });
    expect(parseSyslog3164('Nov 23 12:00:00 web-1 last message repeated 3 times', NOW)).toMatchObject({ host: 'web-1', app: undefined, message: 'last message repeated 3 times' });
    expect(parseSyslog3164('<13>Nov 23 2025 12:00:00.250 rtr1 %LINK-3-UPDOWN: down', NOW)).toMatchObject({ time: local(2025, 11, 23, 12, 0, 0, 250), host: 'rtr1', app: '%LINK-3-UPDOWN' });
    expect(parseSyslog3164('Nov 23 12:00:00 web-1 CRON[55] (root) CMD (run-parts)', NOW)).toMatchObject({ app: 'CRON', message: '(root) CMD (run-parts)' });
  });

  it('takes <PRI> with no header as PRI + message (RFC 3164 §4.3.3)', () => {
    expect(parseSyslog3164('<13>just a message')).toMatchObject({ level: 'notice', message: 'just a message', time: undefined });
    expect(parseSyslog3164('<13>sshd[5]: hi')).toMatchObject({ app: 'sshd', message: 'hi', fields: { facility: 'user', pid: '5' } });
  });

  it('infers the previous year for dates more than a day ahead', () => {
    expect(parseSyslog3164('Dec 31 23:59:59 h t: m', local(2027, 1, 1, 0, 0, 10))!.time).toBe(local(2026, 12, 31, 23, 59, 59));
  });

  it('declines application logs that only start with a timestamp', () => {
    for (const l of [
      '2026-11-23T12:00:00Z INFO main: started',
      '2026-11-23 12:00:00,123 ERROR [main] c.e.App - failed',
      '2026-11-23T12:00:00Z ERROR: failed',
      '2026-11-23T12:00:00Z [worker-1] job: done',
      '2026-11-23T12:00:00Z server listening on :8080',
      'hello world',
      '',
      'Nov 23 is a date',
    ]) {
      expect(parseSyslog3164(l, NOW), l).toBeUndefined();
    }
  });

  it('property: never throws on any string', () => {
    const inputs = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.string().map((s) => '<13>' + s),
      fc.string().map((s) => 'Nov 23 12:00:00 ' + s),
      fc.stringMatching(/^(<[0-9]{1,3}>)?(Nov|Jan) [ 0-9]{1,3} [0-9:.]{0,12} [a-z[\]:0-9 ]{0,30}$/),
      fc.uint8Array({ maxLength: 200 }).map((b) => '<13>' + Buffer.from(b).toString('utf8')),
    );
    fc.assert(
      fc.property(inputs, (line) => {
        const r = parseSyslog3164(line, NOW);
        if (r !== undefined) expect(typeof r.message).toBe('string');
      }),
      { numRuns: 3000 },
    );
  });

  it('property: a generated line gives back every part', () => {
    const hostArb = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,30}$/);
    const tagArb = fc.stringMatching(/^[A-Za-z0-9_./-]{1,32}$/);
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 0, max: 191 })),
        fc.integer({ min: 0, max: 300 * 86400 }),
        hostArb,
        tagArb,
        fc.option(fc.integer({ min: 1, max: 4194304 })),
        fc.string({ unit: 'binary' }),
        (pri, agoSec, host, tag, pid, msg) => {
          const t = new Date(NOW - agoSec * 1000);
          const day = t.getDate();
          const stamp = `${MONTHS[t.getMonth()]} ${day < 10 ? ' ' + day : day} ${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}:${String(t.getSeconds()).padStart(2, '0')}`;
          const line = `${pri === null ? '' : `<${pri}>`}${stamp} ${host} ${tag}${pid === null ? '' : `[${pid}]`}: ${msg}`;
          const r = parseSyslog3164(line, NOW)!;
          expect(r.time).toBe(local(t.getFullYear(), t.getMonth() + 1, day, t.getHours(), t.getMinutes(), t.getSeconds()));
          expect(r.host).toBe(host);
          expect(r.app).toBe(tag);
          expect(r.message).toBe(msg);
          expect(r.level).toBe(pri === null ? undefined : SEVERITY[pri & 7]);
          const want: Record<string, unknown> = {};
          if (pri !== null) want.facility = FACILITIES[pri >> 3];
          if (pid !== null) want.pid = String(pid);
          expect(r.fields).toEqual(want);
        },
      ),
      { numRuns: 1500 },
    );
  });
});
