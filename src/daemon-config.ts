/**
 * What the daemon derives from its configuration (ring budgets, parse
 * threads, the streams sources publish on, the config in force after a
 * reload) and how a start-up step's failure is named. Pure functions of the
 * config, apart from the Daemon's wiring in main.ts.
 */
import { STREAM_RING_DEFAULTS, type Config } from './config/schema.js';
import { reasonOf, SluiceError, type ErrorDef } from './core/errors.js';
import { defaultParseThreads } from './parse/pool.js';

/** Share of limits.memory given to replay rings (the rest is for queues). */
const RING_SHARE = 0.6;

/** A ring's record and byte limits: the configured ones, the bytes capped by the stream's share of the memory budget. */
export function ringLimits(cfg: Config, replay: number, replayBytes: number): { replay: number; replayBytes: number } {
  const streams = Math.max(1, new Set([...cfg.streams.map((s) => s.name), ...sourceStreams(cfg)]).size);
  const share = Math.floor((cfg.limits.memory * RING_SHARE) / streams);
  return { replay, replayBytes: Math.min(replayBytes, share) };
}

/** The ring limits of a stream no [[streams]] entry configures. */
export function defaultRingLimits(cfg: Config): { replay: number; replayBytes: number } {
  return ringLimits(cfg, STREAM_RING_DEFAULTS.replay, STREAM_RING_DEFAULTS.replay_bytes);
}

/** The ring limits of every configured stream, by name. */
export function streamLimits(cfg: Config): Record<string, { replay: number; replayBytes: number }> {
  const out: Record<string, { replay: number; replayBytes: number }> = {};
  for (const s of cfg.streams) out[s.name] = ringLimits(cfg, s.replay, s.replay_bytes);
  return out;
}

/**
 * One start-up step: its failure becomes `def` with `what` and the reason in
 * words (the inner code kept in the message when it had one).
 * `passThrough`: a SluiceError from the step is already precise; keep it.
 */
export async function step<T>(def: ErrorDef, what: string, fn: () => T | Promise<T>, passThrough = false): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SluiceError && (passThrough || err.code === def.code)) throw err;
    const inner = err instanceof SluiceError ? ` (${err.code})` : '';
    throw new SluiceError(def, `${what}: ${reasonOf(err)}${inner}`);
  }
}

/**
 * What a config reload does not apply, by key path: each is named in the
 * reload's restart_required when it changed, and keeps running as it started
 * (keepRunning) until a restart. A stream's ring size is one more
 * (`streams.<name>.replay`): a ring is sized when its stream is created.
 */
export const RESTART_KEYS = ['data_dir', 'role', 'bus', 'server', 'limits.memory', 'store', 'rules', 'triggers', 'forward', 'archive'] as const;

function at(c: Config, key: string): unknown {
  return key.split('.').reduce<unknown>((o, p) => (o as Record<string, unknown> | undefined)?.[p], c);
}

/** The key paths a reload from `prev` to `next` changes but does not apply. */
export function restartRequired(prev: Config, next: Config): string[] {
  const out: string[] = RESTART_KEYS.filter((k) => JSON.stringify(at(prev, k)) !== JSON.stringify(at(next, k)));
  for (const st of next.streams) {
    const was = prev.streams.find((x) => x.name === st.name);
    if (was && (was.replay !== st.replay || was.replay_bytes !== st.replay_bytes)) out.push(`streams.${st.name}.replay`);
  }
  return out;
}

/**
 * `next` with the parts a reload does not apply (RESTART_KEYS, ring sizes)
 * as they run now: the rest of the daemon reads its config through config()
 * (SSE heartbeat, status), and must not see a value that is not in force.
 */
export function keepRunning(prev: Config, next: Config): Config {
  const kept: Record<string, unknown> = { ...next };
  for (const k of RESTART_KEYS) {
    const [top, sub] = k.split('.') as [keyof Config, string | undefined];
    kept[top] = sub === undefined ? prev[top] : Object.freeze({ ...(next[top] as object), [sub]: at(prev, k) });
  }
  kept.streams = Object.freeze(
    next.streams.map((st) => {
      const was = prev.streams.find((x) => x.name === st.name);
      return was ? Object.freeze({ ...st, replay: was.replay, replay_bytes: was.replay_bytes }) : st;
    }),
  );
  return Object.freeze(kept) as unknown as Config;
}

export function parseThreads(cfg: Config): number {
  const t = cfg.limits.parse_threads;
  return t === 'auto' ? defaultParseThreads() : t;
}

/** The streams sources publish on: each source's own, and those its route transforms send records to. */
export function sourceStreams(cfg: Config): string[] {
  const out = new Set<string>();
  for (const s of cfg.sources) {
    out.add(s.stream ?? s.name);
    for (const t of s.transforms) if (t.type === 'route') out.add(t.stream);
  }
  return [...out];
}
