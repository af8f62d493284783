/**
 * Status: version and uptime, records per second (a small chart of the last
 * two minutes, from the seq counter's rate), sources with their state and
 * counters, streams with their replay rings and clients, drops by stage and
 * reason, memory, rules and webhooks. Polls /api/status every two seconds
 * while the tab is visible.
 */
import { useRef, useState } from 'preact/hooks';
import { get } from '../api';
import { bytes, duration, num } from '../text';
import { Empty, ErrorNote, usePoll } from '../ui';

interface SourceStatus {
  name: string;
  type: string;
  stream: string;
  state: string;
  last_error?: { code: string; message: string; at: string } | null;
  counters: Record<string, number>;
  [k: string]: unknown;
}

interface StatusJson {
  version: string;
  uptime_s: number;
  seq: number;
  sources: SourceStatus[];
  streams: { name: string; records: number; ring: { size: number; bytes: number; capacity: number; firstSeq: number | null; lastSeq: number | null }; sse_clients: number; tcp: { listen: string; clients: unknown[] } | null }[];
  all_streams_sse_clients: number;
  drops: Record<string, number>;
  memory: { rss: number; heap_used: number; ring_bytes: number; client_buffers: number; client_buffers_max: number; budget: number };
  rules?: { hits: number; suppressed_by_cooldown: number; suppressed_by_bucket: number; records_scanned: number; events_written: number; compile_errors: unknown[] };
  webhooks?: { queued: number; delivered: number; failed: number; dropped: number };
  auth?: Record<string, number>;
}

const POINTS = 60;
const EVERY_MS = 2000;
/** Counters shown as columns; the rest are behind "all counters". */
const MAIN_COUNTERS = ['lines', 'records', 'bytes', 'read_errors'];

export function StatusPage() {
  const samples = useRef<{ t: number; seq: number }[]>([]);
  const [rates, setRates] = useState<number[]>([]);
  const st = usePoll(async (signal) => {
    const s = await get<StatusJson>('/api/status', signal);
    const now = performance.now();
    const prev = samples.current[samples.current.length - 1];
    samples.current.push({ t: now, seq: s.seq });
    if (samples.current.length > 2) samples.current.shift();
    if (prev && now > prev.t) setRates((r) => [...r.slice(-(POINTS - 1)), Math.max(0, ((s.seq - prev.seq) * 1000) / (now - prev.t))]);
    return s;
  }, EVERY_MS);
  const s = st.data;
  const rate = rates[rates.length - 1];
  return (
    <main id="main" class="page page-status">
      <h1>Status</h1>
      <ErrorNote error={st.error} />
      {!s ? (
        <p class="loading">Loading…</p>
      ) : (
        <>
          <div class="cards">
            <Card label="Version" value={s.version} />
            <Card label="Uptime" value={duration(s.uptime_s)} />
            <Card label="Records/s" value={rate === undefined ? '…' : num(Math.round(rate))} testid="rate" />
            <Card label="Last seq" value={num(s.seq)} />
            <Card label="Live clients" value={num(s.streams.reduce((n, x) => n + x.sse_clients + (x.tcp?.clients.length ?? 0), 0) + s.all_streams_sse_clients)} testid="clients" />
            <Card label="Memory (RSS)" value={bytes(s.memory.rss)} />
          </div>
          <section aria-labelledby="tp-h">
            <h2 id="tp-h">Throughput</h2>
            <Chart values={rates} />
          </section>
          <section aria-labelledby="src-h">
            <h2 id="src-h">Sources</h2>
            {s.sources.length === 0 ? (
              <Empty>No source is configured.</Empty>
            ) : (
              <div class="table-wrap">
                <table class="table" data-testid="sources">
                  <thead>
                    <tr>
                      <th scope="col">Source</th>
                      <th scope="col">Type</th>
                      <th scope="col">Stream</th>
                      <th scope="col">State</th>
                      {MAIN_COUNTERS.map((c) => (
                        <th key={c} scope="col" class="num">
                          {c.replace('_', ' ')}
                        </th>
                      ))}
                      <th scope="col">All counters</th>
                    </tr>
                  </thead>
                  <tbody>
                    {s.sources.map((src) => (
                      <tr key={src.name}>
                        <td data-label="Source">{src.name}</td>
                        <td data-label="Type">{src.type}</td>
                        <td data-label="Stream">{src.stream}</td>
                        <td data-label="State">
                          <span class={`state state-${src.state}`}>{src.state}</span>
                          {src.last_error && (src.state === 'error' || src.state === 'degraded') && (
                            <small class="state-reason muted" title={`${src.last_error.code} at ${src.last_error.at}`}>
                              {src.last_error.message}
                            </small>
                          )}
                        </td>
                        {MAIN_COUNTERS.map((c) => (
                          <td key={c} data-label={c} class="num">
                            {c === 'bytes' ? bytes(src.counters[c] ?? 0) : num(src.counters[c] ?? 0)}
                          </td>
                        ))}
                        <td data-label="All counters">
                          <details>
                            <summary>{Object.values(src.counters).filter((v) => v > 0).length} non-zero</summary>
                            <dl class="kv small">
                              {Object.entries(src.counters).map(([k, v]) => (
                                <div key={k}>
                                  <dt>{k}</dt>
                                  <dd>{num(v)}</dd>
                                </div>
                              ))}
                            </dl>
                          </details>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          <section aria-labelledby="streams-h">
            <h2 id="streams-h">Streams and clients</h2>
            <div class="table-wrap">
              <table class="table">
                <thead>
                  <tr>
                    <th scope="col">Stream</th>
                    <th scope="col" class="num">Records</th>
                    <th scope="col" class="num">Replay ring</th>
                    <th scope="col" class="num">Ring bytes</th>
                    <th scope="col" class="num">SSE clients</th>
                    <th scope="col">TCP</th>
                  </tr>
                </thead>
                <tbody>
                  {s.streams.map((x) => (
                    <tr key={x.name}>
                      <td data-label="Stream">{x.name}</td>
                      <td data-label="Records" class="num">
                        {num(x.records)}
                      </td>
                      <td data-label="Replay ring" class="num">
                        {num(x.ring.size)} / {num(x.ring.capacity)}
                      </td>
                      <td data-label="Ring bytes" class="num">
                        {bytes(x.ring.bytes)}
                      </td>
                      <td data-label="SSE clients" class="num">
                        {x.sse_clients}
                      </td>
                      <td data-label="TCP">{x.tcp ? `${x.tcp.listen} · ${x.tcp.clients.length} client(s)` : '—'}</td>
                    </tr>
                  ))}
                  <tr>
                    <td data-label="Stream">
                      <em>all streams</em>
                    </td>
                    <td colSpan={3} />
                    <td data-label="SSE clients" class="num">
                      {s.all_streams_sse_clients}
                    </td>
                    <td />
                  </tr>
                </tbody>
              </table>
            </div>
          </section>
          <section aria-labelledby="drops-h">
            <h2 id="drops-h">Drops by stage and reason</h2>
            {Object.keys(s.drops).length === 0 ? (
              <Empty>Nothing dropped since the start.</Empty>
            ) : (
              <div class="table-wrap">
                <table class="table compact" data-testid="drops">
                  <thead>
                    <tr>
                      <th scope="col">Stage</th>
                      <th scope="col">Reason</th>
                      <th scope="col" class="num">Records</th>
                    </tr>
                  </thead>
                  <tbody>
                    {Object.entries(s.drops)
                      .sort((a, b) => b[1] - a[1])
                      .map(([k, v]) => {
                        const [stage, reason] = k.split('/');
                        return (
                          <tr key={k}>
                            <td data-label="Stage">{stage}</td>
                            <td data-label="Reason">{reason}</td>
                            <td data-label="Records" class="num">
                              {num(v)}
                            </td>
                          </tr>
                        );
                      })}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          <section aria-labelledby="more-h">
            <h2 id="more-h">Memory, rules, webhooks</h2>
            <dl class="kv wide">
              <div>
                <dt>heap used</dt>
                <dd>{bytes(s.memory.heap_used)}</dd>
              </div>
              <div>
                <dt>replay rings</dt>
                <dd>
                  {bytes(s.memory.ring_bytes)} (budget {bytes(s.memory.budget)})
                </dd>
              </div>
              <div>
                <dt>client buffers</dt>
                <dd>
                  {bytes(s.memory.client_buffers)} of {bytes(s.memory.client_buffers_max)}
                </dd>
              </div>
              {s.rules && (
                <div>
                  <dt>rules</dt>
                  <dd>
                    {num(s.rules.hits)} hits, {num(s.rules.events_written)} events, {num(s.rules.suppressed_by_cooldown + s.rules.suppressed_by_bucket)} suppressed, {num(s.rules.records_scanned)} records scanned
                  </dd>
                </div>
              )}
              {s.webhooks && (
                <div>
                  <dt>webhooks</dt>
                  <dd>
                    {num(s.webhooks.delivered)} delivered, {num(s.webhooks.failed)} failed, {num(s.webhooks.dropped)} dropped, {num(s.webhooks.queued)} queued
                  </dd>
                </div>
              )}
              {s.auth && (
                <div>
                  <dt>refused tokens</dt>
                  <dd>
                    {num((s.auth.missing ?? 0) + (s.auth.invalid ?? 0) + (s.auth.limited ?? 0))} (forbidden: {num(s.auth.forbidden ?? 0)})
                  </dd>
                </div>
              )}
            </dl>
          </section>
        </>
      )}
    </main>
  );
}

function Card({ label, value, testid }: { label: string; value: string; testid?: string }) {
  return (
    <div class="card">
      <div class="card-label">{label}</div>
      <div class="card-value" data-testid={testid}>
        {value}
      </div>
    </div>
  );
}

/** Records per second over the last POINTS samples: an SVG polyline, no library. */
function Chart({ values }: { values: number[] }) {
  const w = 600;
  const h = 120;
  const max = Math.max(10, ...values);
  const step = w / (POINTS - 1);
  const x0 = w - (values.length - 1) * step;
  const pts = values.map((v, i) => `${(x0 + i * step).toFixed(1)},${(h - (v / max) * (h - 8)).toFixed(1)}`).join(' ');
  const last = values[values.length - 1];
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="none" role="img" aria-label={`Records per second over the last ${Math.round((POINTS * EVERY_MS) / 60000)} minutes; now ${last === undefined ? 'unknown' : Math.round(last)}`}>
        <line x1="0" y1={h - 0.5} x2={w} y2={h - 0.5} class="axis" />
        {values.length > 1 && <polyline points={`${x0.toFixed(1)},${h} ${pts} ${w},${h}`} class="area" />}
        {values.length > 1 && <polyline points={pts} class="line" />}
      </svg>
      <figcaption>
        peak {num(Math.round(Math.max(0, ...values)))}/s · scale 0–{num(Math.round(max))}/s · last {Math.round((POINTS * EVERY_MS) / 60000)} min
      </figcaption>
    </figure>
  );
}
