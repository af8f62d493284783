import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { Hub } from '../hub/hub.js';
import { Block } from '../wire/block.js';
import type { Entry } from '../hub/entry.js';
import type { LogRecord } from '../core/record.js';
import { buildFilter } from './filter.js';

const rec = (message: string): LogRecord => ({ seq: 0, time: 0, received: 0, source: 's', stream: 'a', origin: { kind: 't' }, message, fields: {} });

function entriesOf(messages: string[]): Entry[] {
  const hub = new Hub({ seqStart: 0, defaults: { replay: 10_000, replayBytes: 1 << 26 }, streams: {}, drop: () => {} });
  hub.publish(messages.map(rec));
  return hub.records('a', 0, 10_000);
}

// text that exercises the byte path's edges: escapes, quotes, backslashes, controls, non-ASCII, the Kelvin sign
const piece = fc.constantFrom('a', 'B', 'k', 'K', 'n', '\n', '\\', '"', '\t', '\u0001', 'é', 'É', '\u212a', '日', '😀', ' ', 'x', 'N', 'u');
const text = fc.array(piece, { maxLength: 12 }).map((a) => a.join(''));

describe('live filters over a ring entry\'s bytes', () => {
  it('q: the same answer as a case-insensitive search of the decoded message', () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 8 }), text, (messages, q) => {
        fc.pre(q.length > 0);
        const f = buildFilter({ q })!;
        const entries = entriesOf(messages);
        expect(entries.map((e) => f(e))).toEqual(messages.map((m) => m.toLowerCase().includes(q.toLowerCase())));
      }),
      { numRuns: 500 },
    );
  });

  it('re: the same answer as RE2 over the decoded message', () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 8 }), fc.constantFrom('^a', 'k$', 'é+', '\\\\', '"', '\\n', '(?i)k', '.日', 'B.*x', '^$'), (messages, re) => {
        const f = buildFilter({ re })!;
        const entries = entriesOf(messages);
        const RE2 = new (createRequire(import.meta.url)('re2') as new (p: string) => { test(s: string): boolean })(re);
        expect(entries.map((e) => f(e))).toEqual(messages.map((m) => RE2.test(m)));
      }),
      { numRuns: 300 },
    );
  });

  it('decides plain ASCII messages from the bytes: no message is decoded', () => {
    const entries = entriesOf(['GET /health 200', 'POST /login 401 Failed', 'failover done', 'ok']);
    const decode = vi.spyOn(Block.prototype, 'message');
    try {
      const q = buildFilter({ q: 'FAIL' })!;
      expect(entries.map((e) => q(e))).toEqual([false, true, true, false]);
      const re = buildFilter({ re: '^(GET|POST) ' })!;
      expect(entries.map((e) => re(e))).toEqual([true, true, false, false]);
      expect(decode).not.toHaveBeenCalled();
    } finally {
      decode.mockRestore();
    }
  });
});
