/**
 * Webhook delivery over real HTTP: the Sluice API on a loopback port, a
 * node:http receiver on loopback admitted through allow_hosts, events flowing
 * record -> rule engine -> store -> bus -> dispatcher -> webhook.
 */
import { afterEach, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import type { LogRecord } from '../../src/core/record.js';
import { verify } from '../../src/triggers/sign.js';
import { startIssue3App, type Issue3App } from '../helpers/issue3-app.js';
import { startReceiver, type Received, type Receiver } from '../helpers/receiver.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

let seq = 0;
const rec = (message: string, source = 'app'): LogRecord => ({
  seq: ++seq, time: Date.now(), received: Date.now(), source, stream: source, origin: { kind: 'file', path: `/var/log/${source}.log` }, message, fields: {},
});

/**
 * Poll observable state until `cond` holds. The limit only names what never happened before the
 * test's own timeout (30 s) would hit; nothing here depends on how fast the machine is.
 */
async function until(cond: () => boolean | Promise<boolean>, what: string, limitMs = 25_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * One delivery attempt as the contract states it (CONTRACT.md "Wire formats"), checked
 * independently of src/triggers/sign.ts: the signature is HMAC-SHA256(secret, timestamp + "." +
 * body) over the bytes the receiver got, the timestamp Unix seconds from this clock, the delivery
 * id a UUID that the body repeats. Returns the parsed body.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the payload is arbitrary JSON
function expectDelivery(r: Received, secret: string, event: string, sentFromS: number): any {
  expect(r.headers['content-type']).toBe('application/json');
  expect(r.headers['x-sluice-event']).toBe(event);
  const ts = String(r.headers['x-sluice-timestamp']);
  expect(ts).toMatch(/^[0-9]+$/);
  expect(Number(ts)).toBeGreaterThanOrEqual(sentFromS);
  expect(Number(ts)).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
  const expected = 'sha256=' + crypto.createHmac('sha256', secret).update(Buffer.concat([Buffer.from(`${ts}.`), r.raw])).digest('hex');
  expect(r.headers['x-sluice-signature-256'], 'X-Sluice-Signature-256 = sha256=HMAC-SHA256(secret, timestamp + "." + raw body)').toBe(expected);
  const deliveryId = r.headers['x-sluice-delivery'];
  expect(deliveryId).toMatch(UUID);
  const payload = JSON.parse(r.raw.toString('utf8'));
  expect(payload.delivery_id, 'the body\'s delivery_id is the X-Sluice-Delivery header').toBe(deliveryId);
  return payload;
}

describe('webhook triggers over real HTTP', () => {
  let t: Issue3App | undefined;
  const receivers: Receiver[] = [];
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  it('a receiver failing twice then succeeding gets exactly one successful delivery with a valid signature', async () => {
    const rx = await startReceiver((n, _r, res) => {
      if (n < 2) { res.writeHead(503, { 'retry-after': '0' }); res.end('busy'); return; }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('accepted');
    });
    receivers.push(rx);
    t = await startIssue3App({ triggers: { allow_hosts: [`127.0.0.1:${rx.port}`], backoff_base: 20, backoff_max: 200, retries: 5 } });
    const rule = await t.api('POST', '/api/rules', { name: 'payments down', pattern: 'payment gateway (?P<gw>\\w+) unreachable', severity: 'critical' });
    expect(rule.status).toBe(201);
    const trig = await t.api('POST', '/api/triggers', {
      name: 'ops', url: rx.url, secret: 'whsec-123', filter: { severity: ['critical'], source: ['app'], message_re: 'gateway' },
    });
    expect(trig.status).toBe(201);

    const sentFromS = Math.floor(Date.now() / 1000);
    // non-ASCII in the message: the signature covers the body's UTF-8 bytes
    t.engine.push([rec('all good'), rec('payment gateway stripe unreachable (zürich ☁)'), rec('payment gateway stripe unreachable', 'other')]);
    await t.engine.flush();
    await until(async () => (await t!.api('GET', `/api/triggers/${trig.json.id}/deliveries`)).json.deliveries.length > 0, 'delivery log');

    // three attempts reached the receiver, all one delivery: the same id and the same body bytes,
    // each attempt signed as the contract says (checked here, not by the project's own verify)
    expect(rx.received).toHaveLength(3);
    const payloads = rx.received.map((r) => expectDelivery(r, 'whsec-123', 'rule.hit', sentFromS));
    const ids = new Set(rx.received.map((r) => r.headers['x-sluice-delivery']));
    expect(ids.size).toBe(1);
    expect(new Set(rx.received.map((r) => r.raw.toString('hex'))).size).toBe(1);
    const last = rx.received[2]!;
    expect(last.raw.includes(Buffer.from('zürich ☁'))).toBe(true);
    // and the project's verify agrees with the independent check
    expect(verify('whsec-123', String(last.headers['x-sluice-timestamp']), last.body, String(last.headers['x-sluice-signature-256']))).toBe(true);
    expect(verify('wrong', String(last.headers['x-sluice-timestamp']), last.body, String(last.headers['x-sluice-signature-256']))).toBe(false);
    const payload = payloads[2];
    expect(payload).toMatchObject({
      trigger: { id: trig.json.id, name: 'ops' },
      delivery_id: [...ids][0],
      event: { severity: 'critical', source: 'app', rule_id: rule.json.id, rule_name: 'payments down', message: 'payment gateway stripe unreachable (zürich ☁)', captures: { gw: 'stripe' } },
    });
    expect(typeof payload.event.id).toBe('number');

    const log = (await t.api('GET', `/api/triggers/${trig.json.id}/deliveries`)).json.deliveries;
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ result: 'ok', status: 200, attempts: 3, response_snippet: 'accepted', error: null, delivery_id: [...ids][0] });
    expect(t.webhook.stats()).toMatchObject({ delivered: 1, failed: 0, dropped: 0, retries: 2 });
    expect(await t.registry.getSingleMetricAsString('sluice_webhook_deliveries_total')).toContain('sluice_webhook_deliveries_total{result="ok"} 1');
    // two events (both sources hit the global rule), one matched the trigger's source filter;
    // the dispatcher wrote no events of its own
    expect(await t.store.countEvents()).toBe(2);
    expect(t.dispatcher.stats()).toMatchObject({ events_seen: 2, matched: 1 });
  });

  it('a 4xx is not retried; POST /test reports status, latency and a response snippet', async () => {
    const rx = await startReceiver((_n, r, res) => {
      if (r.headers['x-sluice-event'] === 'test') { res.writeHead(202); res.end('hello from receiver'); return; }
      res.writeHead(400); res.end('bad payload');
    });
    receivers.push(rx);
    t = await startIssue3App({ triggers: { allow_hosts: [`127.0.0.1:${rx.port}`], backoff_base: 10 } });
    await t.api('POST', '/api/rules', { name: 'e', pattern: 'ERROR' });
    const trig = (await t.api('POST', '/api/triggers', { name: 'x', url: rx.url, secret: 's' })).json;
    const sentFromS = Math.floor(Date.now() / 1000);
    const test = await t.api('POST', `/api/triggers/${trig.id}/test`);
    expect(test.status).toBe(200);
    expect(test.json).toMatchObject({ ok: true, status: 202, response_snippet: 'hello from receiver', error: null });
    expect(test.json.latency_ms).toBeGreaterThan(0);
    const testBody = expectDelivery(rx.received[0]!, 's', 'test', sentFromS);
    expect(Object.keys(testBody).sort()).toEqual(['delivery_id', 'event', 'trigger']);
    expect(Object.keys(testBody.event).sort()).toEqual(['captures', 'id', 'message', 'origin', 'record_seq', 'rule_id', 'rule_name', 'severity', 'source', 'time']);

    t.engine.push([rec('ERROR x')]);
    await t.engine.flush();
    await until(() => t!.webhook.stats().failed === 1, 'failed delivery');
    expect(rx.received).toHaveLength(2);
    expect(expectDelivery(rx.received[1]!, 's', 'rule.hit', sentFromS)).toMatchObject({ trigger: { id: trig.id, name: 'x' }, event: { message: 'ERROR x' } });
    const log = (await t.api('GET', `/api/triggers/${trig.id}/deliveries`)).json.deliveries;
    expect(log.map((d: { result: string; test: boolean; attempts: number; status: number }) => [d.result, d.test, d.attempts, d.status])).toEqual([
      ['failed', false, 1, 400],
      ['ok', true, 1, 202],
    ]);
  });

  it('a receiver that is down: the queue stays bounded and drops are counted, not buffered', async () => {
    // a port that refuses connections: bind, note it, close
    const s = http.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));

    t = await startIssue3App({
      rules: { bucket_capacity: 1_000_000 },
      triggers: { allow_hosts: [`127.0.0.1:${port}`], queue_size: 50, retries: 20, backoff_base: 1000, concurrency: 2 },
    });
    await t.api('POST', '/api/rules', { name: 'all', pattern: 'line' });
    await t.api('POST', '/api/triggers', { name: 'down', url: `http://127.0.0.1:${port}/hook` });

    const N = 5000;
    for (let i = 0; i < N; i += 500) t.engine.push(Array.from({ length: 500 }, (_, j) => rec(`line ${i + j} ${'x'.repeat(200)}`)));
    await t.engine.flush();
    await until(() => t!.dispatcher.stats().events_seen === N, 'all events dispatched');
    const st = t.webhook.stats();
    // what the sender holds is counted, not weighed on the heap: at most queue_size deliveries
    // waiting and `concurrency` in flight, whatever was offered; the queue gauge says the same
    expect(st.queued).toBeLessThanOrEqual(50);
    expect(st.in_flight).toBeLessThanOrEqual(2);
    expect(await t.registry.getSingleMetricAsString('sluice_webhook_queue')).toContain(`sluice_webhook_queue ${st.queued + st.in_flight}`);
    expect(st.delivered).toBe(0);
    // every one of the N deliveries is accounted for exactly once: waiting, in flight, failed, or dropped and counted
    const dropped = t.drops.get('webhook/queue_full') ?? 0;
    expect(st.queued + st.in_flight + st.failed + st.dropped).toBe(N);
    expect(dropped).toBe(st.dropped);
    expect(dropped).toBeGreaterThanOrEqual(N - 50 - 2 - st.failed);
    expect(await t.registry.getSingleMetricAsString('sluice_webhook_deliveries_total')).toContain(`result="dropped"} ${dropped}`);
    // dropped deliveries are in the log, so the loss is visible per trigger
    const log = (await t.api('GET', '/api/triggers/1/deliveries?limit=5')).json.deliveries;
    expect(log[0].result).toBe('dropped');
  });
});
