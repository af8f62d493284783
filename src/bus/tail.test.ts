/**
 * The cluster's live tail against a nats-server of the test's own: two
 * tails (two servers) give every record the same id; a resume on the other
 * goes on with no gap and no repeat; a tail started later fills its ring
 * from the recent messages only, and tells a resume from before them as a
 * gap; gzip'd messages are read, bad ones counted.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { busSchema, type BusConfig } from './config.js';
import { ensureRecordsStream, recordsSubject } from './jetstream.js';
import { ClusterTail, tailId } from './tail.js';
import type { Entry } from '../hub/entry.js';
import { entryJson } from '../wire/block.js';
import { NATS_SERVER, startNats, stopAllNats, type NatsHandle } from '../../test/helpers/nats.js';
import { waitFor } from '../../test/helpers/daemon.js';
import { requires } from '../../test/helpers/requires.js';

afterAll(() => stopAllNats());

const drops: string[] = [];
const hubOpts = { defaults: { replay: 10_000, replayBytes: 32 * 1024 * 1024 }, streams: { app: { replay: 10_000, replayBytes: 32 * 1024 * 1024 } }, drop: (stage: string, reason: string) => void drops.push(`${stage}/${reason}`) };

function wire(from: number, n: number): string {
  let s = '';
  for (let i = from; i < from + n; i++) s += JSON.stringify({ seq: i, time: '2026-12-07T08:00:00.000Z', source: 'src', stream: 'app', origin: { kind: 'file', path: '/x' }, message: `m${i}` }) + '\n';
  return s;
}

describe.skipIf(!requires('nats-server', NATS_SERVER !== undefined, 'apt-get install nats-server'))('ClusterTail', () => {
  let nats: NatsHandle;
  let nc: NatsConnection;
  let cfg: BusConfig;
  const tails: ClusterTail[] = [];
  let next = 1;

  async function publish(n: number, gzip = false, body?: string): Promise<void> {
    const h = headers();
    h.set('Sluice-Agent', 'ag1');
    if (gzip) h.set('Content-Encoding', 'gzip');
    const text = body ?? wire(next, n);
    next += n;
    await jetstream(nc).publish(recordsSubject('sluice', 'app', 'src'), gzip ? gzipSync(text) : text, { headers: h });
  }

  async function tail(backfillBytes = 32 * 1024 * 1024): Promise<ClusterTail> {
    const t = new ClusterTail(cfg, hubOpts, backfillBytes, () => undefined);
    tails.push(t);
    t.start();
    return t;
  }

  const messages = (t: ClusterTail, since?: number) => t.hub.records(null, since, 100_000).map((e) => ({ seq: e.seq, message: (JSON.parse(entryJson(e)) as { message: string }).message }));

  afterEach(async () => {
    await Promise.all(tails.splice(0).map((t) => t.stop()));
    await nc?.close();
    await nats?.stop();
    next = 1;
  });

  async function setup(): Promise<void> {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    cfg = busSchema.parse({ kind: 'nats', url: nats.url });
    await ensureRecordsStream(await jetstreamManager(nc), cfg);
  }

  it('two servers give each record the same id; a client resuming on the other goes on with no gap and no repeat', async () => {
    await setup();
    for (let k = 0; k < 3; k++) await publish(3);
    const [a, b] = [await tail(), await tail()];
    await waitFor(() => a.counters.records === 9 && b.counters.records === 9, 'both tails read the stream');
    const ra = messages(a);
    expect(ra.map((r) => r.seq)).toEqual([1, 2, 3].flatMap((m) => [0, 1, 2].map((i) => tailId(m, i))));
    expect(ra.map((r) => r.message)).toEqual(Array.from({ length: 9 }, (_, i) => `m${i + 1}`));
    expect(messages(b)).toEqual(ra);
    // a client resuming from the start (since 0): every record, no gap (the tail holds the stream from its first message)
    const fromStart: Entry[] = [];
    const first = a.hub.subscribe({ stream: 'app', since: 0, maxLag: 1000, stage: 'sse', onWake: () => undefined });
    expect(first.take(1000, fromStart)).toBeUndefined();
    a.hub.unsubscribe(first);
    expect(fromStart).toHaveLength(9);
    // a client resuming on B from a point B has not reached yet (it was read through a server ahead of B)
    // waits for it: it gets what follows the point, not what B reads up to it
    const ahead: Entry[] = [];
    const early = b.hub.subscribe({ stream: 'app', since: tailId(4, 1), maxLag: 1000, stage: 'sse', onWake: () => undefined });
    // live: both follow what comes next, gzip'd or not
    await publish(4, true);
    await publish(2);
    await waitFor(() => a.counters.records === 15 && b.counters.records === 15, 'both tails follow');
    expect(early.take(1000, ahead)).toBeUndefined();
    b.hub.unsubscribe(early);
    expect(ahead.map((e) => e.seq)).toEqual([tailId(4, 2), tailId(4, 3), tailId(5, 0), tailId(5, 1)]);
    // a client that had read A up to the 5th record resumes on B after it: the 6th onwards, each once
    const resumeAt = messages(a)[4]!.seq;
    const rest = messages(b, resumeAt);
    expect(rest.map((r) => r.message)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 6}`));
    expect(messages(a, resumeAt)).toEqual(rest);
    // a live subscriber resuming on B from the same point gets the same, with no gap notice
    const got: Entry[] = [];
    const sub = b.hub.subscribe({ stream: 'app', since: resumeAt, maxLag: 1000, stage: 'sse', onWake: () => undefined });
    const notice = sub.take(1000, got);
    b.hub.unsubscribe(sub);
    expect(notice).toBeUndefined();
    expect(got.map((e) => e.seq)).toEqual(rest.map((r) => r.seq));
  });

  it('a tail started later fills its ring from the recent messages only; a resume from before them is a gap; bad input is counted', async () => {
    await setup();
    for (let k = 0; k < 20; k++) await publish(5);
    await publish(0, false, 'not json\n' + wire(101, 1));
    const h = headers();
    h.set('Content-Encoding', 'gzip');
    await jetstream(nc).publish(recordsSubject('sluice', 'app', 'src'), 'plainly not gzip', { headers: h });
    // room for about 4 messages' bytes
    const info = await (await jetstreamManager(nc)).streams.info('sluice-records');
    const t = await tail(Math.ceil((info.state.bytes / info.state.messages) * 4));
    await waitFor(() => t.counters.last_message === info.state.last_seq, 'the tail read up to the end');
    // the last message is taken (last_message) before its body is inflated, and found bad after
    await waitFor(() => t.counters.bad_messages > 0, 'the bad gzip counted');
    expect(t.counters.messages).toBeLessThanOrEqual(6);
    expect(t.counters.bad_messages).toBe(1);
    expect(drops).toContain('tail/bad_message');
    const first = messages(t)[0]!.seq;
    expect(first).toBeGreaterThan(tailId(15, 0));
    // a client resuming from message 2 is told of a gap, then gets what the ring holds
    const got: Entry[] = [];
    const sub = t.hub.subscribe({ stream: 'app', since: tailId(2, 0), maxLag: 1000, stage: 'sse', onWake: () => undefined });
    const notice = sub.take(1000, got);
    t.hub.unsubscribe(sub);
    expect(notice?.kind).toBe('gap');
    expect(got[0]!.seq).toBe(first);
    // a line of a message that is not a wire record is counted and skipped; its neighbour is kept
    const all = await tail();
    await waitFor(() => all.counters.last_message === info.state.last_seq, 'a full tail read up to the end');
    expect(all.counters.bad_records).toBeGreaterThanOrEqual(1);
    expect(messages(all).some((r) => r.message === 'm101')).toBe(true);
  });
});
