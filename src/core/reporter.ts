/**
 * The daemon's ear for its components: every `Health` change and note of a
 * source or sink, and every failure the alerting side reports (a webhook
 * delivery), becomes a log line (rate-limited per component and kind of
 * event) and, when it is a failure, an entry of the recent-errors list shown
 * by /api/status and `sluice status`.
 */
import type { Log } from './log.js';
import { RateLimit } from './log.js';
import type { HealthEvent, HealthSubject } from './health.js';

export interface RecentError {
  at: string;
  /** `source app`, `sink forward central`, `trigger 3`. */
  component: string;
  code: string;
  message: string;
}

/** How many failures /api/status keeps (the newest). */
export const RECENT_ERRORS = 50;

export class Reporter {
  readonly #log: Log;
  readonly #limit: RateLimit;
  readonly #recent: RecentError[] = [];

  constructor(log: Log, limit = new RateLimit()) {
    this.#log = log;
    this.#limit = limit;
  }

  /** A Health observer (core/health.ts). */
  readonly observe = (who: HealthSubject, e: HealthEvent): void => {
    const fields = { component: who.kind, name: who.name, type: who.type };
    if (e.type === 'note') {
      const held = this.#limit.take(`${who.kind}/${who.name}/${e.event}`);
      if (held < 0) return;
      this.#log[e.level ?? 'info']({ ...fields, event: e.event, ...e.fields, ...(held > 0 ? { suppressed: held } : {}) }, e.msg);
      return;
    }
    const failing = e.to === 'error' || e.to === 'degraded';
    if (failing && e.problem) this.#remember(`${who.kind} ${who.name}`, e.problem.code, e.problem.message);
    const held = this.#limit.take(`${who.kind}/${who.name}/state`);
    if (held < 0) return;
    const recovered = !failing && (e.from === 'error' || e.from === 'degraded') && e.to === 'running';
    const what = recovered ? 'recovered' : e.to;
    const obj = { ...fields, state: e.to, from: e.from, ...(e.problem ? { code: e.problem.code } : {}), ...(held > 0 ? { suppressed: held } : {}) };
    const msg = `${who.kind} ${who.name}: ${what}${e.problem ? `: ${e.problem.message}` : ''}`;
    if (e.to === 'error') this.#log.error(obj, msg);
    else if (e.to === 'degraded') this.#log.warn(obj, msg);
    else this.#log.info(obj, msg);
  };

  /**
   * A failure outside a source or sink (a webhook delivery): logged at warn
   * (at most a burst a minute for each `key`) and remembered.
   */
  failure(key: string, component: string, code: string, message: string, fields?: Record<string, unknown>): void {
    this.#remember(component, code, message);
    const held = this.#limit.take(key);
    if (held < 0) return;
    this.#log.warn({ ...fields, code, ...(held > 0 ? { suppressed: held } : {}) }, `${component}: ${message}`);
  }

  #remember(component: string, code: string, message: string): void {
    this.#recent.push({ at: new Date().toISOString(), component, code, message });
    if (this.#recent.length > RECENT_ERRORS) this.#recent.splice(0, this.#recent.length - RECENT_ERRORS);
  }

  /** The newest failures, newest last. */
  recent(): RecentError[] {
    return this.#recent.slice();
  }
}
