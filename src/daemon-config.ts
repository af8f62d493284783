/**
 * What the daemon derives from its configuration (ring budgets, parse
 * threads, the streams sources publish on, the config in force after a
 * reload) and how a start-up step's failure is named. Pure functions of the
 * config, apart from the Daemon's wiring in main.ts.
 */
import type { Config } from './config/schema.js';
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
 * `next` with the parts a reload does not apply (those it reports in
 * restart_required) as they run now: the rest of the daemon reads its config
 * through config() (SSE heartbeat, status), and must not see a value that is
 * not in force.
 */
export function keepRunning(prev: Config, next: Config): Config {
  const streams = next.streams.map((st) => {
    const was = prev.streams.find((x) => x.name === st.name);
    return was ? Object.freeze({ ...st, replay: was.replay, replay_bytes: was.replay_bytes }) : st;
  });
  return Object.freeze({
    ...next,
    data_dir: prev.data_dir,
    role: prev.role,
    bus: prev.bus,
    server: prev.server,
    store: prev.store,
    rules: prev.rules,
    triggers: prev.triggers,
    forward: prev.forward,
    archive: prev.archive,
    limits: Object.freeze({ ...next.limits, memory: prev.limits.memory }),
    streams: Object.freeze(streams),
  }) as Config;
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
