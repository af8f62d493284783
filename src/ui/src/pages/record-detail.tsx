/** One record's detail under its row: message, fields, origin; copy the line, the JSON, a permalink. */
import type { Ref } from 'preact';
import type { LogRecordJson } from '../api';
import { copyText } from '../ui';

/** A link that opens the live tail at this record, with the lines around it. */
export function permalink(stream: string, seq: number): string {
  return `${location.origin}/?${new URLSearchParams(stream ? { stream, seq: String(seq) } : { seq: String(seq) })}`;
}

function KV({ entries }: { entries: [string, unknown][] }) {
  return (
    <dl class="kv">
      {entries.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : <code>{JSON.stringify(v)}</code>}</dd>
        </div>
      ))}
    </dl>
  );
}

export function RecordDetail({ rec, onClose, innerRef }: { rec: LogRecordJson; onClose: () => void; innerRef: Ref<HTMLDivElement> }) {
  const head: [string, unknown][] = [['seq', rec.seq], ['time', rec.time], ['stream', rec.stream], ['source', rec.source]];
  if (rec.level) head.push(['level', rec.level]);
  if (rec.host) head.push(['host', rec.host]);
  if (rec.app) head.push(['app', rec.app]);
  const fields = Object.entries(rec.fields ?? {});
  return (
    <div class="detail" ref={innerRef} data-testid="record-detail">
      <div class="detail-actions">
        <button type="button" onClick={() => copyText(rec.message, 'Line copied')}>
          Copy line
        </button>
        <button type="button" onClick={() => copyText(JSON.stringify(rec), 'Record JSON copied')}>
          Copy JSON
        </button>
        <button type="button" onClick={() => copyText(permalink(rec.stream, rec.seq), 'Link copied')} data-testid="copy-link">
          Copy link
        </button>
        <a class="button ghost" href={`/?${new URLSearchParams({ stream: rec.stream, seq: String(rec.seq) })}`}>
          Permalink
        </a>
        <button type="button" class="ghost close" onClick={onClose} aria-label="Close the detail">
          ✕
        </button>
      </div>
      <pre class="detail-message">{rec.message}</pre>
      <KV entries={head} />
      <h3 class="detail-h">Origin</h3>
      <KV entries={Object.entries(rec.origin ?? {})} />
      <h3 class="detail-h">Fields</h3>
      {fields.length === 0 ? <p class="empty">none</p> : <KV entries={fields} />}
    </div>
  );
}
