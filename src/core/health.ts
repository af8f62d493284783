/**
 * What a source or sink is doing and why: one state from a fixed list, the
 * last error (code, message, when) and when the state was entered. A
 * component owns its `Health` and moves it; the daemon observes every change
 * and every note (a file opened, a container attached) for its log, the
 * recent-errors list of /api/status and the `sluice_component_state` gauge.
 *
 * States: `starting` (start called, not yet reading), `running`, `degraded`
 * (running with a part failing: one file unreadable, one webhook target
 * refusing), `error` (not doing its job: its socket absent, its port taken),
 * `stopped`. Back-pressure is not a state (a paused source shows `paused`).
 */
export const COMPONENT_STATES = ['starting', 'running', 'degraded', 'error', 'stopped'] as const;
export type ComponentState = (typeof COMPONENT_STATES)[number];

export type ComponentKind = 'source' | 'sink';

export interface Problem {
  /** A bounded code: an errno (ENOENT), a SLUICE_ERR_ code or an HTTP status (http_503). */
  code: string;
  message: string;
}

export interface LastError extends Problem {
  at: string;
}

export interface HealthView {
  state: ComponentState;
  state_since: string;
  last_error: LastError | null;
}

export type HealthEvent =
  | { type: 'state'; from: ComponentState; to: ComponentState; problem?: Problem }
  | { type: 'note'; event: string; msg: string; fields?: Record<string, unknown>; level?: 'info' | 'warn' };

export interface HealthSubject {
  kind: ComponentKind;
  name: string;
  type: string;
}

export type HealthObserver = (who: HealthSubject, e: HealthEvent) => void;

export class Health implements HealthSubject {
  readonly kind: ComponentKind;
  readonly name: string;
  readonly type: string;
  #state: ComponentState = 'stopped';
  #since = Date.now();
  #last: LastError | null = null;
  #observer: HealthObserver | undefined;

  constructor(kind: ComponentKind, name: string, type: string) {
    this.kind = kind;
    this.name = name;
    this.type = type;
  }

  /** The daemon's ear (one observer). */
  observe(fn: HealthObserver | undefined): void {
    this.#observer = fn;
  }

  get state(): ComponentState {
    return this.#state;
  }

  get lastError(): LastError | null {
    return this.#last;
  }

  /**
   * Enter `to`. A problem becomes the last error (kept after recovery, so
   * an operator sees what last went wrong). Reported when the state changes,
   * or when the state stays degraded/error with a different problem.
   */
  set(to: ComponentState, problem?: Problem): void {
    const from = this.#state;
    const sameProblem = !problem || (this.#last?.code === problem.code && this.#last.message === problem.message);
    if (problem) this.#last = { code: problem.code, message: problem.message, at: new Date().toISOString() };
    if (from === to && sameProblem) return;
    if (from !== to) {
      this.#state = to;
      this.#since = Date.now();
    }
    this.#observer?.(this, problem ? { type: 'state', from, to, problem } : { type: 'state', from, to });
  }

  /** Running again after degraded or error (no change from any other state). */
  recover(): void {
    if (this.#state === 'degraded' || this.#state === 'error') this.set('running');
  }

  /** Something worth a log line that is not a state change: `event` is a bounded kind (file_opened). */
  note(event: string, msg: string, fields?: Record<string, unknown>, level?: 'info' | 'warn'): void {
    this.#observer?.(this, { type: 'note', event, msg, ...(fields ? { fields } : {}), ...(level ? { level } : {}) });
  }

  view(): HealthView {
    return { state: this.#state, state_since: new Date(this.#since).toISOString(), last_error: this.#last };
  }
}

/** An error as a Problem: its errno code when it has one, else `fallback`. */
export function problemOf(err: unknown, fallback = 'error'): Problem {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(e.code) ? e.code : fallback;
  const message = typeof e?.message === 'string' && e.message ? e.message : String(err);
  return { code, message: message.length > 500 ? message.slice(0, 500) + '…' : message };
}
