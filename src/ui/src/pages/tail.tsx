/**
 * Live tail: stream picker, server-side text/RE2 and level filters (in the
 * SSE query, so only matching lines cross the network), pause with an
 * "N new" count, follow mode that lets go when you scroll up, gap and
 * reconnect markers, a record's fields and origin on click, copy and
 * permalink. The list (tail-list.tsx) is virtual, so 100,000 lines scroll
 * like 100, and renders at most once a frame however fast lines come.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { get, LEVELS, type StreamInfo } from '../api';
import { setQuery, useLocation } from '../router';
import { num } from '../text';
import { TailList } from './tail-list';
import { CAPACITY, TailModel, type TailQuery } from './tail-model';

/** Least time between two renders caused by arriving lines (ms). */
const DATA_RENDER_MS = 80;


export function TailPage({ active }: { active: boolean }) {
  const loc = useLocation();
  const model = useMemo(() => new TailModel(), []);
  const [, setTick] = useState(0);
  const activeRef = useRef(active);
  activeRef.current = active;

  // One render per frame at most, none while another page is shown, and while lines pour in one
  // every DATA_RENDER_MS: at 5,000 lines/s, rendering each frame kept Chromium's main thread ~80%
  // busy (mostly painting rows that were on screen for 16 ms); a state change (pause, status)
  // renders at the next frame.
  useEffect(() => {
    let raf = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = 0;
    const frame = () => {
      timer = undefined;
      if (raf) return;
      raf = requestAnimationFrame(() => {
        raf = 0;
        last = performance.now();
        setTick((t) => t + 1);
      });
    };
    model.onChange = (urgent = true) => {
      if (!activeRef.current) return;
      if (urgent) {
        clearTimeout(timer);
        frame();
        return;
      }
      if (raf || timer) return;
      const wait = last + DATA_RENDER_MS - performance.now();
      if (wait > 0) timer = setTimeout(frame, wait);
      else frame();
    };
    return () => {
      cancelAnimationFrame(raf);
      clearTimeout(timer);
      model.close();
    };
  }, [model]);
  useEffect(() => {
    if (active) setTick((t) => t + 1);
  }, [active]);

  // the URL holds the view: ?stream=&q= | &re=, &level=, &seq= (a permalink)
  const [held] = useState<{ q: URLSearchParams }>({ q: loc.query });
  if (active) held.q = loc.query;
  const query: TailQuery = { stream: held.q.get('stream') ?? '', q: held.q.get('q') ?? '', re: held.q.get('re') ?? '', min_level: held.q.get('level') ?? '' };
  const anchorSeq = held.q.has('seq') ? Number(held.q.get('seq')) : undefined;
  const key = `${query.stream}\n${query.q}\n${query.re}\n${query.min_level}\n${anchorSeq ?? ''}`;
  useEffect(() => {
    void model.open(query, Number.isFinite(anchorSeq) ? anchorSeq : undefined);
  }, [key]);

  const [streams, setStreams] = useState<StreamInfo[]>([]);
  useEffect(() => {
    get<{ streams: StreamInfo[] }>('/api/streams')
      .then((r) => setStreams(r.streams))
      .catch(() => undefined);
  }, []);

  return (
    <main id="main" class="page page-tail" hidden={!active} aria-label="Live tail">
      <Toolbar model={model} query={query} streams={streams} active={active} />
      <TailList model={model} query={query} active={active} />
    </main>
  );
}

function Toolbar({ model, query, streams, active }: { model: TailModel; query: TailQuery; streams: StreamInfo[]; active: boolean }) {
  const [regex, setRegex] = useState(query.re !== '');
  const [text, setText] = useState(query.re || query.q);
  // apply typing after a pause (each change reopens the stream with the new server-side filter)
  useEffect(() => {
    const t = setTimeout(() => {
      if ((regex ? query.re : query.q) === text && (regex ? query.q : query.re) === '') return;
      setQuery(regex ? { re: text, q: null, seq: null } : { q: text, re: null, seq: null });
    }, 300);
    return () => clearTimeout(t);
  }, [text, regex]);
  // a filter set from outside (back button, a link) shows in the field
  useEffect(() => {
    setRegex(query.re !== '');
    setText(query.re || query.q);
  }, [query.q, query.re]);

  const s = model.state;
  const status =
    model.paused ? { cls: 'paused', text: 'Paused' } :
    model.loading ? { cls: 'connecting', text: 'Loading…' } :
    s.kind === 'live' ? { cls: 'live', text: 'Live' } :
    s.kind === 'connecting' ? { cls: 'connecting', text: 'Connecting…' } :
    s.kind === 'reconnecting' ? { cls: 'reconnecting', text: `Reconnecting… (attempt ${s.attempt})` } :
    { cls: 'failed', text: 'Stopped' };

  return (
    <div class="toolbar" role="toolbar" aria-label="Live tail controls">
      <label class="field">
        <span class="field-label">Stream</span>
        <select value={query.stream} onChange={(e) => setQuery({ stream: (e.currentTarget as HTMLSelectElement).value, seq: null })} data-testid="stream-picker">
          <option value="">All streams</option>
          {streams.map((st) => (
            <option key={st.name} value={st.name}>
              {st.name}
            </option>
          ))}
          {query.stream && !streams.some((st) => st.name === query.stream) && <option value={query.stream}>{query.stream}</option>}
        </select>
      </label>
      <div class="field filter">
        <label class="field-label" for="tail-filter">
          Filter
        </label>
        <div class="filter-box">
          <input
            id="tail-filter"
            type="search"
            data-filter
            placeholder={regex ? 'RE2 pattern, e.g. timeout|refused' : 'text (case-insensitive)'}
            value={text}
            spellcheck={false}
            autocomplete="off"
            aria-invalid={model.error !== undefined && (query.q !== '' || query.re !== '')}
            onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
          />
          <button type="button" class={`toggle ${regex ? 'on' : ''}`} aria-pressed={regex} title="Use an RE2 regular expression" onClick={() => setRegex(!regex)}>
            .*
          </button>
        </div>
      </div>
      <label class="field">
        <span class="field-label">Level</span>
        <select value={query.min_level} onChange={(e) => setQuery({ level: (e.currentTarget as HTMLSelectElement).value, seq: null })}>
          <option value="">all</option>
          {LEVELS.slice(0, 7).map((l) => (
            <option key={l} value={l}>
              {l} and up
            </option>
          ))}
        </select>
      </label>
      <div class="toolbar-actions">
        <button type="button" class={model.paused ? 'primary' : ''} onClick={() => (model.paused ? model.resume() : model.pause())} title="Pause or resume (space)" data-testid="pause">
          {model.paused ? `Resume${model.pendingCount ? ` · ${num(model.pendingCount)} new` : ''}` : 'Pause'}
        </button>
        <button type="button" class="ghost" onClick={() => model.clearView()} title="Empty the view (the stream goes on)">
          Clear
        </button>
      </div>
      <div class="toolbar-status">
        <span class={`conn conn-${status.cls}`} role="status" aria-live="polite" data-testid="conn">
          {status.text}
        </span>
        <span class="count" data-testid="line-count" title={`At most ${num(CAPACITY)} lines are kept in the page`}>
          {active ? num(model.ring.size) : ''} lines
        </span>
      </div>
      {model.error && (
        <p class="error-note toolbar-error" role="alert">
          {model.error}
        </p>
      )}
    </div>
  );
}
