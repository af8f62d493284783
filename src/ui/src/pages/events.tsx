/**
 * Events (rule hits): filter by severity, source, rule and text (the
 * store's full-text search), newest first, more loaded as you scroll; new
 * ones appear at the top while you are there. A detail shows the captures
 * and links to the surrounding lines of the record's stream.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { get, qs, SEVERITIES, type Rule, type Severity, type SluiceEventJson, type StreamInfo } from '../api';
import { setQuery, useLocation } from '../router';
import { dateTime, oneLine } from '../text';
import { Checks, Empty, ErrorNote, errorText, Sev, useDebounced, useKeys } from '../ui';

const PAGE = 50;
const REFRESH_MS = 3000;

interface Filters {
  severity: Severity[];
  source: string;
  rule_id: string;
  q: string;
}

export function EventsPage() {
  const loc = useLocation();
  const f: Filters = {
    severity: (loc.query.get('severity') ?? '').split(',').filter((s): s is Severity => (SEVERITIES as readonly string[]).includes(s)),
    source: loc.query.get('source') ?? '',
    rule_id: loc.query.get('rule') ?? '',
    q: loc.query.get('q') ?? '',
  };
  const [text, setText] = useState(f.q);
  const debounced = useDebounced(text, 300);
  useEffect(() => {
    if (debounced !== f.q) setQuery({ q: debounced });
  }, [debounced]);

  const [rules, setRules] = useState<Rule[]>([]);
  const [streams, setStreams] = useState<StreamInfo[]>([]);
  useEffect(() => {
    get<{ rules: Rule[] }>('/api/rules').then((r) => setRules(r.rules), () => undefined);
    get<{ streams: StreamInfo[] }>('/api/streams').then((r) => setStreams(r.streams), () => undefined);
  }, []);
  const sources = useMemo(() => [...new Set(streams.flatMap((s) => s.sources))].sort(), [streams]);
  const streamOf = (source: string) => streams.find((s) => s.sources.includes(source))?.name ?? '';

  const key = `${f.severity.join(',')}|${f.source}|${f.rule_id}|${f.q}`;
  const [events, setEvents] = useState<SluiceEventJson[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string>();
  const [selected, setSelected] = useState<SluiceEventJson | null>(null);
  const gen = useRef(0);
  const params = { severity: f.severity.join(','), source: f.source, rule_id: f.rule_id, q: f.q };

  const load = async (before: string | null) => {
    const g = gen.current;
    setLoading(true);
    try {
      const r = await get<{ events: SluiceEventJson[]; next: string | null }>('/api/events' + qs({ ...params, before, limit: PAGE }));
      if (g !== gen.current) return;
      setEvents((old) => (before ? [...old, ...r.events] : r.events));
      setNext(r.next);
      setError(undefined);
    } catch (err) {
      if (g === gen.current) setError(errorText(err));
    } finally {
      if (g === gen.current) setLoading(false);
    }
  };

  useEffect(() => {
    gen.current++;
    setEvents([]);
    setNext(null);
    setSelected(null);
    void load(null);
  }, [key]);

  // new events at the top, while the page is open
  const eventsRef = useRef(events);
  eventsRef.current = events;
  useEffect(() => {
    const t = setInterval(async () => {
      if (document.visibilityState === 'hidden') return;
      const g = gen.current;
      try {
        const r = await get<{ events: SluiceEventJson[] }>('/api/events' + qs({ ...params, limit: PAGE }));
        if (g !== gen.current) return;
        const newest = eventsRef.current[0]?.id ?? 0;
        const fresh = r.events.filter((e) => e.id > newest);
        if (fresh.length) setEvents((old) => [...fresh, ...old]);
      } catch {
        /* the next tick tries again; a 401 already went to the prompt */
      }
    }, REFRESH_MS);
    return () => clearInterval(t);
  }, [key]);

  // infinite scroll: the sentinel below the list loads the next page when it comes into view
  const sentinel = useRef<HTMLDivElement>(null);
  const nextRef = useRef({ next, loading });
  nextRef.current = { next, loading };
  useEffect(() => {
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && nextRef.current.next && !nextRef.current.loading) void load(nextRef.current.next);
    }, { rootMargin: '400px' });
    if (sentinel.current) io.observe(sentinel.current);
    return () => io.disconnect();
  }, [key]);

  useKeys(true, (e) => {
    if (e.key === 'g') window.scrollTo({ top: 0 });
    else if (e.key === 'G') window.scrollTo({ top: document.documentElement.scrollHeight });
    else if (e.key === 'Escape') setSelected(null);
  });

  return (
    <main id="main" class="page page-events">
      <h1>Events</h1>
      <form class="filters" role="search" aria-label="Filter events" onSubmit={(e) => e.preventDefault()}>
        <Checks legend="Severity" values={SEVERITIES} selected={f.severity} onChange={(v) => setQuery({ severity: v.join(',') })} />
        <label class="field">
          <span class="field-label">Source</span>
          <select value={f.source} onChange={(e) => setQuery({ source: (e.currentTarget as HTMLSelectElement).value })}>
            <option value="">any</option>
            {sources.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span class="field-label">Rule</span>
          <select value={f.rule_id} onChange={(e) => setQuery({ rule: (e.currentTarget as HTMLSelectElement).value })}>
            <option value="">any</option>
            {rules.map((r) => (
              <option key={r.id} value={String(r.id)}>
                {r.name}
                {r.source ? ` (${r.source})` : ''}
              </option>
            ))}
          </select>
        </label>
        <label class="field grow">
          <span class="field-label">Text</span>
          <input type="search" data-filter value={text} placeholder="words in the message" onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)} />
        </label>
      </form>
      <ErrorNote error={error} />
      <div class={`split ${selected ? 'with-detail' : ''}`}>
        <div class="list-col">
          {events.length === 0 && !loading && !error ? (
            <Empty>{key === '|||' ? 'No events yet: a rule hit shows here.' : 'No event matches these filters.'}</Empty>
          ) : (
            <ul class="event-list" aria-label="Events, newest first" data-testid="event-list">
              {events.map((e) => (
                <li key={e.id}>
                  <button type="button" class={`event-row ${selected?.id === e.id ? 'selected' : ''}`} onClick={() => setSelected(e)} aria-pressed={selected?.id === e.id}>
                    <time class="ev-time" dateTime={e.time} title={e.time}>
                      {dateTime(e.time)}
                    </time>
                    <Sev severity={e.severity} />
                    <span class="ev-rule">{e.rule_name}</span>
                    <span class="ev-src">{e.source}</span>
                    <span class="ev-msg">{oneLine(e.message, 400)}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
          <div ref={sentinel} class="sentinel" aria-hidden="true" />
          {loading && <p class="loading">Loading…</p>}
          {!loading && !next && events.length > 0 && <p class="end-note">That is all.</p>}
        </div>
        {selected && <EventDetail ev={selected} stream={streamOf(selected.source)} onClose={() => setSelected(null)} />}
      </div>
    </main>
  );
}

function EventDetail({ ev, stream, onClose }: { ev: SluiceEventJson; stream: string; onClose: () => void }) {
  const captures = Object.entries(ev.captures ?? {});
  const around = `/?${new URLSearchParams(stream ? { stream, seq: String(ev.record_seq) } : { seq: String(ev.record_seq) })}`;
  return (
    <aside class="detail-panel" aria-label="Event detail" data-testid="event-detail">
      <div class="detail-actions">
        <h2>{ev.rule_name}</h2>
        <button type="button" class="ghost close" onClick={onClose} aria-label="Close the detail">
          ✕
        </button>
      </div>
      <p>
        <Sev severity={ev.severity} /> <time dateTime={ev.time}>{dateTime(ev.time)}</time> · source <strong>{ev.source}</strong>
      </p>
      <pre class="detail-message">{ev.message}</pre>
      <h3 class="detail-h">Captures</h3>
      {captures.length === 0 ? (
        <p class="empty">none</p>
      ) : (
        <table class="table compact">
          <thead>
            <tr>
              <th scope="col">group</th>
              <th scope="col">value</th>
            </tr>
          </thead>
          <tbody>
            {captures.map(([k, v]) => (
              <tr key={k}>
                <td>
                  <code>{k}</code>
                </td>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3 class="detail-h">Origin</h3>
      <dl class="kv">
        {Object.entries(ev.origin ?? {}).map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
          </div>
        ))}
        <div>
          <dt>record</dt>
          <dd>#{ev.record_seq}</dd>
        </div>
        <div>
          <dt>rule</dt>
          <dd>
            <a href={`/rules?edit=${ev.rule_id}`}>#{ev.rule_id}</a>
          </dd>
        </div>
      </dl>
      <p>
        <a class="button" href={around} data-testid="surrounding">
          Show the surrounding lines{stream ? ` of ${stream}` : ''}
        </a>
      </p>
    </aside>
  );
}
