/**
 * The live filters (docs/api.md, SSE: `level=` list, `min_level=`, `source=`,
 * `q=`, `re=`, AND-composed) on /api/streams/{name}/sse and /api/tail/sse of a
 * real daemon, the same filters on /api/records, and the 400
 * SLUICE_ERR_FILTER_INVALID answers; also the stream's opening block. What each client must get is computed
 * from the unfiltered records the daemon itself reports, so the test does not
 * depend on how a line's level was detected.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeaders, fileSourceToml, startDaemon, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';
import { SseClient } from '../helpers/sse.js';

interface Rec { seq: number; source: string; stream: string; level?: string; message: string }

const LEVELS = ['trace', 'debug', 'info', 'notice', 'warn', 'error', 'critical', 'alert', 'emergency'];
const rank = (l: string | undefined) => (l === undefined ? -1 : LEVELS.indexOf(l));

let d: DaemonHandle;
const files: Record<string, string> = {};

beforeAll(async () => {
  const dir = tempDir();
  for (const n of ['a', 'b', 'c']) writeFileSync((files[n] = path.join(dir, `${n}.log`)), '');
  d = await startDaemon(
    `data_dir = "${dir}/data"
${fileSourceToml('a', files.a!, 'stream = "app"')}
${fileSourceToml('b', files.b!, 'stream = "app"')}
${fileSourceToml('c', files.c!, 'stream = "other"')}
`,
    { dir },
  );
});

afterAll(async () => {
  await d?.stop();
  stopAll();
});

async function records(query: string): Promise<Rec[]> {
  const r = await fetch(`${d.url}/api/records?limit=10000${query ? '&' + query : ''}`, { headers: authHeaders });
  expect(r.status).toBe(200);
  return ((await r.json()) as { records: Rec[] }).records;
}

async function streamRecords(name: string): Promise<number> {
  const r = (await (await fetch(`${d.url}/api/streams`, { headers: authHeaders })).json()) as { streams: { name: string; records: number }[] };
  return r.streams.find((s) => s.name === name)?.records ?? 0;
}

/** One line per (source, i): six kinds of level (one without any) and two kinds of message. */
function lines(src: string): string {
  const kinds = ['debug', 'info', 'warn', 'error', 'critical', null];
  let s = '';
  for (let i = 0; i < 12; i++) {
    const level = kinds[i % 6];
    const message = `${src} ${i % 2 ? 'Disk' : 'net'} id=${i}`;
    s += (level ? JSON.stringify({ level, message }) : message) + '\n';
  }
  return s;
}

interface Case { name: string; path: string; query: string; stream: string | null; pred: (r: Rec) => boolean }

const CASES: Case[] = [
  { name: 'min_level=warn', path: '/api/streams/app/sse', query: 'min_level=warn', stream: 'app', pred: (r) => rank(r.level) >= rank('warn') },
  { name: 'source=b', path: '/api/streams/app/sse', query: 'source=b', stream: 'app', pred: (r) => r.source === 'b' },
  { name: 'level=info,error', path: '/api/streams/app/sse', query: 'level=info,error', stream: 'app', pred: (r) => r.level === 'info' || r.level === 'error' },
  { name: 'q=DISK', path: '/api/streams/app/sse', query: 'q=DISK', stream: 'app', pred: (r) => r.message.toLowerCase().includes('disk') },
  { name: 're=id=1[0-9]$', path: '/api/streams/app/sse', query: `re=${encodeURIComponent('id=1[0-9]$')}`, stream: 'app', pred: (r) => /id=1[0-9]$/.test(r.message) },
  {
    name: 'min_level=warn&source=b&q=disk', path: '/api/streams/app/sse', query: 'min_level=warn&source=b&q=disk', stream: 'app',
    pred: (r) => rank(r.level) >= rank('warn') && r.source === 'b' && r.message.toLowerCase().includes('disk'),
  },
  { name: 'tail min_level=error', path: '/api/tail/sse', query: 'min_level=error', stream: null, pred: (r) => rank(r.level) >= rank('error') },
  { name: 'tail source=a,c', path: '/api/tail/sse', query: 'source=a,c', stream: null, pred: (r) => r.source === 'a' || r.source === 'c' },
  { name: 'tail level=debug,error', path: '/api/tail/sse', query: 'level=debug,error', stream: null, pred: (r) => r.level === 'debug' || r.level === 'error' },
  { name: 'tail q=disk&source=c', path: '/api/tail/sse', query: 'q=disk&source=c', stream: null, pred: (r) => r.source === 'c' && r.message.toLowerCase().includes('disk') },
  { name: 'tail re=^c .*id=[0-5]$', path: '/api/tail/sse', query: `re=${encodeURIComponent('^c .*id=[0-5]$')}`, stream: null, pred: (r) => /^c .*id=[0-5]$/.test(r.message) },
];

describe('SSE filters', () => {
  it('each filter (and their AND) gives a live client exactly the matching records, on one stream and on all; /api/records agrees', async () => {
    const clients = CASES.map((c) => new SseClient(`${d.url}${c.path}?${c.query}`, authHeaders));
    for (const c of clients) await c.connect();
    for (const c of clients) expect(c.status).toBe(200);

    appendFileSync(files.a!, lines('a'));
    appendFileSync(files.b!, lines('b'));
    appendFileSync(files.c!, lines('c'));
    await waitFor(async () => (await streamRecords('app')) === 24 && (await streamRecords('other')) === 12, 'every line read');
    // end markers that every filter of their endpoint lets through: once a client has its
    // marker it has been sent everything before it (records go out in seq order)
    const appEnd = 'b Disk end id=19';
    appendFileSync(files.b!, JSON.stringify({ level: 'error', message: appEnd }) + '\n');
    await waitFor(async () => (await streamRecords('app')) === 25, 'the app end marker');
    const tailEnd = 'c Disk end id=5';
    appendFileSync(files.c!, JSON.stringify({ level: 'error', message: tailEnd }) + '\n');
    await waitFor(async () => (await streamRecords('other')) === 13, 'the tail end marker');

    const truth = await records('');
    expect(truth).toHaveLength(38);
    // the lines carry the levels the cases are about (and some carry none)
    expect(new Set(truth.map((r) => r.level ?? 'none'))).toEqual(new Set(['debug', 'info', 'warn', 'error', 'critical', 'none']));

    for (const [i, c] of CASES.entries()) {
      const client = clients[i]!;
      const end = c.stream === 'app' ? appEnd : tailEnd;
      await client.waitFor(() => client.logs().some((r) => r.message === end), `${c.name}: its end marker`);
      const want = truth.filter((r) => (c.stream === null || r.stream === c.stream) && c.pred(r));
      expect(want.length, c.name).toBeGreaterThan(1);
      expect(want.length, c.name).toBeLessThan(truth.filter((r) => c.stream === null || r.stream === c.stream).length);
      expect({ case: c.name, got: client.logs().map((r) => r.seq) }).toEqual({ case: c.name, got: want.map((r) => r.seq) });
      // backfill takes the same filters
      const back = await records(`${c.stream ? `stream=${c.stream}&` : ''}${c.query}`);
      expect({ case: c.name, got: back.map((r) => r.seq) }).toEqual({ case: c.name, got: want.map((r) => r.seq) });
      client.disconnect();
    }
  });

  it('a stream opens with `retry: 2000` and a `: connected` comment, before any record (docs/api.md, SSE)', async () => {
    for (const p of ['/api/streams/app/sse', '/api/tail/sse']) {
      let raw = '';
      const req = http.get(`${d.url}${p}`, { headers: authHeaders }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (c: string) => (raw += c));
      });
      req.on('error', () => undefined);
      await waitFor(() => raw.includes('\n\n'), `${p}: the opening block`);
      expect(raw.startsWith('retry: 2000\n: connected\n\n')).toBe(true);
      req.destroy();
    }
  });

  it('an invalid filter is 400 SLUICE_ERR_FILTER_INVALID with the reason, on both SSE routes and /api/records', async () => {
    const bad: [string, RegExp][] = [
      [`re=${encodeURIComponent('(unclosed')}`, /^re: invalid RE2 pattern: .*missing \)/i],
      ['min_level=loud', /min_level: unknown level "loud"/],
      ['level=warn,loud', /level: unknown level "loud"/],
    ];
    for (const p of ['/api/streams/app/sse', '/api/tail/sse', '/api/records']) {
      for (const [q, msg] of bad) {
        const r = await fetch(`${d.url}${p}?${q}`, { headers: authHeaders });
        expect({ p, q, status: r.status }).toEqual({ p, q, status: 400 });
        const body = (await r.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('SLUICE_ERR_FILTER_INVALID');
        expect(body.error.message).toMatch(msg);
      }
    }
  });
});
