/**
 * Rules: global rules, per-source rules and overrides with their hits and
 * suppressions, the effective set of any source, and (admin) the editor: a
 * live test against a sample line (matched, captures, RE2's compile error at
 * the pattern) and a backtest over the replay ring ("would have matched 37
 * of the last 10,000 records", with the newest matches).
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, get, type Rule, type RuleStats, type StreamInfo } from '../api';
import { setQuery, useLocation } from '../router';
import { num } from '../text';
import { Empty, ErrorNote, errorText, Sev, toast, useIsAdmin, usePoll } from '../ui';
import { RuleEditor } from './rule-editor';

export function RulesPage() {
  const loc = useLocation();
  const admin = useIsAdmin();
  const rules = usePoll((signal) => get<{ rules: Rule[] }>('/api/rules', signal), 0);
  const stats = usePoll((signal) => get<RuleStats>('/api/rules/stats', signal), 5000);
  const [streams, setStreams] = useState<StreamInfo[]>([]);
  useEffect(() => {
    get<{ streams: StreamInfo[] }>('/api/streams').then((r) => setStreams(r.streams), () => undefined);
  }, []);
  const sources = useMemo(() => [...new Set(streams.flatMap((s) => s.sources))].sort(), [streams]);
  const list = rules.data?.rules ?? [];
  const globals = list.filter((r) => r.source === null);
  const scoped = list.filter((r) => r.source !== null);
  const errors = new Map((stats.data?.compile_errors ?? []).map((e) => [e.rule_id, e.error]));

  const editId = loc.query.get('edit');
  const creating = loc.query.has('new');
  const editing = editId ? list.find((r) => String(r.id) === editId) : undefined;
  const close = () => setQuery({ edit: null, new: null });
  const saved = () => {
    close();
    rules.reload();
    stats.reload();
  };

  return (
    <main id="main" class="page page-rules">
      <div class="page-head">
        <h1>Rules</h1>
        {admin && (
          <button type="button" class="primary" onClick={() => setQuery({ new: '1', edit: null })} data-testid="new-rule">
            New rule
          </button>
        )}
      </div>
      <ErrorNote error={rules.error} />
      {stats.data && (
        <p class="summary">
          {num(stats.data.hits)} hit{stats.data.hits === 1 ? '' : 's'} · {num(stats.data.suppressed_by_cooldown)} suppressed by cooldown · {num(stats.data.suppressed_by_bucket)} by the rate limit
          {stats.data.compile_errors.length > 0 && <span class="bad"> · {stats.data.compile_errors.length} rule(s) do not compile</span>}
        </p>
      )}
      {admin && (creating || editing) && (
        <RuleEditor key={editing?.id ?? 'new'} rule={editing} globals={globals} sources={sources} streams={streams} onClose={close} onSaved={saved} />
      )}
      <section aria-labelledby="global-h">
        <h2 id="global-h">Global rules</h2>
        <RuleTable rules={globals} stats={stats.data} errors={errors} all={list} admin={admin} onChanged={saved} />
      </section>
      <section aria-labelledby="scoped-h">
        <h2 id="scoped-h">Per-source rules and overrides</h2>
        <RuleTable rules={scoped} stats={stats.data} errors={errors} all={list} admin={admin} onChanged={saved} scoped />
      </section>
      <Effective sources={sources} />
    </main>
  );
}

function RuleTable({ rules, stats, errors, all, admin, onChanged, scoped }: { rules: Rule[]; stats: RuleStats | undefined; errors: Map<number, string>; all: Rule[]; admin: boolean; onChanged: () => void; scoped?: boolean }) {
  const [confirm, setConfirm] = useState<number | null>(null);
  if (rules.length === 0) return <Empty>{scoped ? 'None: every source runs the global rules.' : 'No global rule yet.'}</Empty>;
  const del = async (r: Rule) => {
    try {
      const res = await api<{ deleted: number[] }>('DELETE', `/api/rules/${r.id}`);
      toast(res.deleted.length > 1 ? `Deleted rule ${r.name} and ${res.deleted.length - 1} override(s)` : `Deleted rule ${r.name}`);
      onChanged();
    } catch (err) {
      toast(errorText(err), 'error');
    }
    setConfirm(null);
  };
  return (
    <div class="table-wrap">
      <table class="table rules-table" data-testid={scoped ? 'scoped-rules' : 'global-rules'}>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Pattern</th>
            <th scope="col">Severity</th>
            {scoped && <th scope="col">Scope</th>}
            <th scope="col" class="num">Hits</th>
            <th scope="col" class="num">Suppressed</th>
            <th scope="col">State</th>
            {admin && <th scope="col"><span class="sr-only">Actions</span></th>}
          </tr>
        </thead>
        <tbody>
          {rules.map((r) => {
            const c = stats?.rules[String(r.id)];
            const err = errors.get(r.id) ?? r.compile_error;
            const base = r.overrides !== null ? all.find((g) => g.id === r.overrides) : undefined;
            return (
              <tr key={r.id} class={err ? 'has-error' : ''} data-rule={r.name}>
                <td data-label="Name">{r.name}</td>
                <td data-label="Pattern">
                  <code class="pattern">{r.pattern}</code>
                  {err && (
                    <p class="compile-error" role="alert">
                      Does not compile, not running: {err}
                    </p>
                  )}
                </td>
                <td data-label="Severity">
                  <Sev severity={r.severity} />
                </td>
                {scoped && (
                  <td data-label="Scope">
                    {r.source}
                    {base && <span class="muted"> · overrides “{base.name}”</span>}
                  </td>
                )}
                <td data-label="Hits" class="num">
                  {num(c?.hits ?? 0)}
                </td>
                <td data-label="Suppressed" class="num" title="by cooldown / by the rate limit">
                  {num(c?.suppressed_by_cooldown ?? 0)} / {num(c?.suppressed_by_bucket ?? 0)}
                </td>
                <td data-label="State">{r.enabled ? 'on' : r.overrides !== null ? 'disables the global here' : 'off'}</td>
                {admin && (
                  <td class="actions">
                    <button type="button" onClick={() => setQuery({ edit: String(r.id), new: null })} aria-label={`Edit rule ${r.name}`}>
                      Edit
                    </button>
                    {confirm === r.id ? (
                      <>
                        <button type="button" class="danger" onClick={() => del(r)}>
                          Delete{r.source === null ? ' with overrides' : ''}
                        </button>
                        <button type="button" class="ghost" onClick={() => setConfirm(null)}>
                          Keep
                        </button>
                      </>
                    ) : (
                      <button type="button" class="ghost" onClick={() => setConfirm(r.id)} aria-label={`Delete rule ${r.name}`}>
                        Delete
                      </button>
                    )}
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function Effective({ sources }: { sources: string[] }) {
  const [source, setSource] = useState('');
  const [rules, setRules] = useState<Rule[] | null>(null);
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (!source && sources.length) setSource(sources[0]!);
  }, [sources, source]);
  useEffect(() => {
    if (!source) return;
    get<{ rules: Rule[] }>(`/api/sources/${encodeURIComponent(source)}/effective-rules`).then(
      (r) => {
        setRules(r.rules);
        setError(undefined);
      },
      (err) => setError(errorText(err)),
    );
  }, [source]);
  return (
    <section aria-labelledby="eff-h">
      <h2 id="eff-h">Effective rules of a source</h2>
      <p class="muted">The global rules minus the source's overrides, plus its own rules: what the source runs.</p>
      <label class="field inline">
        <span class="field-label">Source</span>
        <select value={source} onChange={(e) => setSource((e.currentTarget as HTMLSelectElement).value)} data-testid="effective-source">
          {sources.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <ErrorNote error={error} />
      {rules && rules.length === 0 && <Empty>This source runs no rule.</Empty>}
      {rules && rules.length > 0 && (
        <ul class="effective" data-testid="effective-rules">
          {rules.map((r) => (
            <li key={r.id}>
              <Sev severity={r.severity} /> <strong>{r.name}</strong> <code class="pattern">{r.pattern}</code>
              <span class="muted"> · {r.source === null ? 'global' : r.overrides !== null ? 'override' : 'own'}</span>
              {r.compile_error && <span class="compile-error"> · does not compile: {r.compile_error}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
