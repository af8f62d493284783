/**
 * DELETE /api/triggers/{id} on a real daemon (docs/api.md, Triggers: "delete
 * -> 204 and cancels its queued deliveries"). One delivery at a time
 * (concurrency = 1) to a receiver that holds its answers, so the deliveries of
 * two triggers queue up; deleting one trigger takes its waiting deliveries out
 * of the queue (its in-flight one finishes), the other trigger's all arrive.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authHeaders, fileSourceToml, startDaemon, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

let d: DaemonHandle | undefined;
let rx: Receiver | undefined;
afterAll(async () => {
  await d?.stop();
  await rx?.close();
  stopAll();
});

const json = { ...authHeaders, 'Content-Type': 'application/json' };

interface WebhookStats { queued: number; in_flight: number; delivered: number; dropped: number }

describe('deleting a trigger', () => {
  it('cancels its queued deliveries: only its in-flight one still reaches the receiver; the other trigger gets all of its own', async () => {
    let hold = true;
    const held: http.ServerResponse[] = [];
    const answer = (res: http.ServerResponse) => {
      res.writeHead(200);
      res.end('ok');
    };
    rx = await startReceiver((_n, _r, res) => (hold ? held.push(res) : answer(res)));
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    writeFileSync(file, '');
    d = await startDaemon(
      `data_dir = "${dir}/data"
[rules]
bucket_capacity = 1000
[triggers]
allow_hosts = ["127.0.0.1:${rx.port}"]
concurrency = 1
retries = 0
timeout = "120s"
${fileSourceToml('app', file)}`,
      { dir },
    );
    const post = async (p: string, body: unknown) => {
      const r = await fetch(d!.url + p, { method: 'POST', headers: json, body: JSON.stringify(body) });
      expect(r.status).toBe(201);
      return (await r.json()) as { id: number };
    };
    const webhooks = async () => ((await (await fetch(`${d!.url}/api/status`, { headers: authHeaders })).json()) as { webhooks: WebhookStats }).webhooks;

    await post('/api/rules', { name: 'errors', pattern: 'ERROR', severity: 'error', cooldown_s: 0 });
    const doomed = await post('/api/triggers', { name: 'doomed', url: `${rx.url}?t=doomed` });
    const kept = await post('/api/triggers', { name: 'kept', url: `${rx.url}?t=kept` });

    const N = 5;
    appendFileSync(file, Array.from({ length: N }, (_, i) => `ERROR job ${i} failed`).join('\n') + '\n');
    // 2N deliveries: one in flight (held by the receiver), the rest waiting
    await waitFor(async () => {
      const w = await webhooks();
      return w.in_flight === 1 && w.queued === 2 * N - 1 && held.length === 1;
    }, 'one delivery in flight and the rest queued');
    const first = JSON.parse(rx.received[0]!.body) as { trigger: { id: number } };
    expect(first.trigger.id).toBe(doomed.id); // triggers are matched in order: doomed's first delivery is out

    const del = await fetch(`${d.url}/api/triggers/${doomed.id}`, { method: 'DELETE', headers: authHeaders });
    expect(del.status).toBe(204);
    // doomed's N-1 waiting deliveries are gone from the queue at once; kept's N wait
    expect(await webhooks()).toMatchObject({ in_flight: 1, queued: N });
    expect((await fetch(`${d.url}/api/triggers/${doomed.id}`, { headers: authHeaders })).status).toBe(404);

    hold = false;
    for (const res of held.splice(0)) answer(res);
    await waitFor(async () => {
      const w = await webhooks();
      return w.queued === 0 && w.in_flight === 0 && w.delivered === N + 1;
    }, 'the queue to empty');
    const byTrigger = rx.received.map((r) => (JSON.parse(r.body) as { trigger: { id: number } }).trigger.id);
    expect(byTrigger.filter((id) => id === doomed.id)).toHaveLength(1);
    expect(byTrigger.filter((id) => id === kept.id)).toHaveLength(N);
    expect((await webhooks()).dropped).toBe(0); // cancelled, not dropped
    const log = (await (await fetch(`${d.url}/api/triggers/${kept.id}/deliveries`, { headers: authHeaders })).json()) as { deliveries: { result: string }[] };
    expect(log.deliveries.map((x) => x.result)).toEqual(Array(N).fill('ok'));
  }, 60_000);
});
