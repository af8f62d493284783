/**
 * Rules over real HTTP: auth, create/refuse, the ReDoS pattern answered fast
 * both by /api/rules/test and by the engine on the record path.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../src/core/record.js';
import { ADMIN, startIssue3App, VIEWER, type Issue3App } from '../helpers/issue3-app.js';

describe('rules over real HTTP', () => {
  let t: Issue3App;
  beforeEach(async () => { t = await startIssue3App(); });
  afterEach(async () => { await t.close(); });

  it('`^(a+)+$` against 100 kB of "a" + "!" is answered in well under a second', async () => {
    const line = 'a'.repeat(100_000) + '!';
    await t.api('GET', '/api/rules'); // warm the HTTP client so the bound measures matching, not first-connection setup
    const started = performance.now();
    const r = await t.api('POST', '/api/rules/test', { pattern: '^(a+)+$', sample_line: line });
    const ms = performance.now() - started;
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ matched: false, captures: {} });
    expect(ms).toBeLessThan(1000); // a backtracking engine runs for minutes here

    // the same pattern as a live rule on the record path
    const rule = await t.api('POST', '/api/rules', { name: 'redos', pattern: '^(a+)+$' });
    expect(rule.status).toBe(201);
    const recs: LogRecord[] = [line, 'a'.repeat(50_000)].map((message, i) => ({
      seq: i + 1, time: 0, received: 0, source: 'app', stream: 'app', origin: { kind: 'file' }, message, fields: {},
    }));
    const t0 = performance.now();
    t.engine.push(recs);
    await t.engine.flush();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(t.engine.stats()).toMatchObject({ records_scanned: 2, hits: 1 });
  });

  it('enforces tokens over the wire: 401, 403, viewer reads, ?access_token for GET', async () => {
    expect((await fetch(`${t.base}/api/rules`)).status).toBe(401);
    expect((await t.api('GET', '/api/rules', undefined, 'wrong')).status).toBe(401);
    expect((await t.api('GET', '/api/rules', undefined, VIEWER)).status).toBe(200);
    expect((await t.api('POST', '/api/rules', { name: 'x', pattern: 'x' }, VIEWER)).status).toBe(403);
    expect((await fetch(`${t.base}/api/events?access_token=${VIEWER}`)).status).toBe(200);
    expect((await fetch(`${t.base}/api/rules?access_token=${ADMIN}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(401);
    expect((await fetch(`${t.base}/metrics`)).status).toBe(200);
  });

  it('refuses a pattern RE2 cannot compile with 400 and the compile error; lists stored broken ones in stats', async () => {
    const r = await t.api('POST', '/api/rules', { name: 'look', pattern: '(?<=foo)bar' });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: 'SLUICE_ERR_RULE_PATTERN' });
    expect(r.json.error.message).toMatch(/invalid perl operator/);
    const ok = (await t.api('POST', '/api/rules', { name: 'ok', pattern: 'ok' })).json;
    t.store.db.prepare('UPDATE rules SET pattern = ? WHERE id = ?').run('(?<=foo)bar', ok.id);
    await t.engine.reload();
    const stats = (await t.api('GET', '/api/rules/stats')).json;
    expect(stats.compile_errors).toEqual([expect.objectContaining({ rule_id: ok.id, name: 'ok' })]);
    const eff = (await t.api('GET', '/api/sources/app/effective-rules')).json;
    expect(eff.rules[0].compile_error).toMatch(/invalid perl operator/);
  });
});
