/**
 * Backfill paging on a real daemon (docs/api.md, Backfill): GET /api/records
 * without `since` gives the newest `limit` records, with `since` the oldest
 * `limit` after it; `next_since` passed back as `since` pages forward with no
 * record twice and none missed: on one stream, across interleaved streams,
 * with a filter, and on to records that arrive later.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeaders, fileSourceToml, startDaemon, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';

interface Rec { seq: number; stream: string; message: string }
interface Page { records: Rec[]; next_since: number }

let d: DaemonHandle;
let a: string;
let b: string;

beforeAll(async () => {
  const dir = tempDir();
  a = path.join(dir, 'a.log');
  b = path.join(dir, 'b.log');
  writeFileSync(a, '');
  writeFileSync(b, '');
  d = await startDaemon(
    `data_dir = "${dir}/data"
${fileSourceToml('a', a, 'stream = "app"')}
${fileSourceToml('b', b, 'stream = "other"')}
[[streams]]
name = "app"
replay = 1000
[[streams]]
name = "other"
replay = 1000
`,
    { dir },
  );
});

afterAll(async () => {
  await d?.stop();
  stopAll();
});

async function page(query: string): Promise<Page> {
  const r = await fetch(`${d.url}/api/records?${query}`, { headers: authHeaders });
  expect(r.status).toBe(200);
  return (await r.json()) as Page;
}

async function count(stream: string): Promise<number> {
  const r = (await (await fetch(`${d.url}/api/streams`, { headers: authHeaders })).json()) as { streams: { name: string; records: number }[] };
  return r.streams.find((s) => s.name === stream)?.records ?? 0;
}

function write(file: string, prefix: string, from: number, to: number): string[] {
  const msgs: string[] = [];
  for (let i = from; i < to; i++) msgs.push(`${prefix} ${i} ${i % 3 === 0 ? 'third' : 'other'}`);
  appendFileSync(file, msgs.join('\n') + '\n');
  return msgs;
}

/** Page forward from `since` until a page comes back empty; every page is checked against the limit. */
async function pageAll(base: string, since: number, limit: number): Promise<{ records: Rec[]; last: number; pages: number }> {
  const out: Rec[] = [];
  let pages = 0;
  for (;;) {
    const p = await page(`${base ? base + '&' : ''}since=${since}&limit=${limit}`);
    expect(p.records.length).toBeLessThanOrEqual(limit);
    if (p.records.length === 0) {
      // nothing after `since`: it comes back as it was, so polling with it loses nothing
      expect(p.next_since).toBe(since);
      return { records: out, last: since, pages };
    }
    expect(p.records[0]!.seq).toBeGreaterThan(since);
    expect(p.next_since).toBe(p.records[p.records.length - 1]!.seq);
    out.push(...p.records);
    since = p.next_since;
    pages++;
  }
}

const increasing = (rs: Rec[]) => rs.every((r, i) => i === 0 || r.seq > rs[i - 1]!.seq);

describe('GET /api/records paging', () => {
  it('without since: the newest `limit`; next_since as since pages forward through all, none twice, and on to new ones', async () => {
    const first = write(a, 'a', 0, 250);
    await waitFor(async () => (await count('app')) === 250, '250 records');

    const newest = await page('stream=app&limit=100');
    expect(newest.records.map((r) => r.message)).toEqual(first.slice(150));
    expect(newest.next_since).toBe(newest.records[99]!.seq);
    const def = await page('stream=app');
    expect(def.records.map((r) => r.message)).toEqual(first.slice(150)); // limit defaults to 100

    // from before the first record, 100 at a time: 3 pages, all 250 once, in order
    const all = await pageAll('stream=app', 0, 100);
    expect(all.pages).toBe(3);
    expect(all.records.map((r) => r.message)).toEqual(first);
    expect(increasing(all.records)).toBe(true);
    expect(all.last).toBe(newest.next_since);

    // the newest page's next_since, passed back once more lines arrived, gives exactly those
    const more = write(a, 'a', 250, 280);
    await waitFor(async () => (await count('app')) === 280, '280 records');
    const later = await pageAll('stream=app', newest.next_since, 100);
    expect(later.records.map((r) => r.message)).toEqual(more);
  });

  it('across interleaved streams (no stream=) and with a filter: small pages add up to exactly the records after since', async () => {
    const start = (await page('limit=1')).next_since; // the newest seq over every stream
    const [appBefore, otherBefore] = [await count('app'), await count('other')];
    const fromA = write(a, 'a', 1000, 1040);
    const fromB = write(b, 'b', 0, 60);
    await waitFor(async () => (await count('app')) === appBefore + 40 && (await count('other')) === otherBefore + 60, 'the new lines of both files');

    const all = await pageAll('', start, 7);
    expect(all.records).toHaveLength(100);
    expect(increasing(all.records)).toBe(true);
    expect(all.records.filter((r) => r.stream === 'app').map((r) => r.message)).toEqual(fromA);
    expect(all.records.filter((r) => r.stream === 'other').map((r) => r.message)).toEqual(fromB);

    // with q=third: only the matching ones, each once, next_since the last one returned
    const third = await pageAll('q=third', start, 4);
    expect(third.records.map((r) => r.seq)).toEqual(all.records.filter((r) => r.message.includes('third')).map((r) => r.seq));
    // and without since a filtered page is the newest matching ones
    const newestThird = await page('q=third&limit=4');
    expect(newestThird.records.map((r) => r.seq)).toEqual(third.records.slice(-4).map((r) => r.seq));
  });

  it('limit is at most 10000', async () => {
    const r = await fetch(`${d.url}/api/records?limit=10001`, { headers: authHeaders });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('SLUICE_ERR_API_BAD_REQUEST');
    expect((await page('limit=10000')).records.length).toBeGreaterThan(0);
  });
});
