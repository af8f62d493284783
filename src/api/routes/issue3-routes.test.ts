import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startIssue3App, VIEWER, type Issue3App } from '../../../test/helpers/issue3-app.js';

describe('rule, trigger and event routes (inject)', () => {
  let t: Issue3App;
  beforeEach(async () => { t = await startIssue3App({ listen: false }); });
  afterEach(async () => { await t.close(); });

  describe('rules', () => {
    it('refuses an invalid pattern with 400 and RE2\'s message', async () => {
      const r = await t.api('POST', '/api/rules', { name: 'bad', pattern: 'a(?=b)' });
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('SLUICE_ERR_RULE_PATTERN');
      expect(r.json.error.message).toMatch(/invalid perl operator/);
      const p = await t.api('POST', '/api/rules', { name: 'ok', pattern: 'ok' });
      const patched = await t.api('PATCH', `/api/rules/${p.json.id}`, { pattern: '(' });
      expect(patched.status).toBe(400);
      expect(patched.json.error.message).toMatch(/missing \)/);
    });

    it('validates bodies with zod: unknown keys and wrong types are 400 with paths', async () => {
      const r = await t.api('POST', '/api/rules', { name: 'x', pattern: 'x', severity: 'loud', colour: 'red' });
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('SLUICE_ERR_API_BAD_REQUEST');
      expect(JSON.stringify(r.json.error.details)).toMatch(/severity/);
    });

    it('refuses names with control or bidi characters or lone surrogates, on create and patch, for rules and triggers', async () => {
      for (const name of ['nul\u0000byte', 'esc\u001b[31mred', 'rtl\u202eevil', 'iso\u2066x', 'half\ud83d']) {
        const r = await t.api('POST', '/api/rules', { name, pattern: 'x' });
        expect(r.status, JSON.stringify(name)).toBe(400);
        expect(r.json.error.details[0].path).toBe('name');
        const tr = await t.api('POST', '/api/triggers', { name, url: 'https://hooks.example.com/x' });
        expect(tr.status, JSON.stringify(name)).toBe(400);
        expect(tr.json.error.details[0].path).toBe('name');
      }
      const ok = await t.api('POST', '/api/rules', { name: 'Zahlung – fehlgeschlagen 🚨', pattern: 'x' });
      expect(ok.status).toBe(201);
      const p = await t.api('PATCH', `/api/rules/${ok.json.id}`, { name: 'x\u0007bell' });
      expect(p.status).toBe(400);
      expect((await t.api('GET', `/api/rules/${ok.json.id}`)).json.name).toBe('Zahlung – fehlgeschlagen 🚨');
    });

    it('CRUD, effective rules per source and cascade delete of overrides', async () => {
      const g = (await t.api('POST', '/api/rules', { name: 'oom', pattern: 'OutOfMemory', severity: 'critical', cooldown_s: 60 })).json;
      expect(g).toMatchObject({ name: 'oom', source: null, overrides: null, std: 'both', enabled: true, cooldown_s: 60 });
      // an override without name/pattern defaults to the global's; enabled:false disables it for "batch"
      const off = await t.api('POST', '/api/rules', { source: 'batch', overrides: g.id, enabled: false });
      expect(off.status).toBe(201);
      expect(off.json).toMatchObject({ name: 'oom', pattern: 'OutOfMemory', severity: 'critical', cooldown_s: 60 });
      const repl = (await t.api('POST', '/api/rules', { name: 'oom-web', source: 'web', overrides: g.id, pattern: 'OOMKilled', severity: 'warn' })).json;
      const own = (await t.api('POST', '/api/rules', { name: 'web-5xx', source: 'web', pattern: 'status=5\\d\\d' })).json;
      const names = async (src: string) => (await t.api('GET', `/api/sources/${src}/effective-rules`)).json.rules.map((r: { name: string }) => r.name).sort();
      expect(await names('db')).toEqual(['oom']);
      expect(await names('batch')).toEqual([]);
      expect(await names('web')).toEqual(['oom-web', 'web-5xx']);
      expect((await t.api('POST', '/api/rules', { source: 'web', overrides: g.id })).status).toBe(409);
      expect((await t.api('GET', `/api/rules/${repl.id}`)).json.pattern).toBe('OOMKilled');
      const del = await t.api('DELETE', `/api/rules/${g.id}`);
      expect(del.json.deleted.sort()).toEqual([g.id, off.json.id, repl.id].sort());
      expect((await t.api('GET', '/api/rules')).json.rules.map((r: { id: number }) => r.id)).toEqual([own.id]);
      expect((await t.api('GET', `/api/rules/${g.id}`)).status).toBe(404);
      expect(await names('web')).toEqual(['web-5xx']);
    });

    it('changes reach the engine (snapshot rebuilt) and stats show hits', async () => {
      const r = (await t.api('POST', '/api/rules', { name: 'boom', pattern: 'boom (?P<n>\\d+)' })).json;
      expect(t.engine.snapshot().ruleCount).toBe(1);
      t.engine.push([{ seq: 7, time: 1, received: 1, source: 'app', stream: 'app', origin: { kind: 'file', path: '/x' }, message: 'boom 42', fields: {} }]);
      await t.engine.flush();
      const stats = (await t.api('GET', '/api/rules/stats')).json;
      expect(stats).toMatchObject({ hits: 1, suppressed_by_cooldown: 0, suppressed_by_bucket: 0, compile_errors: [] });
      expect(stats.rules[String(r.id)].hits).toBe(1);
      const ev = (await t.api('GET', '/api/events?severity=warn&q=boom')).json;
      expect(ev.events).toHaveLength(1);
      expect(ev.events[0]).toMatchObject({ rule_id: r.id, captures: { n: '42' }, record_seq: 7, time: '1970-01-01T00:00:00.001Z' });
      await t.api('PATCH', `/api/rules/${r.id}`, { enabled: false });
      expect(t.engine.snapshot().ruleCount).toBe(0);
    });

    it('/api/rules/test answers matched/captures', async () => {
      const r = await t.api('POST', '/api/rules/test', { pattern: 'user=(?P<user>\\w+)', sample_line: 'login failed user=bob' });
      expect(r.json).toEqual({ matched: true, captures: { user: 'bob' } });
      const bad = await t.api('POST', '/api/rules/test', { pattern: '(?<!x)', sample_line: '' });
      expect(bad.status).toBe(400);
      expect(bad.json.error.code).toBe('SLUICE_ERR_RULE_PATTERN');
    });

    it('viewer may read but not change rules', async () => {
      expect((await t.api('GET', '/api/rules', undefined, VIEWER)).status).toBe(200);
      expect((await t.api('POST', '/api/rules', { name: 'x', pattern: 'x' }, VIEWER)).status).toBe(403);
    });
  });

  describe('triggers', () => {
    it('redacts the secret on every read; a PATCH echoing the placeholder keeps it; PATCH is partial', async () => {
      const c = await t.api('POST', '/api/triggers', {
        name: 'pager', url: 'https://hooks.example.com/sluice', secret: 'topsecret', filter: { severity: ['critical'] },
      });
      expect(c.status).toBe(201);
      expect(c.json.secret).toBe('********');
      expect(c.json.filter).toEqual({ severity: ['critical'], source: [], message_re: null });
      const id = c.json.id;
      expect((await t.api('GET', `/api/triggers/${id}`)).json.secret).toBe('********');
      expect(JSON.stringify((await t.api('GET', '/api/triggers')).json)).not.toContain('topsecret');
      // echo what was read, changing only the name
      const read = (await t.api('GET', `/api/triggers/${id}`)).json;
      const echoed = await t.api('PATCH', `/api/triggers/${id}`, { name: 'pager-2', secret: read.secret });
      expect(echoed.json).toMatchObject({ name: 'pager-2', secret: '********', url: 'https://hooks.example.com/sluice' });
      expect((await t.store.getTrigger(id))!.secret).toBe('topsecret');
      // partial filter update merges
      await t.api('PATCH', `/api/triggers/${id}`, { filter: { source: ['web'] } });
      expect((await t.store.getTrigger(id))!.filter).toEqual({ severity: ['critical'], source: ['web'], message_re: null });
      // a real new secret replaces it; an empty one removes it
      await t.api('PATCH', `/api/triggers/${id}`, { secret: 'rotated' });
      expect((await t.store.getTrigger(id))!.secret).toBe('rotated');
      const cleared = await t.api('PATCH', `/api/triggers/${id}`, { secret: '' });
      expect(cleared.json.secret).toBe('');
    });

    it('refuses non-http URLs, blocked literal addresses and bad filter regexes', async () => {
      const ftp = await t.api('POST', '/api/triggers', { name: 'x', url: 'ftp://example.com/' });
      expect([ftp.status, ftp.json.error.code]).toEqual([400, 'SLUICE_ERR_TRIGGER_URL_INVALID']);
      const meta = await t.api('POST', '/api/triggers', { name: 'x', url: 'http://169.254.169.254/latest' });
      expect([meta.status, meta.json.error.code]).toEqual([400, 'SLUICE_ERR_TRIGGER_SSRF_BLOCKED']);
      const re = await t.api('POST', '/api/triggers', { name: 'x', url: 'https://example.com/', filter: { message_re: '(?=a)' } });
      expect([re.status, re.json.error.code]).toEqual([400, 'SLUICE_ERR_TRIGGER_FILTER']);
      const ok = (await t.api('POST', '/api/triggers', { name: 'x', url: 'https://example.com/' })).json;
      const patch = await t.api('PATCH', `/api/triggers/${ok.id}`, { url: 'http://10.0.0.1/' });
      expect(patch.status).toBe(400);
      expect((await t.api('DELETE', `/api/triggers/${ok.id}`)).status).toBe(204);
      expect((await t.api('GET', `/api/triggers/${ok.id}`)).status).toBe(404);
    });
  });

  describe('events', () => {
    it('paginates newest first with a cursor and validates the query', async () => {
      await t.store.insertEvents(Array.from({ length: 5 }, (_, i) => ({
        time: 1000 + i, severity: 'error' as const, source: 'app', rule_id: 1, rule_name: 'r', message: `m${i}`,
        captures: {}, record_seq: i, origin: { kind: 'file' },
      })));
      const p1 = (await t.api('GET', '/api/events?limit=2')).json;
      expect(p1.events.map((e: { message: string }) => e.message)).toEqual(['m4', 'm3']);
      const p2 = (await t.api('GET', `/api/events?limit=2&before=${p1.next}`)).json;
      expect(p2.events.map((e: { message: string }) => e.message)).toEqual(['m2', 'm1']);
      const p3 = (await t.api('GET', `/api/events?limit=2&before=${p2.next}`)).json;
      expect(p3).toMatchObject({ next: null });
      expect((await t.api('GET', '/api/events?since=1970-01-01T00:00:01.003Z')).json.events).toHaveLength(2);
      expect((await t.api('GET', '/api/events?severity=fatal')).status).toBe(400);
      expect((await t.api('GET', '/api/events?before=%%%')).status).toBe(400);
      expect((await t.api('GET', `/api/events?access_token=${VIEWER}`, undefined, 'unused')).status).toBe(401); // header wins when present
    });
  });
});
