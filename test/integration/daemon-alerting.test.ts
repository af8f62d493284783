/**
 * The whole path in the real daemon: a line appended to a tailed file hits a
 * rule, becomes an event (searchable over the API), and its webhook reaches a
 * loopback receiver (allowed through [triggers] allow_hosts) with a valid
 * signature. Also: auth as a user meets it (401, 403, generated token).
 */
import crypto from 'node:crypto';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, launch, stopAll, tempDir, waitFor, type DaemonHandle, fileSourceToml } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const handles: DaemonHandle[] = [];
let rx: Receiver | undefined;
afterAll(async () => {
  for (const h of handles) await h.stop();
  await rx?.close();
  stopAll();
});

describe('daemon: rules, events, webhooks, auth', () => {
  it('a matching line becomes an event and one signed webhook; tokens are enforced', async () => {
    rx = await startReceiver();
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    writeFileSync(file, '');
    const port = await freePort();
    const cfg = path.join(dir, 'sluice.toml');
    writeFileSync(
      cfg,
      `data_dir = "${dir}/data"
[server]
listen = "127.0.0.1:${port}"
viewer_token = "viewer-token-0123456789"
[triggers]
allow_hosts = ["127.0.0.1:${rx.port}"]
${fileSourceToml('app', file)}`,
    );
    const d = await launch(cfg, port);
    handles.push(d);
    // no admin_token configured: one was generated, saved 0600 and printed once
    const tokenFile = path.join(dir, 'data', 'admin_token');
    const admin = readFileSync(tokenFile, 'utf8').trim();
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(d.stderr()).toContain(admin);
    const A = { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' };
    const V = { Authorization: 'Bearer viewer-token-0123456789', 'Content-Type': 'application/json' };

    expect((await fetch(`${d.url}/api/rules`)).status).toBe(401);
    expect((await fetch(`${d.url}/api/rules`, { headers: V })).status).toBe(200);
    const forbidden = await fetch(`${d.url}/api/rules`, { method: 'POST', headers: V, body: JSON.stringify({ name: 'x', pattern: 'x' }) });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { code: string } }).error.code).toMatch(/^SLUICE_ERR_/);
    expect((await fetch(`${d.url}/healthz`)).status).toBe(200);

    const rule = await fetch(`${d.url}/api/rules`, {
      method: 'POST',
      headers: A,
      body: JSON.stringify({ name: 'payment failed', pattern: 'payment (?P<id>\\d+) failed', severity: 'error', cooldown_s: 0 }),
    });
    expect(rule.status).toBe(201);
    const trig = await fetch(`${d.url}/api/triggers`, {
      method: 'POST',
      headers: A,
      body: JSON.stringify({ name: 'ops', url: rx.url, secret: 'shh-its-a-secret', filter: { severity: ['error', 'critical'] } }),
    });
    expect(trig.status).toBe(201);
    const t = (await trig.json()) as { id: number; secret: string };
    expect(t.secret).toBe('********');

    appendFileSync(file, 'INFO all good\nERROR payment 4711 failed\n');
    await waitFor(() => rx!.received.length >= 1, 'webhook delivery');
    const got = rx.received[0]!;
    const ts = String(got.headers['x-sluice-timestamp']);
    const sig = crypto.createHmac('sha256', 'shh-its-a-secret').update(`${ts}.${got.body}`).digest('hex');
    expect(got.headers['x-sluice-signature-256']).toBe(`sha256=${sig}`);
    const body = JSON.parse(got.body) as { trigger: { id: number }; event: { rule_name: string; captures: Record<string, string>; record_seq: number; origin: { kind: string } } };
    expect(body.trigger.id).toBe(t.id);
    expect(body.event).toMatchObject({ rule_name: 'payment failed', captures: { id: '4711' }, origin: { kind: 'file' } });

    const ev = (await (await fetch(`${d.url}/api/events?q=payment`, { headers: V })).json()) as { events: { message: string; record_seq: number }[] };
    expect(ev.events).toHaveLength(1);
    expect(ev.events[0]!.message).toContain('payment 4711 failed');
    expect(ev.events[0]!.record_seq).toBe(body.event.record_seq);

    // the status shows the rule stage; a restart does not print the token again
    const st = (await (await fetch(`${d.url}/api/status`, { headers: V })).json()) as { rules: { hits: number } };
    expect(st.rules.hits).toBe(1);
    await d.stop();
    const d2 = await launch(cfg, port);
    handles.push(d2);
    expect(d2.stderr()).not.toContain(admin);
    expect((await fetch(`${d2.url}/api/rules`, { headers: A })).status).toBe(200);

    // no re-delivery after the restart. Instead of waiting a while for a duplicate not to come: a marker hit
    // written after the restart, behind the first line in the same file (read, matched and delivered in
    // order after it), and the restarted daemon's webhook queue drained after delivering it
    appendFileSync(file, 'ERROR payment 4712 failed\n');
    interface AlertStatus {
      rules: { hits: number };
      dispatcher: { events_seen: number };
      webhooks: { queued: number; in_flight: number; delivered: number; failed: number; dropped: number };
    }
    const after = await waitFor(async () => {
      const s = (await (await fetch(`${d2.url}/api/status`, { headers: V })).json()) as AlertStatus;
      const w = s.webhooks;
      return w.delivered + w.failed + w.dropped >= 1 && w.queued === 0 && w.in_flight === 0 ? s : undefined;
    }, 'the marker delivered and the webhook queue empty');
    // the restarted daemon matched and delivered the marker only
    expect(after.rules.hits).toBe(1);
    expect(after.dispatcher.events_seen).toBe(1);
    expect(after.webhooks).toMatchObject({ delivered: 1, failed: 0, dropped: 0 });
    expect(rx.received.map((r) => (JSON.parse(r.body) as { event: { captures: { id: string } } }).event.captures.id)).toEqual(['4711', '4712']);
    const evAfter = (await (await fetch(`${d2.url}/api/events?q=payment`, { headers: V })).json()) as { events: { message: string }[] };
    expect(evAfter.events.map((e) => e.message).sort()).toEqual(['ERROR payment 4711 failed', 'ERROR payment 4712 failed']);
  }, 60_000);
});
