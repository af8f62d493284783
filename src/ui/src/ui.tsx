/** Shared pieces: the role context, toasts, badges, copy, polling and small form parts. */
import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Role } from './api';

export const RoleContext = createContext<Role>('viewer');
export const useIsAdmin = () => useContext(RoleContext) === 'admin';

// ---- toasts ----

interface Toast {
  id: number;
  text: string;
  kind: 'ok' | 'error';
}
let toastId = 0;
let pushToast: (t: Toast) => void = () => undefined;

export function toast(text: string, kind: 'ok' | 'error' = 'ok'): void {
  pushToast({ id: ++toastId, text, kind });
}

export function Toasts() {
  const [list, setList] = useState<Toast[]>([]);
  useEffect(() => {
    pushToast = (t) => {
      setList((l) => [...l.slice(-3), t]);
      setTimeout(() => setList((l) => l.filter((x) => x.id !== t.id)), t.kind === 'error' ? 6000 : 2500);
    };
  }, []);
  return (
    <div class="toasts" role="status" aria-live="polite">
      {list.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`}>
          {t.text}
        </div>
      ))}
    </div>
  );
}

// ---- clipboard ----

/** Copy text: the async Clipboard API where allowed, else the selection fallback (plain-HTTP origins). */
export async function copyText(text: string, what = 'Copied'): Promise<void> {
  try {
    if (navigator.clipboard && window.isSecureContext) await navigator.clipboard.writeText(text);
    else fallbackCopy(text);
    toast(what);
  } catch {
    try {
      fallbackCopy(text);
      toast(what);
    } catch {
      toast('Copy failed: the browser refused the clipboard', 'error');
    }
  }
}

function fallbackCopy(text: string): void {
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.className = 'offscreen';
  document.body.appendChild(ta);
  ta.select();
  const ok = document.execCommand('copy');
  ta.remove();
  if (!ok) throw new Error('copy refused');
}

// ---- badges ----

export function Level({ level }: { level: string | undefined }) {
  return <span class={`lvl lvl-${level ?? 'none'}`}>{level ?? '—'}</span>;
}

export function Sev({ severity }: { severity: string }) {
  return <span class={`sev sev-${severity}`}>{severity}</span>;
}

// ---- data ----

/** Run `fn` now and every `ms` while the tab is visible; the latest result, error and a reload. */
export function usePoll<T>(fn: (signal: AbortSignal) => Promise<T>, ms: number, deps: unknown[] = []): { data: T | undefined; error: string | undefined; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [n, setN] = useState(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      if (document.visibilityState !== 'hidden') {
        try {
          const d = await fnRef.current(ctl.signal);
          if (ctl.signal.aborted) return;
          setData(d);
          setError(undefined);
        } catch (err) {
          if (ctl.signal.aborted || (err as Error).name === 'AbortError') return;
          setError(errorText(err));
        }
      }
      if (ms > 0 && !ctl.signal.aborted) timer = setTimeout(tick, ms);
    };
    void tick();
    return () => {
      ctl.abort();
      clearTimeout(timer);
    };
  }, [n, ms, ...deps]);
  return { data, error, reload: () => setN((x) => x + 1) };
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return (err as Error)?.message ?? String(err);
}

export function ErrorNote({ error }: { error: string | undefined }) {
  if (!error) return null;
  return (
    <p class="error-note" role="alert">
      {error}
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** A labelled checkbox group over a fixed list of values. */
export function Checks<T extends string>({ legend, values, selected, onChange, disabled }: { legend: string; values: readonly T[]; selected: readonly T[]; onChange: (v: T[]) => void; disabled?: boolean }) {
  return (
    <fieldset class="checks" disabled={disabled}>
      <legend>{legend}</legend>
      {values.map((v) => (
        <label key={v} class={`check chip-${v}`}>
          <input type="checkbox" checked={selected.includes(v)} onChange={(e) => onChange((e.currentTarget as HTMLInputElement).checked ? [...selected, v] : selected.filter((x) => x !== v))} />
          {v}
        </label>
      ))}
    </fieldset>
  );
}

/** Calls `fn` when `value` has been stable for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

// ---- keyboard ----

/** Whether a key press belongs to a text field (shortcuts stay out of the way of typing). */
export function isTyping(e: KeyboardEvent): boolean {
  if (e.ctrlKey || e.metaKey || e.altKey) return true;
  const t = e.target as HTMLElement | null;
  if (!t || !t.tagName) return false;
  if (t.isContentEditable) return true;
  const tag = t.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  // space and Enter on a focused control are that control's (a second pause toggle otherwise)
  if ((e.key === ' ' || e.key === 'Enter') && (tag === 'BUTTON' || tag === 'A' || tag === 'SUMMARY' || t.getAttribute('role') === 'button')) return true;
  if (tag === 'INPUT') {
    const type = (t as HTMLInputElement).type;
    return type !== 'checkbox' && type !== 'radio' && type !== 'button' && type !== 'submit';
  }
  return false;
}

/** Listen to shortcut keys while `active` (a page that is shown). */
export function useKeys(active: boolean, handler: (e: KeyboardEvent) => void): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    if (!active) return;
    const l = (e: KeyboardEvent) => {
      if (!isTyping(e)) ref.current(e);
    };
    addEventListener('keydown', l);
    return () => removeEventListener('keydown', l);
  }, [active]);
}

/** Text with ranges wrapped in <mark>. */
export function Marked({ text, ranges }: { text: string; ranges: [number, number][] }) {
  if (ranges.length === 0) return <>{text}</>;
  const out = [];
  let at = 0;
  for (const [a, b] of ranges) {
    if (a > at) out.push(text.slice(at, a));
    out.push(<mark key={a}>{text.slice(a, b)}</mark>);
    at = b;
  }
  if (at < text.length) out.push(text.slice(at));
  return <>{out}</>;
}
