/**
 * The server's JetStream consumer against a nats-server of the test's own:
 * records keep the agent's source, stream and origin (plus the agent's id
 * and seq); a message is acknowledged once its records are in the pipeline;
 * one a dead consumer held unacknowledged comes again after ack_wait; one
 * whose push failed is NAKed and comes again; an unreadable one is counted.
 */
import { connect, headers, nanos } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { busSchema } from '../../bus/config.js';
import type { LogRecord } from '../../core/record.js';
import { serializeRecord } from '../../wire/json.js';
import { JetStreamTransport } from '../../sinks/forward/jetstream.js';
import { CollectingPipeline } from '../../../test/helpers/fake-pipeline.js';
import { NATS_SERVER, startNats, stopAllNats } from '../../../test/helpers/nats.js';
import { waitFor } from '../../../test/helpers/daemon.js';
import { BusSource } from './source.js';
import { requires } from '../../../test/helpers/requires.js';

afterAll(() => stopAllNats());

let seq = 100;
function lines(n: number, source = 'app', stream = 'main'): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const r: LogRecord = { seq: ++seq, time: 1_700_000_000_123, received: 0, source, stream, origin: { kind: 'file', path: '/var/log/a.log' }, level: 'warn', host: 'edge1', message: `line ${seq}`, fields: { k: seq } };
    s += serializeRecord(r) + '\n';
  }
  return s;
}

async function setup(extra: Record<string, unknown> = {}) {
  const nats = await startNats();
  const cfg = busSchema.parse({ kind: 'nats', url: nats.url, ack_wait: '1s', ...extra });
  const agent = new JetStreamTransport(cfg, 'agent');
  return { nats, cfg, agent };
}

describe.skipIf(!requires('nats-server', NATS_SERVER !== undefined, 'apt-get install nats-server'))('BusSource', () => {
  it('records keep what they were on the agent, with its id and seq in origin; every message acknowledged', async () => {
    const { nats, cfg, agent } = await setup();
    expect(await agent.send({ ndjson: Buffer.from(lines(3) + lines(2, 'web', 'edge')), records: 5, key: 'a1b2-1' }, 5000)).toMatchObject({ ok: true });
    const p = new CollectingPipeline();
    const src = new BusSource(cfg, 'server-1');
    await src.start(p);
    await waitFor(() => p.batches.flat().length === 5, 'five records');
    const recs = p.batches.flat();
    // one message per stream and source: their order between subjects is JetStream's (the agent publishes them at once), within one it is the agent's
    const app = recs.filter((r) => r.source === 'app');
    expect(app[0]).toMatchObject({ source: 'app', stream: 'main', host: 'edge1', level: 'warn', message: 'line 101', fields: { k: 101 }, time: 1_700_000_000_123, origin: { kind: 'file', path: '/var/log/a.log', agent: 'a1b2', agent_seq: 101 } });
    expect(app.map((r) => `${r.stream}/${r.message}`)).toEqual(['main/line 101', 'main/line 102', 'main/line 103']);
    expect(recs.filter((r) => r.source === 'web').map((r) => `${r.stream}/${r.message}`)).toEqual(['edge/line 104', 'edge/line 105']);
    expect(recs.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await waitFor(async () => (await jsm.consumers.info('sluice-records', 'sluice-servers')).num_ack_pending === 0, 'no message pending acknowledgement');
    expect((await jsm.consumers.info('sluice-records', 'sluice-servers')).num_pending).toBe(0);
    expect(src.status()).toMatchObject({ state: 'running', counters: { messages: 2, records: 5, redelivered: 0 } });
    await src.stop();
    await nc.close();
    agent.close();
    await nats.stop();
  }, 30_000);

  it('messages a dead server fetched and never acknowledged come again after ack_wait, to the live one', async () => {
    const { nats, cfg, agent } = await setup();
    for (let i = 1; i <= 4; i++) await agent.send({ ndjson: Buffer.from(lines(10)), records: 10, key: `dead-${i}` }, 5000);
    // the dead server: a client of the durable consumer (made as BusSource makes it) that fetches two messages and goes away without acknowledging
    const nc = await connect({ servers: nats.url });
    await (await jetstreamManager(nc)).consumers.add('sluice-records', { durable_name: 'sluice-servers', ack_policy: AckPolicy.Explicit, ack_wait: nanos(1000), filter_subject: 'sluice.records.>' });
    const c = await jetstream(nc).consumers.get('sluice-records', 'sluice-servers');
    const held: number[] = [];
    for await (const m of await c.fetch({ max_messages: 2, expires: 1000 })) held.push(m.seq);
    expect(held).toEqual([1, 2]);
    await nc.close(); // dies holding them
    const p = new CollectingPipeline();
    const src = new BusSource(cfg, 'server-1');
    await src.start(p);
    await waitFor(() => p.batches.flat().length === 40, 'all forty records handled', 20_000);
    expect(src.counters.redelivered).toBe(2);
    expect(new Set(p.batches.flat().map((r) => r.message)).size).toBe(40);
    await src.stop();
    agent.close();
    await nats.stop();
  }, 30_000);

  it('a push that fails is NAKed and the message comes again; an unreadable message is terminated and counted', async () => {
    // ack_wait far longer than the wait below: only the NAK brings the message back in time
    const { nats, cfg, agent } = await setup({ ack_wait: '60s' });
    await agent.send({ ndjson: Buffer.from(lines(3)), records: 3, key: 'nak-1' }, 5000);
    const nc = await connect({ servers: nats.url });
    const h = headers();
    h.set('Content-Encoding', 'gzip');
    await jetstream(nc).publish('sluice.records.main.app', Buffer.from('not gzip'), { headers: h });
    const p = new CollectingPipeline();
    let fail = 1;
    const push = p.push.bind(p);
    p.push = (b) => {
      if (fail-- > 0) throw new Error('boom');
      return push(b);
    };
    const src = new BusSource(cfg, 'server-1');
    await src.start(p);
    await waitFor(() => p.batches.flat().length === 3 && src.counters.bad_messages === 1, 'the records after a NAK, and the bad message counted', 10_000);
    expect(src.counters).toMatchObject({ naked: 1, redelivered: 1, messages: 1, bad_messages: 1 });
    expect(p.drops).toEqual([{ stage: 'bus', reason: 'bad_message', n: 1 }]);
    await src.stop();
    await nc.close();
    agent.close();
    await nats.stop();
  }, 30_000);

  it('with a store behind: a message is acknowledged only once its records\' events are stored; a failed write NAKs it and it comes again', async () => {
    const { nats, cfg, agent } = await setup({ ack_wait: '60s' });
    await agent.send({ ndjson: Buffer.from(lines(2)), records: 2, key: 'st-1' }, 5000);
    const asked: { seq: number; answer: (ok: boolean) => void }[] = [];
    const p = new CollectingPipeline();
    const src = new BusSource(cfg, 'server-1', (seq) => new Promise((r) => asked.push({ seq, answer: r })));
    await src.start(p);
    await waitFor(() => asked.length === 1, 'the source asking whether the events are stored');
    expect(asked[0]!.seq).toBe(2); // the last record of the message
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    expect((await jsm.consumers.info('sluice-records', 'sluice-servers')).num_ack_pending).toBe(1);
    asked[0]!.answer(false); // the store write failed: NAK, delivered again
    await waitFor(() => asked.length === 2, 'the message again', 10_000);
    expect(src.counters).toMatchObject({ store_failed: 1, redelivered: 1, acked: 0 });
    asked[1]!.answer(true);
    await waitFor(async () => (await jsm.consumers.info('sluice-records', 'sluice-servers')).num_ack_pending === 0, 'the message acknowledged');
    expect(src.counters).toMatchObject({ acked: 1, messages: 2 });
    await src.stop();
    await nc.close();
    agent.close();
    await nats.stop();
  }, 30_000);

  it('a store slower than ack_wait: the server tells JetStream it is still working, the message is not delivered again', async () => {
    const { nats, cfg, agent } = await setup({ ack_wait: '1s' });
    await agent.send({ ndjson: Buffer.from(lines(2)), records: 2, key: 'slow-1' }, 5000);
    const p = new CollectingPipeline();
    // the store answers after two and a half ack_waits (a slow disk, a busy PostgreSQL)
    const src = new BusSource(cfg, 'server-1', () => new Promise((r) => setTimeout(() => r(true), 2_500)));
    await src.start(p);
    await waitFor(() => src.counters.acked === 1, 'the message acknowledged', 10_000);
    expect(src.counters).toMatchObject({ messages: 1, redelivered: 0, repeats_skipped: 0 });
    expect(p.batches.flat()).toHaveLength(2);
    await src.stop();
    agent.close();
    await nats.stop();
  }, 30_000);

  it('a message this server took, delivered again as a first delivery (the consumer\'s state lost, as when NATS restarts before it kept the acks): not pushed again', async () => {
    const { nats, cfg, agent } = await setup();
    await agent.send({ ndjson: Buffer.from(lines(3)), records: 3, key: 'lost-1' }, 5000);
    await agent.send({ ndjson: Buffer.from(lines(2)), records: 2, key: 'lost-2' }, 5000);
    const p = new CollectingPipeline();
    const src = new BusSource(cfg, 'server-1');
    await src.start(p);
    await waitFor(() => src.counters.acked === 2, 'both acknowledged');
    // the durable consumer made again from the start: JetStream delivers both messages anew (delivery count 1)
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.delete('sluice-records', 'sluice-servers');
    await jsm.consumers.add('sluice-records', { durable_name: 'sluice-servers', ack_policy: AckPolicy.Explicit, ack_wait: nanos(1000), filter_subject: 'sluice.records.>', max_deliver: -1 });
    // (the consumer loop notices the deletion when its pull request ends, and starts over)
    await waitFor(() => src.counters.messages + src.counters.repeats_skipped === 4, 'both delivered again', 90_000);
    expect(src.counters).toMatchObject({ messages: 2, repeats_skipped: 2, redelivered: 0 });
    expect(p.batches.flat()).toHaveLength(5);
    await waitFor(async () => (await jsm.consumers.info('sluice-records', 'sluice-servers')).num_ack_pending === 0, 'both acknowledged again');
    await src.stop();
    await nc.close();
    agent.close();
    await nats.stop();
  }, 120_000);
});
