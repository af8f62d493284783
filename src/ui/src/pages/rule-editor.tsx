/**
 * The rule editor (admin): name, pattern, severity, scope (global, a source,
 * or a source's override of a global rule), std, cooldown; a live test
 * against a sample line (a recent line of the source, or typed), with RE2's
 * compile error at the pattern; and a backtest over the replay ring.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, get, qs, SEVERITIES, ApiError, type Backtest, type LogRecordJson, type Rule, type Severity, type StreamInfo } from '../api';
import { navigate } from '../router';
import { highlighter, matchRanges, num, oneLine } from '../text';
import { ErrorNote, errorText, Marked, toast, useDebounced } from '../ui';

interface Draft {
  name: string;
  pattern: string;
  severity: Severity;
  source: string; // '' = global
  overrides: string; // '' = none
  std: 'both' | 'stdout' | 'stderr';
  cooldown_s: string;
  enabled: boolean;
}

export function RuleEditor({ rule, globals, sources, streams, onClose, onSaved }: { rule: Rule | undefined; globals: Rule[]; sources: string[]; streams: StreamInfo[]; onClose: () => void; onSaved: () => void }) {
  const [d, setD] = useState<Draft>(() => ({
    name: rule?.name ?? '',
    pattern: rule?.pattern ?? '',
    severity: rule?.severity ?? 'warn',
    source: rule?.source ?? '',
    overrides: rule?.overrides ? String(rule.overrides) : '',
    std: rule?.std ?? 'both',
    cooldown_s: String(rule?.cooldown_s ?? 0),
    enabled: rule?.enabled ?? true,
  }));
  const set = (p: Partial<Draft>) => setD((old) => ({ ...old, ...p }));
  const base = d.overrides ? globals.find((g) => String(g.id) === d.overrides) : undefined;
  const pattern = d.pattern || base?.pattern || '';
  const [sample, setSample] = useState('');
  const [saveError, setSaveError] = useState<string>();
  const [saving, setSaving] = useState(false);

  // recent lines to test against: the scoped source's stream, else every stream
  const [recent, setRecent] = useState<LogRecordJson[]>([]);
  const stream = d.source ? (streams.find((s) => s.sources.includes(d.source))?.name ?? '') : '';
  useEffect(() => {
    get<{ records: LogRecordJson[] }>('/api/records' + qs({ stream, source: d.source, limit: 50 })).then(
      (r) => {
        const recs = r.records.reverse();
        setRecent(recs);
        setSample((s) => s || recs[0]?.message || '');
      },
      () => setRecent([]),
    );
  }, [stream, d.source]);

  // live test against the sample line
  const probe = useDebounced(`${pattern}\u0000${sample}`, 150);
  const [test, setTest] = useState<{ matched: boolean; captures: Record<string, string> } | { error: string } | null>(null);
  useEffect(() => {
    const [p, line] = probe.split('\u0000') as [string, string];
    if (!p) {
      setTest(null);
      return;
    }
    const ctl = new AbortController();
    api<{ matched: boolean; captures: Record<string, string> }>('POST', '/api/rules/test', { pattern: p, sample_line: line }, { signal: ctl.signal }).then(
      (r) => setTest(r),
      (err) => {
        if ((err as Error).name !== 'AbortError') setTest({ error: err instanceof ApiError && err.code === 'SLUICE_ERR_RULE_PATTERN' ? err.message : errorText(err) });
      },
    );
    return () => ctl.abort();
  }, [probe]);
  const compileError = test && 'error' in test ? test.error : undefined;

  // backtest over the replay ring, once the pattern compiles and typing paused
  const bt = useDebounced(pattern, 500);
  const [backtest, setBacktest] = useState<Backtest | { error: string } | null>(null);
  const [btBusy, setBtBusy] = useState(false);
  const runBacktest = (p: string) => {
    if (!p) return setBacktest(null);
    setBtBusy(true);
    api<Backtest>('POST', '/api/rules/backtest', { pattern: p, source: d.source || null, limit: 10_000, examples: 5 }).then(
      (r) => setBacktest(r),
      (err) => setBacktest({ error: errorText(err) }),
    ).finally(() => setBtBusy(false));
  };
  useEffect(() => {
    runBacktest(bt);
  }, [bt, d.source]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setSaving(true);
    setSaveError(undefined);
    const body: Record<string, unknown> = {
      severity: d.severity,
      std: d.std,
      cooldown_s: Number(d.cooldown_s) || 0,
      enabled: d.enabled,
    };
    if (d.name) body.name = d.name;
    if (d.pattern) body.pattern = d.pattern;
    body.source = d.source || null;
    body.overrides = d.source && d.overrides ? Number(d.overrides) : null;
    try {
      const r = await api<Rule>(rule ? 'PATCH' : 'POST', rule ? `/api/rules/${rule.id}` : '/api/rules', body);
      toast(rule ? `Saved rule ${r.name}` : `Created rule ${r.name}`);
      onSaved();
    } catch (err) {
      setSaveError(errorText(err));
    } finally {
      setSaving(false);
    }
  };

  const hl = useMemo(() => (test && !('error' in test) ? highlighter('', pattern) : null), [pattern, test]);
  const ranges = test && !('error' in test) && test.matched ? matchRanges(hl, sample) : [];

  return (
    <section class="editor" aria-labelledby="editor-h" data-testid="rule-editor">
      <div class="detail-actions">
        <h2 id="editor-h">{rule ? `Edit rule “${rule.name}”` : 'New rule'}</h2>
        <button type="button" class="ghost close" onClick={onClose} aria-label="Close the editor">
          ✕
        </button>
      </div>
      <form onSubmit={submit} class="form-grid">
        <label class="field">
          <span class="field-label">Name</span>
          <input name="name" value={d.name} placeholder={base ? base.name : 'e.g. database timeout'} required={!base} onInput={(e) => set({ name: (e.currentTarget as HTMLInputElement).value })} />
        </label>
        <label class="field">
          <span class="field-label">Severity</span>
          <select name="severity" value={d.severity} onChange={(e) => set({ severity: (e.currentTarget as HTMLSelectElement).value as Severity })}>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label class="field span2">
          <span class="field-label">Pattern (RE2; named groups like (?P&lt;ms&gt;\d+) become captures)</span>
          <input
            name="pattern"
            class="mono"
            value={d.pattern}
            placeholder={base ? base.pattern : 'e.g. timeout after (?P<ms>\\d+)ms'}
            required={!base}
            spellcheck={false}
            autocomplete="off"
            aria-invalid={compileError !== undefined}
            aria-describedby="pattern-error"
            onInput={(e) => set({ pattern: (e.currentTarget as HTMLInputElement).value })}
          />
          <span id="pattern-error" class="compile-error" role="alert" data-testid="pattern-error">
            {compileError ?? ''}
          </span>
        </label>
        <label class="field">
          <span class="field-label">Scope</span>
          <select name="source" value={d.source} onChange={(e) => set({ source: (e.currentTarget as HTMLSelectElement).value, overrides: '' })}>
            <option value="">global (every source)</option>
            {sources.map((s) => (
              <option key={s} value={s}>
                source {s}
              </option>
            ))}
            {d.source && !sources.includes(d.source) && <option value={d.source}>source {d.source}</option>}
          </select>
        </label>
        <label class="field">
          <span class="field-label">Overrides</span>
          <select name="overrides" value={d.overrides} disabled={!d.source} onChange={(e) => set({ overrides: (e.currentTarget as HTMLSelectElement).value })}>
            <option value="">nothing (a rule of its own)</option>
            {globals.map((g) => (
              <option key={g.id} value={String(g.id)}>
                global “{g.name}”
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span class="field-label">Docker stream</span>
          <select name="std" value={d.std} onChange={(e) => set({ std: (e.currentTarget as HTMLSelectElement).value as Draft['std'] })}>
            <option value="both">stdout and stderr</option>
            <option value="stdout">stdout only</option>
            <option value="stderr">stderr only</option>
          </select>
        </label>
        <label class="field">
          <span class="field-label">Cooldown (s)</span>
          <input name="cooldown_s" type="number" min={0} max={604800} value={d.cooldown_s} onInput={(e) => set({ cooldown_s: (e.currentTarget as HTMLInputElement).value })} />
        </label>
        <label class="check span2">
          <input type="checkbox" name="enabled" checked={d.enabled} onChange={(e) => set({ enabled: (e.currentTarget as HTMLInputElement).checked })} />
          {d.overrides ? 'Enabled (unchecked: the global rule is disabled for this source)' : 'Enabled'}
        </label>

        <fieldset class="tester span2">
          <legend>Test against a line</legend>
          <label class="field">
            <span class="field-label">Recent lines{d.source ? ` of ${d.source}` : ''}</span>
            <select onChange={(e) => setSample((e.currentTarget as HTMLSelectElement).value)} value="">
              <option value="">pick a recent line…</option>
              {recent.map((r) => (
                <option key={r.seq} value={r.message}>
                  #{r.seq} {oneLine(r.message, 120)}
                </option>
              ))}
            </select>
          </label>
          <label class="field">
            <span class="field-label">Sample line</span>
            <textarea name="sample" rows={2} class="mono" value={sample} spellcheck={false} onInput={(e) => setSample((e.currentTarget as HTMLTextAreaElement).value)} />
          </label>
          <div class="test-result" aria-live="polite" data-testid="test-result">
            {!pattern ? (
              <span class="muted">Type a pattern to test it.</span>
            ) : test === null ? (
              <span class="muted">Testing…</span>
            ) : 'error' in test ? (
              <span class="bad">Invalid pattern</span>
            ) : test.matched ? (
              <>
                <span class="good">✓ matched</span>
                <pre class="sample-marked">
                  <Marked text={sample} ranges={ranges} />
                </pre>
                {Object.keys(test.captures).length > 0 && <Captures captures={test.captures} />}
              </>
            ) : (
              <span class="bad">✗ no match</span>
            )}
          </div>
        </fieldset>

        <fieldset class="backtest span2">
          <legend>Backtest over the replay ring</legend>
          <div aria-live="polite" data-testid="backtest">
            {!pattern ? (
              <span class="muted">Type a pattern to see what it would have matched.</span>
            ) : btBusy && !backtest ? (
              <span class="muted">Scanning…</span>
            ) : backtest && 'error' in backtest ? (
              <span class="bad">{backtest.error}</span>
            ) : backtest ? (
              <>
                <p>
                  Would have matched <strong>{num(backtest.matched)}</strong> of the last {num(backtest.scanned)} records{d.source ? ` of ${d.source}` : ''}
                  {backtest.first_seq !== null && (
                    <span class="muted">
                      {' '}
                      (#{backtest.first_seq} to #{backtest.last_seq})
                    </span>
                  )}
                  .
                </p>
                {backtest.examples.length > 0 && (
                  <ul class="examples">
                    {backtest.examples.map((x) => (
                      <li key={x.seq}>
                        <a href={`/?${new URLSearchParams({ stream: x.stream, seq: String(x.seq) })}`}>#{x.seq}</a> <span class="muted">{x.source}</span> <code>{oneLine(x.record.message, 300)}</code>
                        {Object.keys(x.captures).length > 0 && <Captures captures={x.captures} />}
                      </li>
                    ))}
                  </ul>
                )}
              </>
            ) : null}
          </div>
          <button type="button" onClick={() => runBacktest(pattern)} disabled={!pattern || btBusy}>
            Run again
          </button>
        </fieldset>

        <ErrorNote error={saveError} />
        <div class="form-actions span2">
          <button type="submit" class="primary" disabled={saving}>
            {rule ? 'Save' : 'Create rule'}
          </button>
          <button type="button" class="ghost" onClick={onClose}>
            Cancel
          </button>
          {rule && (
            <button type="button" class="ghost" onClick={() => navigate(`/events?rule=${rule.id}`)}>
              Its events
            </button>
          )}
        </div>
      </form>
    </section>
  );
}

function Captures({ captures }: { captures: Record<string, string> }) {
  return (
    <dl class="kv captures">
      {Object.entries(captures).map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>
            <code>{v}</code>
          </dd>
        </div>
      ))}
    </dl>
  );
}
