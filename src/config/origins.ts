/**
 * Where a configuration value came from when it was not the file: an
 * environment variable (`SLUICE_SERVER_LISTEN`) or a command-line flag
 * (`--listen`). Problems are reported by key path; a value that came from the
 * environment or a flag is named there (`server.listen (from env
 * SLUICE_SERVER_LISTEN): ...`), and the summary line says which of file,
 * environment and command line hold the problems, so a bad variable is not
 * blamed on the file. Secret values (tokens, the store URL) are never echoed.
 */

export interface ValueOrigin {
  kind: 'env' | 'cli';
  /** The variable (`SLUICE_SERVER_LISTEN`) or the flag (`--listen`). */
  name: string;
  /** The value as given, kept only to keep it out of messages when the key is secret. */
  value: unknown;
}

/** Keys whose values must never appear in a message. */
const SECRET_KEYS = new Set(['server.admin_token', 'server.viewer_token', 'store.url', 'bus.password', 'bus.token']);

export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key);
}

/** A value shorter than this is not searched for in messages (it would mask unrelated digits). */
const MIN_REDACTED = 4;

function label(o: ValueOrigin): string {
  return o.kind === 'env' ? `env ${o.name}` : o.name;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class ValueOrigins {
  readonly #byKey = new Map<string, ValueOrigin>();

  /** Record that `key` (dotted) was set from `o`; a later set of the same key wins, as the value does. */
  set(key: string, o: ValueOrigin): void {
    this.#byKey.delete(key);
    this.#byKey.set(key, o);
  }

  /** The origin of the value at a problem's key path: the key itself or a key set whole above it. */
  of(path: string): ValueOrigin | undefined {
    for (const [k, o] of this.#byKey) if (path === k || path.startsWith(k + '.') || path.startsWith(k + '[')) return o;
    return undefined;
  }

  /**
   * One problem line (`key.path: message`) with the origin of its key, the
   * origins of other keys its message names, and secret values masked.
   */
  annotate(problem: string): { text: string; origin: ValueOrigin | undefined } {
    const colon = problem.indexOf(': ');
    if (colon < 0) return { text: this.#redact(problem), origin: undefined };
    const path = problem.slice(0, colon);
    let msg = problem.slice(colon + 2);
    for (const [k, o] of this.#byKey) {
      if (k === path) continue;
      msg = msg.replace(new RegExp(`(?<![\\w.\\[])${escapeRe(k)}(?![\\w.\\[])`, 'g'), `${k} (from ${label(o)})`);
    }
    const origin = this.of(path);
    return { text: this.#redact(origin ? `${path} (from ${label(origin)}): ${msg}` : `${path}: ${msg}`), origin };
  }

  #redact(text: string): string {
    for (const [k, o] of this.#byKey) {
      if (!isSecretKey(k) || typeof o.value !== 'string' || o.value.length < MIN_REDACTED) continue;
      text = text.split(o.value).join('********');
    }
    return text;
  }
}

/**
 * The summary line: how many problems and where they are, e.g. "1 problem
 * from env SLUICE_SERVER_LISTEN", "3 problems: 2 in ./sluice.toml, 1 from
 * --listen".
 */
export function problemSummary(fileLabel: string, origins: (ValueOrigin | undefined)[]): string {
  const n = origins.length;
  let inFile = 0;
  const env = new Map<string, number>();
  const cli = new Map<string, number>();
  for (const o of origins) {
    if (o === undefined) inFile++;
    else {
      const m = o.kind === 'env' ? env : cli;
      m.set(o.name, (m.get(o.name) ?? 0) + 1);
    }
  }
  const parts: [number, string][] = [];
  if (inFile) parts.push([inFile, `in ${fileLabel}`]);
  const count = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  if (env.size) parts.push([count(env), `from env ${[...env.keys()].join(', ')}`]);
  if (cli.size) parts.push([count(cli), `from ${[...cli.keys()].join(', ')}`]);
  const head = `${n} problem${n === 1 ? '' : 's'}`;
  if (parts.length <= 1) return parts.length ? `${head} ${parts[0]![1]}` : head;
  return `${head}: ${parts.map(([k, w]) => `${k} ${w}`).join(', ')}`;
}
