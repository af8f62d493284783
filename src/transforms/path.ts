/**
 * Record paths (CONTRACT.md, "Transforms"): `message`, `level`, `source`,
 * `stream`, `host`, `app`, `origin.<k>`, `fields.<k>[.<k>...]`. Compiled
 * once into a getter (and a setter for the string parts a transform may
 * rewrite); a value is read as a string, the way patterns and keys see it.
 */
import type { LogRecord } from '../core/record.js';

const TOP = new Set(['message', 'level', 'source', 'stream', 'host', 'app']);

export function isPath(p: string): boolean {
  if (TOP.has(p)) return true;
  const dot = p.indexOf('.');
  if (dot < 0) return false;
  const head = p.slice(0, dot);
  return (head === 'origin' || head === 'fields') && p.slice(dot + 1).split('.').every((k) => k.length > 0);
}

export type Getter = (r: LogRecord) => unknown;

export function getter(p: string): Getter {
  if (TOP.has(p)) {
    const k = p as 'message' | 'level' | 'source' | 'stream' | 'host' | 'app';
    return (r) => r[k];
  }
  const [head, ...ks] = p.split('.');
  const root = head === 'origin' ? (r: LogRecord): unknown => r.origin : (r: LogRecord): unknown => r.fields;
  if (ks.length === 1) {
    const k = ks[0]!;
    return (r) => {
      const o = root(r);
      return o !== null && typeof o === 'object' && Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined;
    };
  }
  return (r) => {
    let v: unknown = root(r);
    for (const k of ks) {
      if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) return undefined;
      v = (v as Record<string, unknown>)[k];
    }
    return v;
  };
}

/** A value as patterns and keys see it: strings as they are, numbers and booleans as text, objects as JSON; absent is undefined. */
export function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return undefined;
  }
}

/** A string getter: the part's text, or undefined when absent. */
export function textGetter(p: string): (r: LogRecord) => string | undefined {
  const g = getter(p);
  return (r) => text(g(r));
}

/**
 * Set a string part (redact): `message`, `host`, `app` or a field path
 * (intermediate objects created). Undefined for the parts a transform may
 * not rewrite (level, source, stream, origin).
 */
export function setter(p: string): ((r: LogRecord, v: string) => void) | undefined {
  if (p === 'message' || p === 'host' || p === 'app') return (r, v) => void (r[p] = v);
  if (!p.startsWith('fields.')) return undefined;
  const ks = p.slice('fields.'.length).split('.');
  return (r, v) => {
    // parsers may share one frozen empty object between records: a record gets its own before a write
    if (Object.isFrozen(r.fields)) r.fields = { ...r.fields };
    let o = r.fields;
    for (let i = 0; i < ks.length - 1; i++) {
      const k = ks[i]!;
      const next = Object.hasOwn(o, k) ? o[k] : undefined;
      if (next === null || typeof next !== 'object' || Array.isArray(next)) o[k] = {};
      o = o[k] as Record<string, unknown>;
    }
    o[ks[ks.length - 1]!] = v;
  };
}

/** A key of several parts as one string (JSON of the texts: distinct keys never collide, absent differs from ""). */
export function keyOf(getters: readonly ((r: LogRecord) => string | undefined)[], r: LogRecord): string {
  if (getters.length === 1) {
    const v = getters[0]!(r);
    return v === undefined ? '-' : '=' + v;
  }
  return JSON.stringify(getters.map((g) => g(r) ?? null));
}
