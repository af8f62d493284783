/**
 * The JetStream transport at its edges (mutation testing): blank lines and a
 * last line without its newline in splitBatch, groups that only a separator
 * keeps apart, lines not in the wire layout read whole, a gzip'd message
 * with its header, a record larger than the server's max_payload refused for
 * good with the limit named, and a closed transport that does not connect
 * again.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { busSchema } from '../../bus/config.js';
import { line } from '../../../test/helpers/forward-stage.js';
import { NATS_SERVER, startNats, stopAllNats } from '../../../test/helpers/nats.js';
import { freePort, tempDir, waitFor } from '../../../test/helpers/daemon.js';
import { JetStreamTransport, lineRoute, splitBatch } from './jetstream.js';
import { requires } from '../../../test/helpers/requires.js';

afterAll(() => stopAllNats());


describe('splitBatch edges', () => {
  it('skips blank lines, and keeps a last line without its newline', () => {
    const a = line('a', 's'), b = line('a', 's').trimEnd();
    const parts = splitBatch(Buffer.from('\n' + a + '\n\n' + b), 1 << 20)!;
    expect(parts.map((p) => [p.stream, p.source, p.records, p.ndjson.toString()])).toEqual([['s', 'a', 2, a + b]]);
    expect(splitBatch(Buffer.from('\n\n'), 1 << 20)).toEqual([]);
  });

  it('a stream and a source that concatenate alike stay two groups', () => {
    const x = line('bc', 'a'), y = line('c', 'ab');
    const parts = splitBatch(Buffer.from(x + y), 1 << 20)!;
    expect(parts.map((p) => [p.stream, p.source, p.records])).toEqual([['a', 'bc', 1], ['ab', 'c', 1]]);
  });

  it('a line not in the wire layout is read whole: its keys in any order, absent ones empty, non-strings as text', () => {
    const l = (s: string) => Buffer.from(s);
    const route = (s: string) => lineRoute(l(s), 0, s.length);
    expect(route('{"stream":"st","source":"so"}\n')).toEqual({ source: 'so', stream: 'st' });
    expect(route('{"message":"x"}\n')).toEqual({ source: '', stream: '' });
    expect(route('{"source":7,"stream":"x"}\n')).toEqual({ source: '7', stream: 'x' });
    expect(route('{"source":"a"}\n')).toEqual({ source: 'a', stream: '' });
    // the keys found in a later line belong to that line, not this one
    const two = '{"message":"x"}\n' + line('later', 'other');
    expect(lineRoute(l(two), 0, 16)).toEqual({ source: '', stream: '' });
    // an unterminated value within the line: read whole (and it is not JSON)
    expect(() => lineRoute(l('{"source":"abc'), 0, 14)).toThrow();
  });

  it('a wire line is routed from its head: what follows stream is not parsed (even when it is not JSON)', () => {
    const l = '{"seq":1,"time":"2023-11-14T22:13:20.000Z","source":"a\\"b\\\\c","stream":"s\\u00e9","message":"cut here\n';
    expect(lineRoute(Buffer.from(l), 0, l.length)).toEqual({ source: 'a"b\\c', stream: 'sé' });
    // no "source" key, but a quote where a found one would start: read whole
    expect(lineRoute(Buffer.from('{"abcdef":"x"}\n'), 0, 15)).toEqual({ source: '', stream: '' });
  });

  it('a group cut at max: each part carries its own lines only', () => {
    const ls = Array.from({ length: 5 }, () => line('a', 's'));
    const parts = splitBatch(Buffer.from(ls.join('')), ls[0]!.length * 2)!;
    expect(parts.map((p) => p.ndjson.toString())).toEqual([ls[0]! + ls[1]!, ls[2]! + ls[3]!, ls[4]!]);
  });

  it('reads a line in the middle of a buffer by its own bounds', () => {
    const a = line('first', 'one'), b = line('second', 'two');
    const buf = Buffer.from(a + b);
    expect(lineRoute(buf, a.length, buf.length)).toEqual({ source: 'second', stream: 'two' });
    expect(lineRoute(buf, 0, a.length)).toEqual({ source: 'first', stream: 'one' });
  });
});

describe.skipIf(!requires('nats-server', NATS_SERVER !== undefined, 'apt-get install nats-server'))('JetStreamTransport edges', () => {
  it('gzip: each message is the gzip of its part, with Content-Encoding and the agent header', async () => {
    const nats = await startNats();
    const cfg = busSchema.parse({ kind: 'nats', url: nats.url, prefix: 'g', publish: { gzip: true } });
    const t = new JetStreamTransport(cfg, 'test-agent');
    const a1 = line('app', 'main'), a2 = line('app', 'main');
    const r = await t.send({ ndjson: Buffer.from(a1 + a2), records: 2, key: 'my-agent-3' }, 5_000);
    expect(r).toMatchObject({ ok: true, status: null, retryable: false, error: null, snippet: '' });
    expect(t.peer).toBe('JetStream');
    expect(t.stats()).toEqual({ published: 1, duplicates: 0 });
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const m = await jsm.streams.getMessage('g-records', { seq: 1 });
    expect(m!.header.get('Content-Encoding')).toBe('gzip');
    expect(m!.header.get('Sluice-Agent')).toBe('my-agent');
    expect(m!.header.get('Nats-Msg-Id')).toBe('my-agent-3-0');
    expect(gunzipSync(m!.data).toString()).toBe(a1 + a2);
    await nc.close();
    t.close();
    await nats.stop();
  }, 30_000);

  it('a record larger than the server\'s max_payload: refused for good, the limit named; smaller ones go', async () => {
    const dir = tempDir('sluice-nats-conf-');
    const conf = path.join(dir, 'nats.conf');
    writeFileSync(conf, 'max_payload: 8192\n');
    const nats = await startNats({ args: ['-c', conf] });
    const cfg = busSchema.parse({ kind: 'nats', url: nats.url, prefix: 'p', publish: { gzip: false } });
    const t = new JetStreamTransport(cfg, 'test-agent');
    // 8192 - 4096 bytes of room for a part: a 4000-byte record fits, a 4200-byte one does not
    const small = line('a', 's', 'x'.repeat(3900));
    expect(small.length).toBeLessThan(4096);
    const big = line('a', 's', 'y'.repeat(4200));
    const r = await t.send({ ndjson: Buffer.from(small + big), records: 2, key: 'k-1' }, 5_000);
    expect(r).toMatchObject({
      ok: false,
      status: null,
      retryable: false,
      error: 'a record is larger than the NATS server\'s max_payload',
      snippet: 'a record of this batch is larger than max_payload (8192 bytes) and cannot be published',
    });
    expect(t.published).toBe(0);
    // two records that fit one by one but not together: two messages
    const r2 = await t.send({ ndjson: Buffer.from(small + line('a', 's', 'z'.repeat(3900))), records: 2, key: 'k-2' }, 5_000);
    expect(r2).toMatchObject({ ok: true });
    expect(t.stats()).toEqual({ published: 2, duplicates: 0 });
    t.close();
    await nats.stop();
  }, 30_000);

  it('a closed transport does not connect again: its sends fail, retryable', async () => {
    const nats = await startNats();
    const cfg = busSchema.parse({ kind: 'nats', url: nats.url, prefix: 'c' });
    const t = new JetStreamTransport(cfg, 'test-agent');
    t.close();
    vi.spyOn(performance, 'now').mockReturnValueOnce(1000).mockReturnValue(1012.3456);
    const r = await t.send({ ndjson: Buffer.from(line('a', 's')), records: 1, key: 'c-1' }, 5_000);
    expect(r).toMatchObject({ ok: false, status: null, retryable: true, error: expect.stringMatching(/^cannot reach JetStream at nats:\/\/.* \(JetStream stream c-records\): closed$/) });
    expect(r.latencyMs).toBe(12.35);
    vi.restoreAllMocks();
    expect(t.published).toBe(0);
    await nats.stop();
  }, 30_000);

  it('closed while its first send connects: that send fails and the connection is not kept', async () => {
    const nats = await startNats();
    const cfg = busSchema.parse({ kind: 'nats', url: nats.url, prefix: 'd' });
    const t = new JetStreamTransport(cfg, 'test-agent');
    const sending = t.send({ ndjson: Buffer.from(line('a', 's')), records: 1, key: 'd-1' }, 5_000);
    t.close();
    expect(await sending).toMatchObject({ ok: false, retryable: true, error: expect.stringMatching(/: closed$/) });
    expect(t.published).toBe(0);
    await nats.stop();
  }, 30_000);

  it('one connection serves every send; a stream removed behind its back fails the send, retryable, with the reason', async () => {
    const mport = await freePort();
    const nats = await startNats({ args: ['-m', String(mport)] });
    const cfg = busSchema.parse({ kind: 'nats', url: nats.url, prefix: 'o', publish: { gzip: false } });
    const t = new JetStreamTransport(cfg, 'test-agent');
    for (let i = 1; i <= 3; i++) expect(await t.send({ ndjson: Buffer.from(line('a', 's')), records: 1, key: `o-${i}` }, 5_000)).toMatchObject({ ok: true });
    const connz = async () => ((await (await fetch(`http://127.0.0.1:${mport}/connz`)).json()) as { num_connections: number }).num_connections;
    expect(await connz()).toBe(1);
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete('o-records');
    await nc.close();
    const r = await t.send({ ndjson: Buffer.from(line('a', 's')), records: 1, key: 'o-4' }, 2_000);
    expect(r).toMatchObject({ ok: false, status: null, retryable: true, snippet: '' });
    expect(r.error).toEqual(expect.any(String));
    expect(r.error).not.toBe('');
    t.close();
    await nats.stop();
  }, 30_000);

  it('NATS gone: once the client knows, sends fail at once saying it reconnects', async () => {
    const nats = await startNats();
    const cfg = busSchema.parse({ kind: 'nats', url: nats.url, prefix: 'r' });
    const t = new JetStreamTransport(cfg, 'test-agent');
    expect(await t.send({ ndjson: Buffer.from(line('a', 's')), records: 1, key: 'r-1' }, 5_000)).toMatchObject({ ok: true });
    await nats.stop();
    let last: unknown;
    await waitFor(async () => {
      last = await t.send({ ndjson: Buffer.from(line('a', 's')), records: 1, key: 'r-2' }, 1_000);
      return (last as { error: string }).error === 'the NATS connection is lost: reconnecting';
    }, 'the reconnecting answer', 15_000, 20);
    expect(last).toMatchObject({ ok: false, status: null, retryable: true, snippet: '' });
    t.close();
  }, 30_000);
});
