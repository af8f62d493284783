/**
 * The JetStream transport: a batch cut into one message per stream and
 * source (the same cut every time), published with acknowledgements and
 * Nats-Msg-Id, so the same batch sent again is stored once; NATS away is
 * retryable. Against a nats-server of the test's own.
 */
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { busSchema } from '../../bus/config.js';
import { line } from '../../../test/helpers/forward-stage.js';
import { NATS_SERVER, startNats, stopAllNats } from '../../../test/helpers/nats.js';
import { freePort, waitFor } from '../../../test/helpers/daemon.js';
import { JetStreamTransport, lineRoute, splitBatch } from './jetstream.js';
import { requires } from '../../../test/helpers/requires.js';

afterAll(() => stopAllNats());


describe('splitBatch', () => {
  it('groups lines by stream and source in order of first appearance, each group in the batch\'s order', () => {
    const a1 = line('a', 's1'), b1 = line('b', 's1'), a2 = line('a', 's1'), c1 = line('a', 's2');
    const parts = splitBatch(Buffer.from(a1 + b1 + a2 + c1), 1 << 20)!;
    expect(parts.map((p) => [p.stream, p.source, p.records, p.ndjson.toString()])).toEqual([
      ['s1', 'a', 2, a1 + a2],
      ['s1', 'b', 1, b1],
      ['s2', 'a', 1, c1],
    ]);
  });

  it('cuts a group at max bytes, and gives up on a line larger than max', () => {
    const ls = Array.from({ length: 5 }, () => line('a', 's'));
    const max = ls[0]!.length * 2;
    expect(splitBatch(Buffer.from(ls.join('')), max)!.map((p) => p.records)).toEqual([2, 2, 1]);
    expect(splitBatch(Buffer.from(line('a', 's', 'x'.repeat(100))), 50)).toBeUndefined();
  });

  it('reads source and stream with escapes and odd characters', () => {
    const l = Buffer.from(line('we"ird\\src', 'str.e am'));
    expect(lineRoute(l, 0, l.length)).toEqual({ source: 'we"ird\\src', stream: 'str.e am' });
  });
});

describe.skipIf(!requires('nats-server', NATS_SERVER !== undefined, 'apt-get install nats-server'))('JetStreamTransport', () => {
  it('publishes one message per stream and source on its subject; the same batch again is stored once (Nats-Msg-Id)', async () => {
    const nats = await startNats();
    const cfg = busSchema.parse({ kind: 'nats', url: nats.url, prefix: 't', publish: { gzip: false } });
    const t = new JetStreamTransport(cfg, 'test-agent');
    const body = Buffer.from(line('app', 'main') + line('web', 'main') + line('app', 'main') + line('app', 'a.b'));
    const r1 = await t.send({ ndjson: body, records: 4, key: 'agent1-7' }, 5_000);
    expect(r1).toMatchObject({ ok: true });
    expect([t.published, t.duplicates]).toEqual([3, 0]);
    const r2 = await t.send({ ndjson: body, records: 4, key: 'agent1-7' }, 5_000);
    expect(r2).toMatchObject({ ok: true });
    expect([t.published, t.duplicates]).toEqual([3, 3]);
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('t-records', { subjects_filter: '>' });
    expect(info.state.messages).toBe(3);
    expect(info.state.subjects).toEqual({ 't.records.main.app': 1, 't.records.main.web': 1, 't.records.a%2Eb.app': 1 });
    const m = await jsm.streams.getMessage('t-records', { seq: 1 });
    expect(m!.header.get('Nats-Msg-Id')).toBe('agent1-7-0');
    expect(m!.header.get('Sluice-Agent')).toBe('agent1');
    expect(m!.string().split('\n').filter(Boolean)).toHaveLength(2);
    // a third send under another key is new
    await t.send({ ndjson: body, records: 4, key: 'agent1-8' }, 5_000);
    expect((await jsm.streams.info('t-records')).state.messages).toBe(6);
    await nc.close();
    t.close();
    await nats.stop();
  }, 30_000);

  it('NATS unreachable: a retryable failure naming it', async () => {
    const cfg = busSchema.parse({ kind: 'nats', url: `nats://127.0.0.1:${await freePort()}` });
    const t = new JetStreamTransport(cfg, 'test-agent');
    const r = await t.send({ ndjson: Buffer.from(line('a', 's')), records: 1, key: 'x-1' }, 1_000);
    expect(r).toMatchObject({ ok: false, retryable: true, error: expect.stringMatching(/cannot reach JetStream/) });
    t.close();
  });

  it('the connection lost: a send fails at once (retryable), not after its timeout; NATS back, it goes through', async () => {
    let nats = await startNats();
    const cfg = busSchema.parse({ kind: 'nats', url: nats.url });
    const t = new JetStreamTransport(cfg, 'test-agent');
    const body = Buffer.from(line('app', 'main'));
    expect(await t.send({ ndjson: body, records: 1, key: 'lost-1' }, 20_000)).toMatchObject({ ok: true });
    await nats.stop();
    const r = await t.send({ ndjson: body, records: 1, key: 'lost-2' }, 20_000);
    expect(r).toMatchObject({ ok: false, retryable: true });
    expect(r.latencyMs).toBeLessThan(5_000);
    nats = await startNats({ port: nats.port, dir: nats.dir });
    await waitFor(async () => (await t.send({ ndjson: body, records: 1, key: 'lost-2' }, 2_000)).ok, 'a send after NATS is back', 20_000, 100);
    t.close();
    await nats.stop();
  }, 60_000);
});
