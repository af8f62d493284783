/**
 * POST /api/rules/backtest on the real buildServer over a real Hub: counts
 * over the newest `limit` records, per stream and per source, the newest
 * matches as examples with captures, RE2's message on a bad pattern, and
 * admin only.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import type { LogRecord } from '../../core/record.js';
import { registerAuth } from '../auth.js';
import { buildServer } from '../server.js';
import type { DaemonView } from '../view.js';

const ADMIN_TOKEN = 'backtest-admin-token';
const VIEWER_TOKEN = 'backtest-viewer-token';

function rec(source: string, stream: string, message: string): LogRecord {
  return { seq: 0, time: 1_700_000_000_000, received: 1_700_000_000_000, source, stream, origin: { kind: 'test' }, message, fields: {} };
}

let app: FastifyInstance;
let hub: Hub;

beforeEach(async () => {
  hub = new Hub({ seqStart: 0, defaults: { replay: 100_000, replayBytes: 1 << 26 }, streams: {}, drop: () => undefined });
  hub.seal();
  // 300 records: app (source a) has "db timeout after Nms" every 10th, web (sources w1, w2) alternates
  const batch: LogRecord[] = [];
  for (let i = 0; i < 200; i++) batch.push(rec('a', 'app', i % 10 === 0 ? `db timeout after ${i}ms` : `ok ${i}`));
  for (let i = 0; i < 100; i++) batch.push(rec(i % 2 ? 'w1' : 'w2', 'web', `GET /x/${i} status=${i % 4 === 0 ? 500 : 200}`));
  hub.publish(batch);
  app = await buildServer({
    view: { hub: () => hub } as unknown as DaemonView,
    auth: (a) => registerAuth(a, { adminToken: ADMIN_TOKEN, viewerToken: VIEWER_TOKEN }),
  });
});
afterEach(async () => {
  await app.close();
});

async function backtest(body: unknown, token = ADMIN_TOKEN) {
  const r = await app.inject({ method: 'POST', url: '/api/rules/backtest', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  return { status: r.statusCode, json: r.json() };
}

describe('POST /api/rules/backtest', () => {
  it('counts matches over every stream\'s newest records, newest examples first with captures', async () => {
    const r = await backtest({ pattern: 'db timeout after (?P<ms>\\d+)ms' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ matched: 20, scanned: 300, first_seq: 1, last_seq: 300 });
    expect(r.json.examples).toHaveLength(5);
    expect(r.json.examples[0]).toMatchObject({ seq: 191, source: 'a', stream: 'app', captures: { ms: '190' } });
    expect(r.json.examples[0].record).toMatchObject({ seq: 191, message: 'db timeout after 190ms', origin: { kind: 'test' } });
    expect(r.json.examples.map((e: { seq: number }) => e.seq)).toEqual([191, 181, 171, 161, 151]);
  });

  it('scans only the newest `limit` records, of one stream or one source', async () => {
    expect((await backtest({ pattern: 'timeout', limit: 50 })).json).toMatchObject({ matched: 0, scanned: 50, first_seq: 251, last_seq: 300 });
    expect((await backtest({ pattern: 'timeout', limit: 150 })).json).toMatchObject({ matched: 5, scanned: 150 });
    expect((await backtest({ pattern: 'status=500', stream: 'web' })).json).toMatchObject({ matched: 25, scanned: 100 });
    // w2 has the even i, where every 4th is a 500
    const w2 = await backtest({ pattern: 'status=(\\d+)', source: 'w2', examples: 2 });
    expect(w2.json).toMatchObject({ matched: 50, scanned: 50 });
    expect(w2.json.examples.map((e: { captures: unknown }) => e.captures)).toEqual([{ $1: '200' }, { $1: '500' }]);
    expect((await backtest({ pattern: 'x', source: 'nobody' })).json).toEqual({ matched: 0, scanned: 0, first_seq: null, last_seq: null, examples: [] });
  });

  it('refuses a bad pattern with RE2\'s message, an unknown stream, bad bodies, and the viewer token', async () => {
    const bad = await backtest({ pattern: 'a(?=b)' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('SLUICE_ERR_RULE_PATTERN');
    expect(bad.json.error.message).toMatch(/invalid perl operator/);
    expect(bad.json.error.details.error).toMatch(/invalid perl operator/);
    const unknown = await backtest({ pattern: 'x', stream: 'nope' });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('SLUICE_ERR_STREAM_UNKNOWN');
    expect((await backtest({ pattern: 'x', limit: 1_000_000 })).status).toBe(400);
    expect((await backtest({ pattern: 'x', extra: 1 })).status).toBe(400);
    expect((await backtest({ pattern: 'x' }, VIEWER_TOKEN)).status).toBe(403);
  });
});
