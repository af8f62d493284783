/**
 * The transforms that keep no state (drop, route, extract, redact), compiled
 * once into steps over a record. They run wherever a batch is parsed: in a
 * parse thread for a backlog, inline for a trickle (parse/batch.ts,
 * parse/worker.ts); a step changes the record in place and answers whether
 * it goes on.
 */
import RE2 from 're2';
import type { LogRecord } from '../core/record.js';
import type { DropConfig, ExtractConfig, RedactConfig, RouteConfig } from './config.js';
import { getter, setter, text, textGetter } from './path.js';

export const REDACTED = '[REDACTED]';

/** false: the record is dropped (counted by the caller under `reason`). */
export type Step = (r: LogRecord) => boolean;

/** A compiled `in` / `matches` test over one part. */
function selects(c: DropConfig | RouteConfig): (r: LogRecord) => boolean {
  const get = textGetter(c.field);
  if (c.in !== undefined) {
    const set = new Set(c.in);
    return (r) => {
      const v = get(r);
      return v !== undefined && set.has(v);
    };
  }
  const re = new RE2(c.matches!, 'u');
  return (r) => {
    const v = get(r);
    return v !== undefined && re.test(v);
  };
}

export function dropStep(c: DropConfig): Step {
  const sel = selects(c);
  return (r) => !sel(r);
}

export function routeStep(c: RouteConfig): Step {
  const sel = selects(c);
  const stream = c.stream;
  return (r) => {
    if (sel(r)) r.stream = stream;
    return true;
  };
}

export function extractStep(c: ExtractConfig): Step {
  const set = setter('fields.' + c.into)!;
  const cands = c.from.map((f) => {
    const get = getter(f.field);
    const re = f.matches === undefined ? undefined : new RE2(f.matches, 'u');
    return (r: LogRecord): string | undefined => {
      const v = text(get(r));
      if (v === undefined || v === '') return undefined;
      if (re === undefined) return v;
      const m = re.exec(v);
      const got = m?.groups?.v;
      return got === undefined || got === '' ? undefined : got;
    };
  });
  return (r) => {
    for (const cand of cands) {
      const v = cand(r);
      if (v !== undefined) {
        set(r, v);
        break;
      }
    }
    return true;
  };
}

export function redactStep(c: RedactConfig): Step {
  const get = getter(c.field);
  const set = setter(c.field);
  const res = c.matches.map((p) => new RE2(p, 'gu'));
  return (r) => {
    const v = get(r);
    // only string values are redacted (a number or an object under the path is left as it is)
    if (typeof v !== 'string' || set === undefined) return true;
    let out = v;
    for (const re of res) {
      re.lastIndex = 0;
      out = out.replace(re, REDACTED);
    }
    if (out !== v) set(r, out);
    return true;
  };
}
