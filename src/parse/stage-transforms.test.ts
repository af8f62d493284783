/**
 * A source's transforms in the parse stage: the stateless ones run in the
 * parse threads and give what inline parsing gives; the stateful ones run at
 * commit, in order, over one state for all the source's lanes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { LogRecord } from '../core/record.js';
import { CollectingPipeline } from '../../test/helpers/fake-pipeline.js';
import { transformSchema } from '../transforms/config.js';
import { ParsePool } from './pool.js';
import { ParseStage, type LaneSpec, type RawBatch, type StageCounters } from './stage.js';

const counters = (): StageCounters => ({ lines: 0, records: 0, parsed_inline: 0, push_errors: 0 });

/** `n` JSON lines as one byte run in shared memory (a file source's backlog). */
function run(from: number, n: number): RawBatch {
  let text = '';
  for (let i = from; i < from + n; i++) {
    const level = i % 5 === 0 ? 'error' : 'info';
    const team = i % 7 === 0 ? 'noisy' : 'web';
    text += JSON.stringify({ level, msg: `req ${i % 50} token=abc${i}`, team, ip: `10.0.0.${i % 3}` }) + '\n';
  }
  const bytes = Buffer.from(new SharedArrayBuffer(Buffer.byteLength(text)));
  bytes.write(text);
  return { items: [bytes], size: bytes.length, now: 1_700_000_000_000, origin: { kind: 'test' } };
}

const view = (r: LogRecord) => ({ stream: r.stream, level: r.level, message: r.message, fields: r.fields });

async function through(stage: ParseStage, transforms: unknown[], lanes: number, batches: number, c = counters()): Promise<void> {
  const plan = stage.plan('src', 'app', transforms.map((t) => transformSchema.parse(t)));
  const spec: LaneSpec = { source: 'src', stream: 'app', format: 'json', maxLineBytes: 1 << 20, dropStage: 'test', counters: c, ...(plan ? { transforms: plan } : {}) };
  const ls = Array.from({ length: lanes }, () => stage.lane(spec));
  for (let k = 0; k < batches; k++) ls[k % lanes]!.submit(run(k * 400, 400), () => undefined);
  await Promise.all(ls.map((l) => l.settled()));
}

const STATELESS = [
  { type: 'drop', field: 'fields.team', in: ['noisy'] },
  { type: 'redact', matches: ['token=\\S+'] },
  { type: 'extract', into: 'client', from: [{ field: 'fields.client' }, { field: 'fields.ip' }] },
];

describe('ParseStage with transforms', () => {
  const pool = new ParsePool(2);
  afterAll(() => pool.close());

  it('stateless transforms in the parse threads give exactly what inline parsing gives, and the batches stay encoded', async () => {
    const threaded = new CollectingPipeline();
    const c = counters();
    await through(new ParseStage(threaded, pool, { threadMinSize: 0 }), STATELESS, 1, 6, c);
    const inline = new CollectingPipeline();
    await through(new ParseStage(inline), STATELESS, 1, 6);
    const got = threaded.batches.flat().map(view);
    expect(got).toEqual(inline.batches.flat().map(view));
    expect(got.length).toBe(2400 - Math.ceil(2400 / 7));
    expect(got[0]).toEqual({ stream: 'app', level: 'info', message: 'req 1 [REDACTED]', fields: { team: 'web', ip: '10.0.0.1', client: '10.0.0.1' } });
    expect(threaded.encoded.every(Boolean)).toBe(true);
    expect(c.parsed_inline).toBe(0);
    expect(c.transform_dropped).toBe(Math.ceil(2400 / 7));
    expect(threaded.drops.filter((d) => d.stage === 'transform').reduce((n, d) => n + d.n, 0)).toBe(Math.ceil(2400 / 7));
  });

  it('records of several origins (a container\'s stdout and stderr) keep their own origin when a transform drops some', async () => {
    const origins = [{ kind: 'docker', std: 'stdout' }, { kind: 'docker', std: 'stderr' }];
    const batch = (): RawBatch => {
      const items: string[] = [];
      for (let i = 0; i < 300; i++) items.push(i % 3 === 0 ? `drop ${i}` : `keep ${i}`);
      const size = items.reduce((n, l) => n + l.length, 0);
      return { items, size, now: 1_700_000_000_000, origin: origins[0]!, origins, originIdx: Uint8Array.from(items.map((_, i) => i % 2)) };
    };
    for (const threadMinSize of [0, Infinity]) {
      const p = new CollectingPipeline();
      const stage = new ParseStage(p, pool, { threadMinSize });
      const plan = stage.plan('src', 'app', [transformSchema.parse({ type: 'drop', field: 'message', matches: '^drop' })]);
      const lane = stage.lane({ source: 'src', stream: 'app', format: 'plain', maxLineBytes: 1 << 20, dropStage: 'test', counters: counters(), transforms: plan! });
      lane.submit(batch(), () => undefined);
      await lane.settled();
      const got = p.batches.flat();
      expect(got.length).toBe(200);
      // each record's origin is its own line's, in the record and in what the batch says of it
      for (const r of got) expect([r.message, r.origin.std]).toEqual([r.message, Number(r.message.split(' ')[1]) % 2 === 0 ? 'stdout' : 'stderr']);
    }
  });

  it('a route moves records to their stream: a thread hands such a batch back decoded', async () => {
    const p = new CollectingPipeline();
    await through(new ParseStage(p, pool, { threadMinSize: 0 }), [{ type: 'route', field: 'level', in: ['error'], stream: 'errors' }], 1, 2);
    const all = p.batches.flat();
    expect(all.filter((r) => r.stream === 'errors').map((r) => r.level)).toEqual(Array(160).fill('error'));
    expect(all.filter((r) => r.stream === 'app').length).toBe(640);
    expect(p.encoded.some(Boolean)).toBe(false);
  });

  it('a stateful transform sees every lane of the source once, in commit order, after the threads did the stateless part', async () => {
    const p = new CollectingPipeline();
    const c = counters();
    // 4 lanes, 8 batches over 2 threads; the message repeats every 50 lines: one record per message passes
    await through(new ParseStage(p, pool, { threadMinSize: 0 }), [{ type: 'redact', matches: ['token=\\S+'] }, { type: 'dedupe', keys: ['message'], window: '1h' }], 4, 8, c);
    const msgs = p.batches.flat().map((r) => r.message);
    expect(msgs.length).toBe(50);
    expect(new Set(msgs).size).toBe(50);
    expect(c.transform_dropped).toBe(3200 - 50);
    expect(p.drops.filter((d) => d.reason === 'dedupe').reduce((n, d) => n + d.n, 0)).toBe(3150);
    // every record's seq is in push order: the summary of what reached the hub is consistent
    expect(p.batches.flat().map((r) => r.seq)).toEqual(msgs.map((_, i) => i + 1));
    // dedupe only reads: the batches stayed encoded, the dropped records cut out of their bytes
    expect(p.encoded.every(Boolean)).toBe(true);
    expect(p.batches.flat().every((r) => r.message.startsWith('req ') && !r.message.includes('token='))).toBe(true);
  });

  it("sessions closed by a batch are published right after it; the source is told the batch's own seqs", async () => {
    const p = new CollectingPipeline();
    const stage = new ParseStage(p, pool, { threadMinSize: 0 });
    const plan = stage.plan('src', 'app', [transformSchema.parse({ type: 'sessions', keys: ['fields.ip'], idle: '1h', max: '1ms' })]);
    const lane = stage.lane({ source: 'src', stream: 'app', format: 'json', maxLineBytes: 1 << 20, dropStage: 'test', counters: counters(), transforms: plan! });
    const commits: [number, number][] = [];
    lane.submit(run(0, 400), (n, seqLast) => commits.push([n, seqLast]));
    await lane.settled();
    // every record's time is the batch's `now` (no time in the lines): with max 1ms each new record of an ip closes nothing;
    // then a later batch closes all 3 (its records are 1 ms later, past max)
    const later = run(400, 3);
    later.now += 5;
    lane.submit(later, (n, seqLast) => commits.push([n, seqLast]));
    await lane.settled();
    expect(commits).toEqual([[400, 400], [3, 403]]);
    expect(p.encoded).toEqual([true, true, false]);
    expect(p.batches[2]!.map((r) => (r.fields.session as { reason: string; count: number })).map((x) => [x.reason, x.count])).toEqual([['max', 133], ['max', 133], ['max', 134]]);
    plan!.close(false);
  });
});
