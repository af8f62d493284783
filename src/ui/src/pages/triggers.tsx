/**
 * Triggers (webhooks): the list, the editor (the secret is shown only as set
 * or not set, never echoed: leave the field empty to keep it), filters by
 * severity, source and message pattern, a Test button that shows the
 * receiver's status, latency and the start of its answer, and each
 * trigger's delivery log.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, get, SEVERITIES, type Delivery, type Severity, type StreamInfo, type TestResult, type Trigger } from '../api';
import { setQuery, useLocation } from '../router';
import { dateTime, num } from '../text';
import { Checks, Empty, ErrorNote, errorText, toast, useIsAdmin, usePoll } from '../ui';

interface TriggerStats {
  triggers?: number;
  matched?: number;
  delivery?: { queued: number; in_flight: number; delivered: number; failed: number; dropped: number; retries: number };
}

export function TriggersPage() {
  const loc = useLocation();
  const admin = useIsAdmin();
  const list = usePoll((signal) => get<{ triggers: Trigger[]; stats: TriggerStats }>('/api/triggers', signal), 5000);
  const [streams, setStreams] = useState<StreamInfo[]>([]);
  useEffect(() => {
    get<{ streams: StreamInfo[] }>('/api/streams').then((r) => setStreams(r.streams), () => undefined);
  }, []);
  const sources = useMemo(() => [...new Set(streams.flatMap((s) => s.sources))].sort(), [streams]);
  const triggers = list.data?.triggers ?? [];
  const editId = loc.query.get('edit');
  const creating = loc.query.has('new');
  const editing = editId ? triggers.find((t) => String(t.id) === editId) : undefined;
  const logId = loc.query.get('log');
  const close = () => setQuery({ edit: null, new: null });
  const d = list.data?.stats.delivery;

  return (
    <main id="main" class="page page-triggers">
      <div class="page-head">
        <h1>Triggers</h1>
        {admin && (
          <button type="button" class="primary" onClick={() => setQuery({ new: '1', edit: null })} data-testid="new-trigger">
            New trigger
          </button>
        )}
      </div>
      <ErrorNote error={list.error} />
      {d && (
        <p class="summary">
          {num(d.delivered)} delivered · {num(d.failed)} failed · {num(d.retries)} retries · {num(d.dropped)} dropped · {num(d.queued)} queued
        </p>
      )}
      {admin && (creating || editing) && (
        <TriggerEditor
          key={editing?.id ?? 'new'}
          trigger={editing}
          sources={sources}
          onClose={close}
          onSaved={(t) => {
            setQuery({ edit: String(t.id), new: null });
            list.reload();
          }}
        />
      )}
      {triggers.length === 0 && !list.error ? (
        <Empty>No trigger yet: a trigger posts matching events to a webhook.</Empty>
      ) : (
        <div class="table-wrap">
          <table class="table" data-testid="trigger-list">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">URL</th>
                <th scope="col">Filter</th>
                <th scope="col">Secret</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {triggers.map((t) => (
                <tr key={t.id} data-trigger={t.name}>
                  <td data-label="Name">{t.name}</td>
                  <td data-label="URL" class="url">
                    {t.url}
                  </td>
                  <td data-label="Filter">{filterText(t)}</td>
                  <td data-label="Secret">{t.secret ? 'set' : 'not set'}</td>
                  <td data-label="State">{t.enabled ? 'on' : 'off'}</td>
                  <td class="actions">
                    {admin && (
                      <button type="button" onClick={() => setQuery({ edit: String(t.id), new: null })} aria-label={`Edit trigger ${t.name}`}>
                        Edit
                      </button>
                    )}
                    <button type="button" class="ghost" onClick={() => setQuery({ log: logId === String(t.id) ? null : String(t.id) })} aria-expanded={logId === String(t.id)}>
                      Deliveries
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {logId && <DeliveryLog id={logId} name={triggers.find((t) => String(t.id) === logId)?.name ?? `#${logId}`} />}
    </main>
  );
}

function filterText(t: Trigger): string {
  const parts = [];
  if (t.filter.severity.length) parts.push(t.filter.severity.join(', '));
  if (t.filter.source.length) parts.push(`from ${t.filter.source.join(', ')}`);
  if (t.filter.message_re) parts.push(`/${t.filter.message_re}/`);
  return parts.length ? parts.join(' · ') : 'every event';
}

function TriggerEditor({ trigger, sources, onClose, onSaved }: { trigger: Trigger | undefined; sources: string[]; onClose: () => void; onSaved: (t: Trigger) => void }) {
  const [name, setName] = useState(trigger?.name ?? '');
  const [url, setUrl] = useState(trigger?.url ?? '');
  const [secret, setSecret] = useState(''); // a new secret only; the stored one is never shown
  const [removeSecret, setRemoveSecret] = useState(false);
  const [severity, setSeverity] = useState<Severity[]>(trigger?.filter.severity ?? []);
  const [src, setSrc] = useState<string[]>(trigger?.filter.source ?? []);
  const [re, setRe] = useState(trigger?.filter.message_re ?? '');
  const [enabled, setEnabled] = useState(trigger?.enabled ?? true);
  const [error, setError] = useState<string>();
  const [saving, setSaving] = useState(false);
  const [test, setTest] = useState<TestResult | { requestError: string } | null>(null);
  const [testing, setTesting] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const hasSecret = Boolean(trigger?.secret);

  const submit = async (e: Event) => {
    e.preventDefault();
    setSaving(true);
    setError(undefined);
    const body: Record<string, unknown> = { name, url, enabled, filter: { severity, source: src, message_re: re || null } };
    if (secret) body.secret = secret;
    else if (removeSecret) body.secret = '';
    try {
      const t = await api<Trigger>(trigger ? 'PATCH' : 'POST', trigger ? `/api/triggers/${trigger.id}` : '/api/triggers', body);
      toast(trigger ? `Saved trigger ${t.name}` : `Created trigger ${t.name}`);
      setSecret('');
      setRemoveSecret(false);
      onSaved(t);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setSaving(false);
    }
  };

  const runTest = async () => {
    if (!trigger) return;
    setTesting(true);
    setTest(null);
    try {
      setTest(await api<TestResult>('POST', `/api/triggers/${trigger.id}/test`));
    } catch (err) {
      setTest({ requestError: errorText(err) });
    } finally {
      setTesting(false);
    }
  };

  const del = async () => {
    if (!trigger) return;
    try {
      await api('DELETE', `/api/triggers/${trigger.id}`);
      toast(`Deleted trigger ${trigger.name}`);
      setQuery({ edit: null, log: null });
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section class="editor" aria-labelledby="trigger-editor-h" data-testid="trigger-editor">
      <div class="detail-actions">
        <h2 id="trigger-editor-h">{trigger ? `Edit trigger “${trigger.name}”` : 'New trigger'}</h2>
        <button type="button" class="ghost close" onClick={onClose} aria-label="Close the editor">
          ✕
        </button>
      </div>
      <form onSubmit={submit} class="form-grid">
        <label class="field">
          <span class="field-label">Name</span>
          <input name="name" value={name} required onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label class="field">
          <span class="field-label">Webhook URL (http or https)</span>
          <input name="url" type="url" value={url} required placeholder="https://hooks.example.com/sluice" onInput={(e) => setUrl((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <div class="field span2">
          <label class="field-label" for="trigger-secret">
            Signing secret (HMAC-SHA256) · <span data-testid="secret-state">{hasSecret ? 'set' : 'not set'}</span>
          </label>
          <input
            id="trigger-secret"
            name="secret"
            type="password"
            autocomplete="new-password"
            value={secret}
            placeholder={hasSecret ? 'leave empty to keep the current secret' : 'optional: leave empty for unsigned deliveries'}
            onInput={(e) => setSecret((e.currentTarget as HTMLInputElement).value)}
          />
          {hasSecret && (
            <label class="check">
              <input type="checkbox" checked={removeSecret} disabled={secret !== ''} onChange={(e) => setRemoveSecret((e.currentTarget as HTMLInputElement).checked)} />
              Remove the secret (deliveries go unsigned)
            </label>
          )}
        </div>
        <Checks legend="Severities (none checked: all)" values={SEVERITIES} selected={severity} onChange={setSeverity} />
        <fieldset class="checks">
          <legend>Sources (none checked: all)</legend>
          {[...new Set([...sources, ...src])].map((s) => (
            <label key={s} class="check">
              <input type="checkbox" checked={src.includes(s)} onChange={(e) => setSrc((e.currentTarget as HTMLInputElement).checked ? [...src, s] : src.filter((x) => x !== s))} />
              {s}
            </label>
          ))}
        </fieldset>
        <label class="field span2">
          <span class="field-label">Message pattern (RE2, optional)</span>
          <input name="message_re" class="mono" value={re} spellcheck={false} onInput={(e) => setRe((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label class="check span2">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled((e.currentTarget as HTMLInputElement).checked)} />
          Enabled
        </label>
        <ErrorNote error={error} />
        <div class="form-actions span2">
          <button type="submit" class="primary" disabled={saving}>
            {trigger ? 'Save' : 'Create trigger'}
          </button>
          {trigger && (
            <button type="button" onClick={runTest} disabled={testing} data-testid="trigger-test">
              {testing ? 'Sending…' : 'Test'}
            </button>
          )}
          <button type="button" class="ghost" onClick={onClose}>
            Close
          </button>
          {trigger &&
            (confirmDelete ? (
              <>
                <button type="button" class="danger" onClick={del}>
                  Delete trigger
                </button>
                <button type="button" class="ghost" onClick={() => setConfirmDelete(false)}>
                  Keep
                </button>
              </>
            ) : (
              <button type="button" class="ghost" onClick={() => setConfirmDelete(true)}>
                Delete
              </button>
            ))}
        </div>
        {!trigger && <p class="muted span2">Save the trigger to test it.</p>}
      </form>
      {test && (
        <div class={`test-outcome ${'requestError' in test || !test.ok ? 'bad-box' : 'good-box'}`} role="status" data-testid="trigger-test-result">
          {'requestError' in test ? (
            <p>{test.requestError}</p>
          ) : (
            <>
              <p>
                <strong>{test.ok ? 'Delivered' : 'Failed'}</strong>
                {test.status !== null && (
                  <>
                    {' '}
                    · HTTP <span data-testid="test-status">{test.status}</span>
                  </>
                )}
                {test.latency_ms !== null && <> · {test.latency_ms} ms</>}
                {test.error && <> · {test.error}</>}
              </p>
              {test.response_snippet && <pre class="snippet">{test.response_snippet}</pre>}
            </>
          )}
        </div>
      )}
    </section>
  );
}

function DeliveryLog({ id, name }: { id: string; name: string }) {
  const log = usePoll((signal) => get<{ deliveries: Delivery[] }>(`/api/triggers/${id}/deliveries?limit=50`, signal), 5000, [id]);
  const rows = log.data?.deliveries ?? [];
  return (
    <section aria-labelledby="log-h" data-testid="delivery-log">
      <h2 id="log-h">Deliveries of {name}</h2>
      <ErrorNote error={log.error} />
      {rows.length === 0 ? (
        <Empty>No delivery yet.</Empty>
      ) : (
        <div class="table-wrap">
          <table class="table compact">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Result</th>
                <th scope="col" class="num">Status</th>
                <th scope="col" class="num">Attempts</th>
                <th scope="col" class="num">Latency</th>
                <th scope="col">Answer or error</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr key={d.delivery_id}>
                  <td data-label="Time">
                    <time dateTime={d.time}>{dateTime(d.time)}</time>
                    {d.test && <span class="muted"> (test)</span>}
                  </td>
                  <td data-label="Result">
                    <span class={`res res-${d.result}`}>{d.result}</span>
                  </td>
                  <td data-label="Status" class="num">
                    {d.status ?? '—'}
                  </td>
                  <td data-label="Attempts" class="num">
                    {d.attempts}
                  </td>
                  <td data-label="Latency" class="num">
                    {d.latency_ms === null ? '—' : `${d.latency_ms} ms`}
                  </td>
                  <td data-label="Answer" class="snippet-cell">
                    {d.error ?? d.response_snippet ?? ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
