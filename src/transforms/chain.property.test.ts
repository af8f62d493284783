/**
 * Property: for random records and random transform chains, no transform
 * throws, every record out is a valid record (it serializes to the wire),
 * redact leaves no match of its pattern in its field, and the per-transform
 * counters add up (in = out + dropped along the chain).
 */
import fc from 'fast-check';
import RE2 from 're2';
import { describe, expect, it } from 'vitest';
import { LEVELS, type LogRecord } from '../core/record.js';
import { recordParts } from '../wire/json.js';
import { transformSchema, type TransformConfig } from './config.js';
import { TransformPlan } from './plan.js';

const word = fc.constantFrom('a', 'b', 'err', 'token=x1', 'pw=', 'é', '\u0000', '10.0.0.1', '', ' ');
const text = fc.array(word, { maxLength: 6 }).map((ws) => ws.join(' '));
const value: fc.Arbitrary<unknown> = fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null), fc.dictionary(fc.constantFrom('x', 'y'), text, { maxKeys: 2 }));
const record: fc.Arbitrary<LogRecord> = fc.record({
  message: text,
  level: fc.option(fc.constantFrom(...LEVELS), { nil: undefined }),
  fields: fc.dictionary(fc.constantFrom('a', 'b', 'ip', 'user', 'nested'), value, { maxKeys: 4 }),
  time: fc.integer({ min: 0, max: 4_000_000_000_000 }),
  received: fc.integer({ min: 1_700_000_000_000, max: 1_700_000_100_000 }),
}).map((r) => ({ seq: 0, source: 's', stream: 'app', origin: { kind: 'test' }, ...r, ...(r.level === undefined ? { level: undefined } : {}) }) as LogRecord);

const path = fc.constantFrom('message', 'level', 'fields.a', 'fields.ip', 'fields.nested.x', 'origin.kind', 'host');
const pattern = fc.constantFrom('a', 'token=\\S+', '\\d+', 'é', '^$', '(?i)ERR', '\\s');
const transform: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ type: fc.constant('drop'), field: path, matches: pattern }),
  fc.record({ type: fc.constant('drop'), field: path, in: fc.array(text, { minLength: 1, maxLength: 3 }) }),
  fc.record({ type: fc.constant('route'), field: path, matches: pattern, stream: fc.constantFrom('x', 'y') }),
  fc.record({ type: fc.constant('extract'), into: fc.constantFrom('got', 'a'), from: fc.array(fc.record({ field: path }), { minLength: 1, maxLength: 3 }) }),
  fc.record({ type: fc.constant('redact'), field: fc.constantFrom('message', 'fields.a', 'fields.nested.x'), matches: fc.array(pattern, { minLength: 1, maxLength: 2 }) }),
  fc.record({ type: fc.constant('dedupe'), keys: fc.array(path, { minLength: 1, maxLength: 2 }), window: fc.constantFrom('1ms', '1s', '1h'), max_keys: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ type: fc.constant('throttle'), keys: fc.array(path, { minLength: 1, maxLength: 2 }), rate: fc.constantFrom(0.5, 1, 3), per: fc.constantFrom('1ms', '1s') }),
  fc.record({ type: fc.constant('sessions'), keys: fc.array(path, { minLength: 1, maxLength: 2 }), idle: fc.constantFrom('1ms', '1h'), max: fc.constantFrom('1ms', '1h'), collect: fc.array(path, { maxLength: 2 }), max_keys: fc.integer({ min: 1, max: 3 }) }),
);

describe('transform chains', () => {
  it('property: random chains over random records never throw, give valid records, and their counters add up', () => {
    fc.assert(
      fc.property(fc.array(transform, { minLength: 1, maxLength: 6 }), fc.array(record, { maxLength: 30 }), (raw, records) => {
        const cfgs: TransformConfig[] = raw.map((t) => transformSchema.parse(t));
        const emitted: LogRecord[] = [];
        const plan = new TransformPlan('s', 'app', cfgs, { drop: () => undefined, emit: (rs) => void emitted.push(...rs) });
        try {
          const batch = records.map((r) => ({ ...r, fields: structuredClone(r.fields) }));
          plan.applyThreaded(batch);
          const out = plan.applyMain(batch).records;
          plan.tick(1_800_000_000_000);
          for (const r of [...out, ...emitted]) {
            expect(typeof r.message).toBe('string');
            expect(() => recordParts(r)).not.toThrow();
          }
          // the last redact of a field leaves no match of its patterns in it (unless a pattern matches the marker itself)
          const last = [...cfgs].reverse().find((c) => c.type === 'redact');
          if (last?.type === 'redact' && last.field === 'message' && !last.matches.some((p) => new RE2(p, 'u').test('[REDACTED]'))) {
            const after = cfgs.slice(cfgs.lastIndexOf(last) + 1);
            // (a session summary is made after the chain's redact ran: its own text is not a record's)
            if (!after.some((c) => c.type === 'extract')) for (const r of out.filter((x) => x.origin.kind !== 'session')) for (const p of last.matches) expect(new RE2(p, 'u').test(r.message)).toBe(false);
          }
          const chain = plan.chain();
          expect(chain[0]!.in).toBe(records.length);
          for (let i = 1; i < chain.length; i++) expect(chain[i]!.in).toBe(chain[i - 1]!.out);
          for (const c of chain) expect(c.in - c.out).toBe(c.dropped);
        } finally {
          plan.close(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
