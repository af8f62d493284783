/**
 * The metrics registry at its edges (mutation testing), read the way a
 * scrape reads it: counters sources keep as plain numbers published as
 * monotonic deltas (a new counter at 0, one that went down or vanished kept
 * at its highest, non-numbers skipped), per-instance lines and tails, the
 * forward sink's gauges and counters, component states, auth refusals, drops
 * and the process metrics.
 */
import { describe, expect, it } from 'vitest';
import { Health } from './health.js';
import { Metrics, type ForwardView, type SourceCounterView } from './metrics.js';

/** `name{k="v",...}` -> value, for one metric as a scrape sees it. */
async function scrape(m: Metrics, name: string): Promise<Record<string, number>> {
  const metric = m.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const out: Record<string, number> = {};
  for (const v of values) {
    const labels = Object.entries(v.labels).map(([k, x]) => `${k}=${String(x)}`).join(',');
    out[labels] = v.value;
  }
  return out;
}

describe('sluice_source_events_total', () => {
  it('publishes each counter of each source as it grows; a counter first seen at 0 is a series at 0', async () => {
    const m = new Metrics();
    let views: SourceCounterView[] = [{ name: 'app', type: 'file', counters: { lines: 10, rotations: 0 } }];
    m.setSourceViews(() => views);
    expect(await scrape(m, 'sluice_source_events_total')).toEqual({ 'source=app,type=file,counter=lines': 10, 'source=app,type=file,counter=rotations': 0 });
    views = [{ name: 'app', type: 'file', counters: { lines: 25, rotations: 0 } }, { name: 'sys', type: 'syslog', counters: { lines: 0 } }];
    expect(await scrape(m, 'sluice_source_events_total')).toEqual({ 'source=app,type=file,counter=lines': 25, 'source=app,type=file,counter=rotations': 0, 'source=sys,type=syslog,counter=lines': 0 });
  });

  it('never goes down: a counter that fell (a restarted source) counts again only past its highest', async () => {
    const m = new Metrics();
    let lines = 100;
    m.setSourceViews(() => [{ name: 'app', type: 'file', counters: { lines } }]);
    await scrape(m, 'sluice_source_events_total');
    lines = 40;
    expect(await scrape(m, 'sluice_source_events_total')).toEqual({ 'source=app,type=file,counter=lines': 100 });
    lines = 90;
    expect(await scrape(m, 'sluice_source_events_total')).toEqual({ 'source=app,type=file,counter=lines': 100 });
    lines = 130;
    expect(await scrape(m, 'sluice_source_events_total')).toEqual({ 'source=app,type=file,counter=lines': 130 });
    expect(await scrape(m, 'sluice_source_events_total')).toEqual({ 'source=app,type=file,counter=lines': 130 }); // scraped again: unchanged
  });

  it('keeps name, type and counter apart however they split (no two series share a running total)', async () => {
    const m = new Metrics();
    m.setSourceViews((): SourceCounterView[] => [
      { name: 'a', type: 'bc', counters: { n: 5 } },
      { name: 'ab', type: 'c', counters: { n: 3 } },
      { name: 'x', type: 'y', counters: { ab: 7 } },
      { name: 'x', type: 'ya', counters: { b: 2 } },
    ]);
    const want = { 'source=a,type=bc,counter=n': 5, 'source=ab,type=c,counter=n': 3, 'source=x,type=y,counter=ab': 7, 'source=x,type=ya,counter=b': 2 };
    expect(await scrape(m, 'sluice_source_events_total')).toEqual(want);
    expect(await scrape(m, 'sluice_source_events_total')).toEqual(want);
  });

  it('a source gone and back is counted from where it was, not twice', async () => {
    const m = new Metrics();
    let views: SourceCounterView[] = [{ name: 'app', type: 'file', counters: { lines: 50 } }];
    m.setSourceViews(() => views);
    await scrape(m, 'sluice_source_events_total');
    views = [];
    expect(await scrape(m, 'sluice_source_events_total')).toEqual({ 'source=app,type=file,counter=lines': 50 });
    views = [{ name: 'app', type: 'file', counters: { lines: 60 } }];
    expect(await scrape(m, 'sluice_source_events_total')).toEqual({ 'source=app,type=file,counter=lines': 60 });
  });

  it('skips what is not a finite number, and keeps sources with the same name apart by type', async () => {
    const m = new Metrics();
    m.setSourceViews((): SourceCounterView[] => [
      { name: 'x', type: 'file', counters: { lines: 1, bad: NaN, inf: Infinity, str: '5' as unknown as number } },
      { name: 'x', type: 'docker', counters: { lines: 2 } },
    ]);
    expect(await scrape(m, 'sluice_source_events_total')).toEqual({ 'source=x,type=file,counter=lines': 1, 'source=x,type=docker,counter=lines': 2 });
  });
});

describe('per-listener series', () => {
  const listener = (transport: string, address: string | null, counters: Record<string, number>) => ({ transport, address, listen: '127.0.0.1:0', counters });

  it('sluice_listener_events_total: each counter of each listener under transport://address, monotonic; connections_active is only the gauge', async () => {
    const m = new Metrics();
    let tcp = { connections: 3, connections_active: 2, bytes: 100, oversize: 0 };
    const udp = { datagrams: 7, connections_active: 0, kernel_drops: 1 };
    m.setSourceViews(() => [{ name: 'sys', type: 'syslog', counters: { connections: 3, connections_active: 2 }, listeners: [listener('tcp', '127.0.0.1:5514', tcp), listener('udp', null, udp)] }]);
    expect(await scrape(m, 'sluice_listener_events_total')).toEqual({
      'source=sys,listener=tcp://127.0.0.1:5514,counter=connections': 3,
      'source=sys,listener=tcp://127.0.0.1:5514,counter=bytes': 100,
      'source=sys,listener=tcp://127.0.0.1:5514,counter=oversize': 0,
      'source=sys,listener=udp://127.0.0.1:0,counter=datagrams': 7,
      'source=sys,listener=udp://127.0.0.1:0,counter=kernel_drops': 1,
    });
    expect(await scrape(m, 'sluice_listener_connections')).toEqual({ 'source=sys,listener=tcp://127.0.0.1:5514': 2 });
    // the source-level series has no connections_active either (it goes down: a counter cannot)
    expect(Object.keys(await scrape(m, 'sluice_source_events_total'))).toEqual(['source=sys,type=syslog,counter=connections']);
    tcp = { connections: 5, connections_active: 0, bytes: 90, oversize: 1 };
    const after = await scrape(m, 'sluice_listener_events_total');
    expect(after['source=sys,listener=tcp://127.0.0.1:5514,counter=connections']).toBe(5);
    expect(after['source=sys,listener=tcp://127.0.0.1:5514,counter=bytes']).toBe(100);
    expect(after['source=sys,listener=tcp://127.0.0.1:5514,counter=oversize']).toBe(1);
    expect(await scrape(m, 'sluice_listener_connections')).toEqual({ 'source=sys,listener=tcp://127.0.0.1:5514': 0 });
  });

  it('sources without listeners have no listener series', async () => {
    const m = new Metrics();
    m.setSourceViews(() => [{ name: 'app', type: 'file', counters: { lines: 1 } }]);
    expect(await scrape(m, 'sluice_listener_events_total')).toEqual({});
    expect(await scrape(m, 'sluice_listener_connections')).toEqual({});
  });
});

describe('per-instance series', () => {
  it('tails per source with instances; lines per instance (id cut to 12) as a monotonic counter', async () => {
    const m = new Metrics();
    const id = 'abcdef0123456789abcdef';
    let lines = 5;
    let views: SourceCounterView[] = [];
    m.setSourceViews(() => views);
    views = [
      { name: 'dock', type: 'docker', counters: {}, instances: [{ id, name: 'web', lines }, { id: 'ffff', name: 'db', lines: 0 }] },
      { name: 'app', type: 'file', counters: {} },
    ];
    expect(await scrape(m, 'sluice_source_tails')).toEqual({ 'source=dock': 2 });
    expect(await scrape(m, 'sluice_source_instance_lines_total')).toEqual({ 'source=dock,instance=abcdef012345,instance_name=web': 5, 'source=dock,instance=ffff,instance_name=db': 0 });
    lines = 3; // a restarted container's count: the series stays at its highest
    views = [{ name: 'dock', type: 'docker', counters: {}, instances: [{ id, name: 'web', lines }] }];
    expect(await scrape(m, 'sluice_source_instance_lines_total')).toEqual({ 'source=dock,instance=abcdef012345,instance_name=web': 5, 'source=dock,instance=ffff,instance_name=db': 0 });
    expect(await scrape(m, 'sluice_source_tails')).toEqual({ 'source=dock': 1 });
    views = [{ name: 'dock', type: 'docker', counters: {}, instances: [{ id, name: 'web', lines: 9 }] }];
    expect((await scrape(m, 'sluice_source_instance_lines_total'))['source=dock,instance=abcdef012345,instance_name=web']).toBe(9);
    views = [];
    expect(await scrape(m, 'sluice_source_tails')).toEqual({});
  });

  it('keeps source, instance id and instance name apart however they split', async () => {
    const m = new Metrics();
    m.setSourceViews(() => [
      { name: 'a', type: 'docker', counters: {}, instances: [{ id: 'bc', name: 'n', lines: 5 }] },
      { name: 'ab', type: 'docker', counters: {}, instances: [{ id: 'c', name: 'n', lines: 3 }, { id: 'x', name: 'yz', lines: 4 }, { id: 'xy', name: 'z', lines: 1 }] },
    ]);
    const want = { 'source=a,instance=bc,instance_name=n': 5, 'source=ab,instance=c,instance_name=n': 3, 'source=ab,instance=x,instance_name=yz': 4, 'source=ab,instance=xy,instance_name=z': 1 };
    expect(await scrape(m, 'sluice_source_instance_lines_total')).toEqual(want);
    expect(await scrape(m, 'sluice_source_instance_lines_total')).toEqual(want);
  });
});

describe('forward sink series', () => {
  const fwd = (o: Partial<ForwardView> = {}): ForwardView => ({ name: 'central', spool_bytes: 100, spool_batches: 2, oldest_unacked_s: 3.5, counters: {}, ...o });

  it('spool gauges per forward, the oldest age absent when nothing waits', async () => {
    const m = new Metrics();
    let views = [fwd(), fwd({ name: 'idle', spool_bytes: 0, spool_batches: 0, oldest_unacked_s: null })];
    m.setForwardViews(() => views);
    expect(await scrape(m, 'sluice_forward_spool_bytes')).toEqual({ 'forward=central': 100, 'forward=idle': 0 });
    expect(await scrape(m, 'sluice_forward_spool_batches')).toEqual({ 'forward=central': 2, 'forward=idle': 0 });
    expect(await scrape(m, 'sluice_forward_oldest_unacked_seconds')).toEqual({ 'forward=central': 3.5 });
    views = [];
    expect(await scrape(m, 'sluice_forward_spool_bytes')).toEqual({});
  });

  it('counters as monotonic deltas: at 0 when first seen, kept at their highest', async () => {
    const m = new Metrics();
    let counters: Record<string, number> = { batches_sent: 0, retries: 2 };
    m.setForwardViews(() => [fwd({ counters })]);
    expect(await scrape(m, 'sluice_forward_events_total')).toEqual({ 'forward=central,counter=batches_sent': 0, 'forward=central,counter=retries': 2 });
    counters = { batches_sent: 4, retries: 1 };
    expect(await scrape(m, 'sluice_forward_events_total')).toEqual({ 'forward=central,counter=batches_sent': 4, 'forward=central,counter=retries': 2 });
    counters = { batches_sent: 4, retries: 3 };
    expect(await scrape(m, 'sluice_forward_events_total')).toEqual({ 'forward=central,counter=batches_sent': 4, 'forward=central,counter=retries': 3 });
  });

  it('keeps forward and counter apart however they split', async () => {
    const m = new Metrics();
    m.setForwardViews(() => [fwd({ name: 'a', counters: { bc: 5 } }), fwd({ name: 'ab', counters: { c: 3 } })]);
    const want = { 'forward=a,counter=bc': 5, 'forward=ab,counter=c': 3 };
    expect(await scrape(m, 'sluice_forward_events_total')).toEqual(want);
    expect(await scrape(m, 'sluice_forward_events_total')).toEqual(want);
  });
});

describe('component states, auth refusals, drops', () => {
  it('sluice_component_state: 1 for the state each component is in, 0 for the others', async () => {
    const m = new Metrics();
    expect(await scrape(m, 'sluice_component_state')).toEqual({}); // none set yet
    const a = new Health('source', 'app', 'file');
    const b = new Health('sink', 'central', 'forward');
    a.set('running');
    b.set('degraded');
    m.setHealthViews(() => [a, b]);
    const s = await scrape(m, 'sluice_component_state');
    expect(Object.keys(s)).toHaveLength(10);
    expect(Object.entries(s).filter(([, v]) => v === 1).map(([k]) => k)).toEqual(['kind=source,name=app,type=file,state=running', 'kind=sink,name=central,type=forward,state=degraded']);
    m.setHealthViews(() => []);
    expect(await scrape(m, 'sluice_component_state')).toEqual({});
  });

  it('sluice_auth_denied_total: each reason as the auth hook counts it, 0 when it has none', async () => {
    const m = new Metrics();
    expect(await scrape(m, 'sluice_auth_denied_total')).toEqual({ 'reason=missing': 0, 'reason=invalid': 0, 'reason=limited': 0, 'reason=forbidden': 0 });
    let stats: Record<string, number> = { missing: 3, invalid: 1 };
    m.setAuthView(() => stats);
    expect(await scrape(m, 'sluice_auth_denied_total')).toEqual({ 'reason=missing': 3, 'reason=invalid': 1, 'reason=limited': 0, 'reason=forbidden': 0 });
    stats = { missing: 5, invalid: 1, forbidden: 2, other: 9 };
    expect(await scrape(m, 'sluice_auth_denied_total')).toEqual({ 'reason=missing': 5, 'reason=invalid': 1, 'reason=limited': 0, 'reason=forbidden': 2 });
  });

  it('drop counts n (1 by default) under stage and reason, ignores n <= 0, and lists them for /api/status', async () => {
    const m = new Metrics();
    expect(m.drops()).toEqual({});
    m.drop('parse', 'bad_utf8');
    m.drop('parse', 'bad_utf8', 2);
    m.drop('hub', 'slow_client', 0);
    m.drop('hub', 'slow_client', -1);
    m.drop('udp', 'udp_overflow', 5);
    expect(m.drops()).toEqual({ 'parse/bad_utf8': 3, 'udp/udp_overflow': 5 });
    expect(await scrape(m, 'sluice_dropped_total')).toEqual({ 'stage=parse,reason=bad_utf8': 3, 'stage=udp,reason=udp_overflow': 5 });
  });

  it('records and live clients are plain labelled series', async () => {
    const m = new Metrics();
    m.records.inc({ stream: 'a' }, 4);
    m.clients.set({ kind: 'sse' }, 2);
    expect(await scrape(m, 'sluice_records_total')).toEqual({ 'stream=a': 4 });
    expect(await scrape(m, 'sluice_live_clients')).toEqual({ 'kind=sse': 2 });
  });
});

describe('process metrics and the exposition', () => {
  it('start time, CPU, memory, descriptors and event loop delay, plausible values', async () => {
    const m = new Metrics();
    const one = async (name: string) => (await scrape(m, name))[''];
    const start = (await one('sluice_process_start_time_seconds'))!;
    expect(Math.abs(start - (Date.now() / 1000 - process.uptime()))).toBeLessThanOrEqual(1);
    expect(start % 1).toBe(0);
    const cpu = process.cpuUsage();
    const cpuSeen = (await one('sluice_process_cpu_seconds_total'))!;
    expect(cpuSeen).toBeGreaterThanOrEqual((cpu.user + cpu.system) / 1e6);
    expect(cpuSeen).toBeLessThan((cpu.user + cpu.system) / 1e6 + 60);
    expect(await one('sluice_process_cpu_seconds_total')).toBeGreaterThanOrEqual(cpuSeen); // set, not added up
    expect(await one('sluice_process_cpu_seconds_total')).toBeLessThan(2 * cpuSeen);
    expect(await one('sluice_process_resident_memory_bytes')).toBeGreaterThan(1 << 20);
    const heap = (await one('sluice_process_heap_bytes'))!;
    expect(heap).toBeGreaterThan(1 << 20);
    expect(heap).toBeLessThan(process.memoryUsage.rss() * 2);
    expect(await one('sluice_process_open_fds')).toBeGreaterThan(2);
    // the delay histogram samples every 20 ms and a scrape resets it: scrape until one saw a sample
    let p99 = 0;
    for (let i = 0; i < 400 && p99 === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
      p99 = (await one('sluice_process_event_loop_delay_p99_seconds'))!;
    }
    expect(p99).toBeGreaterThan(0);
    expect(p99).toBeLessThan(60);
  });

  it('text() is the Prometheus exposition with its content type', async () => {
    const m = new Metrics();
    const text = await m.text();
    expect(text).toMatch(/^# HELP sluice_process_start_time_seconds /m);
    expect(text).toMatch(/^# TYPE sluice_dropped_total counter$/m);
    expect(text).toMatch(/^# HELP sluice_component_state State of each source and sink: 1 for the current one of starting, running, degraded, error, stopped\.$/m);
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});
