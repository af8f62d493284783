/**
 * The live tail's virtual list: fixed-height rows (ROW_H), only the rows in
 * view plus a margin in the DOM, keyed by their slot so new lines update text
 * in place. Follow mode keeps the end in view and lets go when you scroll up
 * (wheel, keys, scrollbar); lines dropping off the top while you read keep
 * your place; one expanded record shows its fields below its row.
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { LogRecordJson } from '../api';
import { GAP, LINE, NOTE } from '../ring';
import { setQuery } from '../router';
import { clock, highlighter, matchRanges, num, oneLine } from '../text';
import { Level, Marked, useKeys } from '../ui';
import { RecordDetail } from './record-detail';
import type { TailModel, TailQuery } from './tail-model';

/** Row height in px (style.css --row-h): fixed, so any row's offset is index × ROW_H. */
const ROW_H = 22;
const OVERSCAN = 12;

interface ParsedCache {
  map: Map<number, LogRecordJson | null>;
}

function parseLine(cache: ParsedCache, abs: number, data: string): LogRecordJson | null {
  let v = cache.map.get(abs);
  if (v !== undefined) return v;
  try {
    v = JSON.parse(data) as LogRecordJson;
  } catch {
    v = null;
  }
  cache.map.set(abs, v);
  if (cache.map.size > 600) {
    // forget the oldest entries (Map keeps insertion order)
    let drop = cache.map.size - 400;
    for (const k of cache.map.keys()) {
      if (drop-- <= 0) break;
      cache.map.delete(k);
    }
  }
  return v;
}

export function TailList({ model, query, active }: { model: TailModel; query: TailQuery; active: boolean }) {
  const ring = model.ring;
  const scroller = useRef<HTMLDivElement>(null);
  const detailRef = useRef<HTMLDivElement>(null);
  // following is read and written during render (a reopen, a permalink): a ref, plus a re-render when it changes
  const followRef = useRef(true);
  // the expanded line: its absolute index in the ring of that epoch (a reopen or clear forgets it)
  const [open, setOpen] = useState<{ abs: number; epoch: number } | null>(null);
  const expanded = open !== null && open.epoch === model.epoch ? open.abs : null;
  const setExpanded = (abs: number | null) => setOpen(abs === null ? null : { abs, epoch: model.epoch });
  const [detailH, setDetailH] = useState(0);
  const [, setScrollTick] = useState(0);
  const st = useRef({ start: 0, epoch: -1, expected: -1, savedTop: 0, leftAt: 0, anchorFor: -1, height: 600, wasActive: false });
  const cache = useMemo<ParsedCache>(() => ({ map: new Map() }), []);
  const hl = useMemo(() => highlighter(query.q, query.re), [query.q, query.re]);

  const follow = (on: boolean) => {
    if (followRef.current === on) return;
    followRef.current = on;
    if (!on) st.current.leftAt = ring.end;
    setScrollTick((t) => t + 1);
  };

  // a reopened or cleared ring: back to following the end
  if (st.current.epoch !== model.epoch) {
    st.current.epoch = model.epoch;
    st.current.start = ring.start;
    st.current.anchorFor = -1;
    cache.map.clear();
    followRef.current = true;
  }
  const el = scroller.current;
  const s = st.current;
  if (el && active && el.clientHeight > 0) s.height = el.clientHeight;
  const height = s.height;
  const n = ring.size;
  // an expanded line that dropped off the top (or a cleared ring) is simply not shown
  const expRel = expanded !== null && ring.has(expanded) ? expanded - ring.start : -1;
  const extra = expRel >= 0 ? detailH : 0;
  const total = n * ROW_H + extra;

  // where the view will be after this render (set in the layout effect below, so rows and scroll agree)
  let top = el ? el.scrollTop : 0;
  // hidden (another page is shown), the list has no scroll position of its own: keep the last one
  if (!active || !s.wasActive) top = s.savedTop;
  s.wasActive = active;
  const anchor = model.anchor;
  if (anchor && anchor.found && s.anchorFor !== model.epoch) {
    const i = ring.indexOfSeq(anchor.seq);
    if (i >= 0) {
      s.anchorFor = model.epoch;
      followRef.current = false;
      s.leftAt = ring.end;
      top = Math.max(0, (i - ring.start) * ROW_H - height / 2);
    }
  } else if (followRef.current) {
    top = Math.max(0, total - height);
  } else if (ring.start > s.start) {
    // lines dropped off the top: keep the same lines in view
    top = Math.max(0, top - (ring.start - s.start) * ROW_H);
  }
  s.start = ring.start;
  top = Math.min(top, Math.max(0, total - height));

  const indexAt = (y: number) => {
    if (expRel < 0 || y < (expRel + 1) * ROW_H) return Math.floor(y / ROW_H);
    if (y < (expRel + 1) * ROW_H + extra) return expRel;
    return Math.floor((y - extra) / ROW_H);
  };
  const first = active ? Math.max(0, indexAt(top) - OVERSCAN) : 0;
  const last = active ? Math.min(n, indexAt(top + height) + OVERSCAN + 1) : 0;
  const offset = first * ROW_H + (expRel >= 0 && first > expRel ? extra : 0);

  useLayoutEffect(() => {
    const e = scroller.current;
    if (!e || !active) return;
    if (Math.abs(e.scrollTop - top) >= 1) {
      e.scrollTop = top;
      s.expected = e.scrollTop;
    }
    s.savedTop = e.scrollTop;
    if (detailRef.current) {
      const h = detailRef.current.offsetHeight;
      if (h !== detailH) setDetailH(h);
    }
  });

  useEffect(() => {
    const e = scroller.current!;
    const ro = new ResizeObserver(() => setScrollTick((t) => t + 1));
    ro.observe(e);
    return () => ro.disconnect();
  }, []);

  const onScroll = () => {
    const e = scroller.current!;
    if (Math.abs(e.scrollTop - s.expected) < 1) return; // our own
    s.expected = -1;
    s.savedTop = e.scrollTop; // leaving the page keeps the place; coming back restores it
    const atBottom = e.scrollTop + e.clientHeight >= e.scrollHeight - 4;
    if (atBottom && !model.paused) follow(true);
    else if (!atBottom) follow(false);
    setScrollTick((t) => t + 1);
  };
  const stopFollowing = () => follow(false);
  const toBottom = () => {
    follow(true);
    s.anchorFor = model.epoch;
    setScrollTick((t) => t + 1);
  };
  const toTop = () => {
    follow(false);
    const e = scroller.current;
    if (e) e.scrollTop = 0;
    setScrollTick((t) => t + 1);
  };

  useKeys(active, (e) => {
    if (e.key === ' ') {
      e.preventDefault();
      if (model.paused) model.resume();
      else model.pause();
    } else if (e.key === 'g') {
      e.preventDefault();
      toTop();
    } else if (e.key === 'G') {
      e.preventDefault();
      if (model.paused) model.resume();
      toBottom();
    } else if (e.key === 'Escape' && expanded !== null) {
      setExpanded(null);
    }
  });

  // rows keyed by their slot in the window, not by line: scrolling and new lines update text in place
  // instead of removing and creating elements
  const rows = [];
  for (let rel = first; rel < last; rel++) {
    const abs = ring.start + rel;
    const kind = ring.kindAt(abs);
    const seq = ring.seqAt(abs);
    if (kind === GAP) {
      const missed = Number(ring.dataAt(abs));
      rows.push(
        <div key={rel - first} class="row row-gap" data-kind="gap" role="note">
          <span class="marker-icon" aria-hidden="true">⚠</span> gap: {num(missed)} record{missed === 1 ? '' : 's'} missed here (no longer in the server's replay ring, or this view fell behind)
        </div>,
      );
      continue;
    }
    if (kind === NOTE) {
      rows.push(
        <div key={rel - first} class="row row-note" data-kind="reconnect" role="note">
          <span class="marker-icon" aria-hidden="true">↻</span> {ring.dataAt(abs)}
        </div>,
      );
      continue;
    }
    const rec = parseLine(cache, abs, ring.dataAt(abs));
    const isOpen = abs === expanded;
    const isAnchor = anchor !== undefined && anchor.seq === seq;
    if (!rec) {
      rows.push(
        <div key={rel - first} class="row">
          <span class="c-msg">{oneLine(ring.dataAt(abs))}</span>
        </div>,
      );
      continue;
    }
    const msg = oneLine(rec.message ?? '');
    rows.push(
      <div
        key={rel - first}
        class={`row${isOpen ? ' open' : ''}${isAnchor ? ' anchor' : ''} row-${kind === LINE ? (rec.level ?? 'none') : 'x'}`}
        data-seq={seq}
        role="button"
        tabIndex={0}
        aria-expanded={isOpen}
        onClick={() => {
          // selecting text to copy it is not a click on the row
          if (!isOpen && (getSelection()?.toString() ?? '') !== '') return;
          // a line opened to be read stays where it is: following would carry it away
          if (!isOpen) follow(false);
          setExpanded(isOpen ? null : abs);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            if (!isOpen) follow(false);
            setExpanded(isOpen ? null : abs);
          }
        }}
      >
        <time class="c-time" dateTime={rec.time} title={rec.time}>
          {clock(rec.time)}
        </time>
        <Level level={rec.level} />
        <span class="c-src" title={`${rec.stream} / ${rec.source}`}>
          {rec.source}
        </span>
        <span class="c-msg">
          <Marked text={msg} ranges={matchRanges(hl, msg)} />
        </span>
      </div>,
    );
    if (isOpen) rows.push(<RecordDetail key="detail" rec={rec} innerRef={detailRef} onClose={() => setExpanded(null)} />);
  }

  const following = followRef.current;
  const newBelow = following || model.paused ? 0 : Math.max(0, ring.end - s.leftAt);
  const empty = n === 0 && !model.loading;
  return (
    <div class="tail-body">
      {anchor && !anchor.found && (
        <p class="banner" role="status">
          Record #{anchor.seq} is no longer in the server's replay ring; showing what it still has.
        </p>
      )}
      {anchor && anchor.found && !following && (
        <p class="banner" role="status">
          Showing record #{anchor.seq} from a link, with the lines around it.{' '}
          <button type="button" class="link" onClick={() => setQuery({ seq: null })}>
            Back to live
          </button>
        </p>
      )}
      <div
        class="tail-scroller"
        ref={scroller}
        onScroll={onScroll}
        onWheel={(e) => {
          if (e.deltaY < 0) stopFollowing();
        }}
        onKeyDown={(e) => {
          if (['ArrowUp', 'PageUp', 'Home'].includes(e.key)) stopFollowing();
        }}
        onPointerDown={(e) => {
          // grabbing the scrollbar
          const t = e.currentTarget as HTMLDivElement;
          if (e.offsetX > t.clientWidth) stopFollowing();
        }}
        tabIndex={-1}
        role="log"
        aria-live="off"
        aria-label="Log lines"
        data-testid="tail-list"
      >
        <div class="tail-spacer" style={{ height: `${total}px` }}>
          <div class="tail-rows" style={{ transform: `translateY(${offset}px)` }}>
            {rows}
          </div>
        </div>
        {empty && <p class="empty tail-empty">{model.error ? 'Nothing to show.' : query.q || query.re || query.min_level ? 'No line matches the filter yet; new ones appear here.' : 'No lines yet; new ones appear here as they come.'}</p>}
      </div>
      {newBelow > 0 && (
        <button type="button" class="jump primary" onClick={toBottom} data-testid="new-below">
          {num(newBelow)} new ↓
        </button>
      )}
      {!following && newBelow === 0 && !model.paused && n > 0 && (
        <button type="button" class="jump" onClick={toBottom} title="Follow new lines (G)">
          Follow ↓
        </button>
      )}
    </div>
  );
}
