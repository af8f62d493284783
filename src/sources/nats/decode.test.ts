/** A bus message's NDJSON back into records: decoded line by line, bad lines counted. */
import { describe, expect, it } from 'vitest';
import { decodeRecords } from './decode.js';

const wire = (seq: number, message: string) => JSON.stringify({ seq, time: '2026-12-07T10:00:00.000Z', source: 'app', stream: 'main', origin: { kind: 'file', path: '/a.log' }, level: 'warn', message, fields: { k: message } });

describe('decodeRecords', () => {
  it('every line of a message, ASCII or not, the last one without its newline; what is not a wire record counted', () => {
    const body = [wire(1, 'plain'), wire(2, 'ユーザーがログインしました'), '', '{"seq":3}', 'not json', wire(4, 'é\u00e9\u{1F600}')].join('\n');
    const d = decodeRecords(Buffer.from(body), 'agent-1', 5);
    expect(d.bad).toBe(2);
    expect(d.records.map((r) => [r.message, r.fields.k, r.origin.agent_seq, r.origin.agent, r.level])).toEqual([
      ['plain', 'plain', 1, 'agent-1', 'warn'],
      ['ユーザーがログインしました', 'ユーザーがログインしました', 2, 'agent-1', 'warn'],
      ['é\u00e9\u{1F600}', 'é\u00e9\u{1F600}', 4, 'agent-1', 'warn'],
    ]);
  });

  it('invalid UTF-8 in a message is repaired to U+FFFD in that line alone', () => {
    const good = Buffer.from(wire(1, 'ok') + '\n');
    const bad = Buffer.from(wire(2, 'xAy') + '\n');
    bad[bad.indexOf('xAy') + 1] = 0xff;
    const d = decodeRecords(Buffer.concat([good, bad, good]), 'a', 0);
    expect(d.records.map((r) => r.message)).toEqual(['ok', 'x\uFFFDy', 'ok']);
  });

  it('an empty message has no records', () => {
    expect(decodeRecords(Buffer.alloc(0), 'a', 0)).toEqual({ records: [], bad: 0 });
  });
});
