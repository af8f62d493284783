/**
 * Loading: TOML file (or the embedded default) -> env overrides
 * (SLUICE_<SECTION>_<KEY>, SLUICE_DATA_DIR, SLUICE_ROLE, SLUICE_ADMIN_TOKEN) -> CLI
 * overrides (dotted keys) -> one zod parse. Every problem is reported with its
 * key path, and with the variable or flag its value came from when not the
 * file (origins.ts); the result is deep-frozen.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { configSchema, crossChecks, exposureWarnings, sectionSchemas, type Config } from './schema.js';
import { DEFAULT_CONFIG_TOML } from './default.js';
import { isSecretKey, problemSummary, ValueOrigins, type ValueOrigin } from './origins.js';

export type LoadResult =
  | { ok: true; config: Config; file: string | null; notes: string[]; warnings: string[] }
  /** `summary`: e.g. "2 problems in /etc/sluice.toml" or "1 problem from env SLUICE_SERVER_LISTEN". */
  | { ok: false; problems: string[]; file: string | null; summary: string };

export interface LoadOptions {
  /** Explicit config file (-c). */
  file?: string;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Dotted-key overrides from CLI flags, e.g. { "server.listen": "127.0.0.1:9000" }. */
  overrides?: Record<string, unknown>;
  /** The flag each override came from, e.g. { "server.listen": "--listen" }, named in its problems. */
  overrideFlags?: Record<string, string>;
  cwd?: string;
}

/** Which file `sluice run` uses: -c, else ./sluice.toml, else the embedded default (null). */
export function resolveConfigFile(file: string | undefined, cwd = process.cwd()): string | null {
  if (file) return path.resolve(cwd, file);
  const local = path.join(cwd, 'sluice.toml');
  return existsSync(local) ? local : null;
}

export function loadConfig(opts: LoadOptions = {}): LoadResult {
  const cwd = opts.cwd ?? process.cwd();
  const file = resolveConfigFile(opts.file, cwd);
  const fileLabel = file ?? '(embedded default)';
  const fail = (problems: string[], origins = new ValueOrigins()): LoadResult => {
    const annotated = problems.map((p) => origins.annotate(p));
    return { ok: false, file, problems: annotated.map((a) => a.text), summary: problemSummary(fileLabel, annotated.map((a) => a.origin)) };
  };
  let text: string;
  if (file) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      return fail([`${file}: cannot read: ${(err as Error).message}`]);
    }
  } else text = DEFAULT_CONFIG_TOML;
  let raw: Record<string, unknown>;
  try {
    raw = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const e = err as TomlError;
    const where = e.line ? `line ${e.line}, column ${e.column}` : 'syntax';
    return fail([`${file ?? '(default config)'}: ${where}: ${e.message.split('\n')[0]}`]);
  }
  const problems: string[] = [];
  const origins = new ValueOrigins();
  applyEnv(raw, opts.env ?? process.env, problems, origins);
  for (const [k, v] of Object.entries(opts.overrides ?? {})) {
    setDotted(raw, k, v);
    origins.set(k, { kind: 'cli', name: opts.overrideFlags?.[k] ?? 'the command line', value: v });
  }
  if (problems.length) return fail(problems, origins);
  const parsed = configSchema.safeParse(raw);
  // cross-field checks run on the raw input too, so they are reported alongside type errors
  const cross = crossChecks(raw);
  if (!parsed.success || cross.length) return fail([...(parsed.success ? [] : formatIssues(parsed.error)), ...cross], origins);
  const config = parsed.data;
  const notes: string[] = [];
  if (!file) adaptDefault(config, notes);
  return { ok: true, config: deepFreeze(config), file, notes, warnings: exposureWarnings(config) };
}

/** The embedded default tails /var/log/*.log; fall back to an inbox under data_dir when unreadable. */
function adaptDefault(config: Config, notes: string[]): void {
  const src = config.sources.find((s) => s.name === 'varlog');
  if (!src || src.type !== 'file') return;
  try {
    accessSync('/var/log', constants.R_OK | constants.X_OK);
  } catch {
    const inbox = path.resolve(config.data_dir, 'inbox');
    // data_dir and what is under it are private (0700): see core/private-dir.ts
    mkdirSync(inbox, { recursive: true, mode: 0o700 });
    src.paths = [path.join(inbox, '*.log')];
    notes.push(`/var/log is not readable: tailing ${inbox}/*.log instead`);
  }
}

/**
 * SLUICE_<SECTION>_<KEY> for every key of every table section, plus
 * SLUICE_DATA_DIR, SLUICE_ROLE, SLUICE_ADMIN_TOKEN and SLUICE_VIEWER_TOKEN; each key set is
 * recorded in `origins` with its variable.
 */
function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, problems: string[], origins: ValueOrigins): void {
  const set = (key: string, name: string, value: unknown) => {
    setDotted(raw, key, value);
    origins.set(key, { kind: 'env', name, value: env[name] });
  };
  if (env.SLUICE_DATA_DIR !== undefined) set('data_dir', 'SLUICE_DATA_DIR', env.SLUICE_DATA_DIR);
  if (env.SLUICE_ROLE !== undefined) set('role', 'SLUICE_ROLE', env.SLUICE_ROLE);
  if (env.SLUICE_ADMIN_TOKEN !== undefined) set('server.admin_token', 'SLUICE_ADMIN_TOKEN', env.SLUICE_ADMIN_TOKEN);
  if (env.SLUICE_VIEWER_TOKEN !== undefined) set('server.viewer_token', 'SLUICE_VIEWER_TOKEN', env.SLUICE_VIEWER_TOKEN);
  for (const [section, schema] of Object.entries(sectionSchemas)) {
    for (const [key, keySchema] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      const name = `SLUICE_${section}_${key}`.toUpperCase();
      const v = env[name];
      if (v === undefined) continue;
      const dotted = `${section}.${key}`;
      // "[::]:8080" is not a TOML array but a fine listen address: a string the key accepts stays one
      let value = envValue(v) ?? (keySchema.safeParse(v).success ? v : undefined);
      if (value === undefined) {
        origins.set(dotted, { kind: 'env', name, value: v } satisfies ValueOrigin);
        problems.push(`${dotted}: cannot parse ${isSecretKey(dotted) ? 'the value (not shown: a secret)' : JSON.stringify(v)} as a TOML array or inline table`);
        continue;
      }
      // "12345678901234567890" for a string key (a token) stays a string: only the key's schema knows
      if (value !== v && !keySchema.safeParse(value).success && keySchema.safeParse(v).success) value = v;
      set(dotted, name, value);
    }
  }
}

/** Env values are TOML values when they parse as one (numbers, booleans, arrays, inline tables), else strings. */
export function envValue(v: string): unknown {
  const t = v.trim();
  if (/^[-+]?\d+(\.\d+)?$/.test(t) || t === 'true' || t === 'false' || t.startsWith('[') || t.startsWith('{')) {
    try {
      return (parseToml(`v = ${t}`) as { v: unknown }).v;
    } catch {
      return t.startsWith('[') || t.startsWith('{') ? undefined : v;
    }
  }
  return v;
}

function setDotted(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** zod issues -> "key.path: message" lines, one per problem (unknown keys one line each). */
export function formatIssues(err: z.ZodError): string[] {
  const out: string[] = [];
  const walk = (issues: z.core.$ZodIssue[], prefix: PropertyKey[]) => {
    for (const issue of issues) {
      const p = [...prefix, ...issue.path];
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) out.push(`${keyPath([...p, k])}: unknown key`);
      } else if (issue.code === 'invalid_union' && 'errors' in issue && issue.errors.length) {
        // a discriminated union with a bad discriminator reports no branch errors; say what is allowed
        if ('note' in issue && issue.note === 'No matching discriminator') {
          out.push(`${keyPath(p[p.length - 1] === 'type' ? p : [...p, 'type'])}: unknown or missing source type (expected one of: ${sourceTypes().join(', ')})`);
        } else {
          // report the branch with the fewest problems
          const best = issue.errors.reduce((a, b) => (b.length < a.length ? b : a));
          walk(best, p);
        }
      } else if (issue.code === 'invalid_union' && 'discriminator' in issue) {
        const d = String(issue.discriminator);
        out.push(`${keyPath(p[p.length - 1] === d ? p : [...p, d])}: unknown or missing source type (expected one of: ${sourceTypes().join(', ')})`);
      } else {
        out.push(`${keyPath(p)}: ${issue.message}`);
      }
    }
  };
  walk(err.issues, []);
  return out;
}

function sourceTypes(): string[] {
  return sourceTypeNames;
}
import { sourceTypeNames } from './schema.js';

export function keyPath(p: PropertyKey[]): string {
  let s = '';
  for (const k of p) {
    if (typeof k === 'number') s += `[${k}]`;
    else s += (s ? '.' : '') + String(k);
  }
  return s || '(root)';
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
