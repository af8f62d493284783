/**
 * The shell: the token prompt until a token is accepted (kept in
 * sessionStorage: gone when the tab closes), then the navigation and the
 * page the path names. A 401 from any call returns to the prompt. The live
 * tail stays mounted once opened, so switching pages and back keeps its
 * lines, scroll position and connection.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, saveToken, savedToken, setUnauthorizedHandler, type Role } from './api';
import { useLocation } from './router';
import { RoleContext, Toasts, useKeys } from './ui';
import { TailPage } from './pages/tail';
import { EventsPage } from './pages/events';
import { RulesPage } from './pages/rules';
import { TriggersPage } from './pages/triggers';
import { StatusPage } from './pages/status';

type Auth = { kind: 'checking' } | { kind: 'prompt'; message?: string } | { kind: 'in'; role: Role };

const PAGES = [
  { path: '/', label: 'Live tail' },
  { path: '/events', label: 'Events' },
  { path: '/rules', label: 'Rules' },
  { path: '/triggers', label: 'Triggers' },
  { path: '/status', label: 'Status' },
] as const;

function pageOf(path: string): string {
  if (path === '/' || path === '/tail' || path.startsWith('/tail/')) return '/';
  return PAGES.find((p) => p.path !== '/' && (path === p.path || path.startsWith(p.path + '/')))?.path ?? 'unknown';
}

export function App() {
  const [auth, setAuth] = useState<Auth>(() => (savedToken() ? { kind: 'checking' } : { kind: 'prompt' }));

  useEffect(() => {
    setUnauthorizedHandler((message) => {
      saveToken(null);
      setAuth({ kind: 'prompt', message: `Signed out: the server refused the token (${message}).` });
    });
    if (auth.kind === 'checking') {
      api<{ role: Role }>('GET', '/api/whoami')
        .then((r) => setAuth({ kind: 'in', role: r.role }))
        .catch((err) => setAuth({ kind: 'prompt', message: (err as Error).message }));
    }
  }, []);

  if (auth.kind === 'checking') return <div class="boot" aria-busy="true">Sluice</div>;
  if (auth.kind === 'prompt') return <Login message={auth.message} onIn={(role) => setAuth({ kind: 'in', role })} />;
  return (
    <RoleContext.Provider value={auth.role}>
      <Shell
        role={auth.role}
        onSignOut={() => {
          saveToken(null);
          setAuth({ kind: 'prompt', message: 'Signed out.' });
        }}
      />
    </RoleContext.Provider>
  );
}

function Login({ message, onIn }: { message?: string; onIn: (r: Role) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(message);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return;
    setBusy(true);
    try {
      const r = await api<{ role: Role }>('GET', '/api/whoami', undefined, { token: t });
      saveToken(t);
      onIn(r.role);
    } catch (err) {
      setError((err as Error).message === 'invalid token' ? 'That token was refused.' : (err as Error).message);
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form class="login-box" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">
          <span class="logo" aria-hidden="true" /> Sluice
        </h1>
        <label for="token">Access token</label>
        <input id="token" name="token" type="password" autocomplete="off" spellcheck={false} value={token} onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)} autofocus required />
        <p class="hint">
          The admin token is in <code>data_dir/admin_token</code> (printed once at the first start); a viewer token (<code>[server] viewer_token</code>) gives a read-only view. It is kept for this tab only.
        </p>
        {error && (
          <p class="error-note" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      <Toasts />
    </main>
  );
}

function Shell({ role, onSignOut }: { role: Role; onSignOut: () => void }) {
  const loc = useLocation();
  const page = pageOf(loc.path);
  const [tailOpened, setTailOpened] = useState(page === '/');
  // the Live tail link goes back to the tail as it was left (stream, filters), which stays mounted
  const [tailHref, setTailHref] = useState('/');
  useEffect(() => {
    if (page === '/') setTailHref(loc.path + (loc.query.toString() ? '?' + loc.query.toString() : ''));
  }, [page, loc]);
  const [help, setHelp] = useState(false);
  useEffect(() => {
    if (page === '/') setTailOpened(true);
    const label = PAGES.find((p) => p.path === page)?.label ?? 'Not found';
    document.title = `${label} · Sluice`;
  }, [page]);

  useKeys(true, (e) => {
    if (e.key === '/') {
      const f = document.querySelector<HTMLInputElement>('main:not([hidden]) [data-filter]');
      if (f) {
        e.preventDefault();
        f.focus();
        f.select();
      }
    } else if (e.key === '?') {
      setHelp((h) => !h);
    } else if (e.key === 'Escape') {
      setHelp(false);
    }
  });
  useEffect(() => {
    // Escape leaves a text field (then the page's shortcuts work again)
    const l = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && document.activeElement instanceof HTMLElement && document.activeElement.matches('input, textarea, select')) document.activeElement.blur();
    };
    addEventListener('keydown', l);
    return () => removeEventListener('keydown', l);
  }, []);

  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/" aria-label="Sluice live tail">
          <span class="logo" aria-hidden="true" />
          <span class="brand-name">Sluice</span>
        </a>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a key={p.path} href={p.path === '/' ? tailHref : p.path} aria-current={page === p.path ? 'page' : undefined}>
              {p.label}
            </a>
          ))}
        </nav>
        <div class="topbar-end">
          <span class={`role role-${role}`} title={role === 'viewer' ? 'Viewer token: read-only' : 'Admin token'}>
            {role === 'viewer' ? 'read-only' : 'admin'}
          </span>
          <button type="button" class="ghost help" onClick={() => setHelp(true)} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)">
            ?
          </button>
          <button type="button" class="ghost" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      {tailOpened && <TailPage active={page === '/'} />}
      {page === '/events' && <EventsPage />}
      {page === '/rules' && <RulesPage />}
      {page === '/triggers' && <TriggersPage />}
      {page === '/status' && <StatusPage />}
      {page === 'unknown' && (
        <main id="main" class="page">
          <h1>Not found</h1>
          <p>
            No page at <code>{loc.path}</code>. <a href="/">Open the live tail</a>.
          </p>
        </main>
      )}
      {help && <Help onClose={() => setHelp(false)} />}
      <Toasts />
    </div>
  );
}

const KEYS: [string, string][] = [
  ['/', 'focus the filter'],
  ['space', 'pause or resume the live tail'],
  ['g', 'go to the top'],
  ['G', 'go to the bottom (and follow)'],
  ['Esc', 'close a detail, leave a field'],
  ['?', 'this help'],
];

function Help({ onClose }: { onClose: () => void }) {
  return (
    <div class="overlay" onClick={onClose}>
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="help-title" onClick={(e) => e.stopPropagation()}>
        <h2 id="help-title">Keyboard shortcuts</h2>
        <dl class="keys">
          {KEYS.map(([k, what]) => (
            <div key={k}>
              <dt>
                <kbd>{k}</kbd>
              </dt>
              <dd>{what}</dd>
            </div>
          ))}
        </dl>
        <button type="button" class="primary" onClick={onClose} autofocus>
          Close
        </button>
      </div>
    </div>
  );
}
