/** The records stream: made with [bus]'s limits, its limits brought to the config's when they differ; subject tokens. */
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { NATS_SERVER, startNats, stopAllNats } from '../../test/helpers/nats.js';
import { busSchema } from './config.js';
import { ensureRecordsStream, recordsSubject } from './jetstream.js';
import { requires } from '../../test/helpers/requires.js';

afterAll(() => stopAllNats());

describe.skipIf(!requires('nats-server', NATS_SERVER !== undefined, 'apt-get install nats-server'))('records stream', () => {
  it('subjects: one token per name, "." and other characters escaped', () => {
    expect(recordsSubject('sluice', 'app', 'web-1')).toBe('sluice.records.app.web-1');
    expect(recordsSubject('x', 'a.b', 'c d*>')).toBe('x.records.a%2Eb.c%20d%2A%3E');
    expect(recordsSubject('x', 'é', 's')).toBe('x.records.%C3%A9.s');
  });

  it('is created with the configured limits, and updated when they change', async () => {
    const nats = await startNats();
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await ensureRecordsStream(jsm, busSchema.parse({ kind: 'nats', url: nats.url, max_age: '1h', max_bytes: '64MiB' }));
    let c = (await jsm.streams.info('sluice-records')).config;
    expect([c.subjects, c.max_age, c.max_bytes, c.duplicate_window, c.storage, c.retention]).toEqual([['sluice.records.>'], 3_600e9, 64 * 1024 ** 2, 600e9, 'file', 'limits']);
    await ensureRecordsStream(jsm, busSchema.parse({ kind: 'nats', url: nats.url, max_age: '2h', max_bytes: '128MiB', duplicate_window: '5m' }));
    c = (await jsm.streams.info('sluice-records')).config;
    expect([c.max_age, c.max_bytes, c.duplicate_window]).toEqual([7_200e9, 128 * 1024 ** 2, 300e9]);
    await nc.close();
    await nats.stop();
  }, 30_000);
});
