/**
 * A WebhookSender driven by hand (imported by *.test.ts only): its one network call, postOnce,
 * answered when the test says so, and a store that keeps the delivery log in memory. The test
 * file mocks '../src/triggers/webhook-client.js' (vi.mock is per file); this installs the answers.
 * Time is the test's fake clock, so every retry delay is checked to the millisecond.
 */
import { vi } from 'vitest';
import type { Store } from '../../src/store/store.js';
import type { NewDelivery, SluiceEvent, Trigger } from '../../src/store/types.js';
import type { TriggersConfig } from '../../src/triggers/config.js';
import { postOnce, type AttemptOptions, type AttemptResult } from '../../src/triggers/webhook-client.js';
import { WebhookSender, type WebhookFailure, type WebhookSenderDeps } from '../../src/triggers/webhook.js';

export interface Call {
  url: string;
  body: string;
  headers: Record<string, string>;
  opts: AttemptOptions;
  /** Answer this attempt, then let the sender react. */
  answer(r: AttemptResult): Promise<void>;
  /** Make this attempt throw, then let the sender react. */
  throws(err: unknown): Promise<void>;
}

/** Let promise callbacks run (the sender awaits the attempt, then the store). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

export const OK: AttemptResult = { ok: true, status: 200, latency_ms: 12, response_snippet: 'fine', error: null, retryable: false };
export const busy = (retryAfterS?: number): AttemptResult => ({
  ok: false, status: 503, latency_ms: 5, response_snippet: 'busy', error: 'HTTP 503', retryable: true, retry_after_s: retryAfterS,
});
export const refused: AttemptResult = { ok: false, status: 400, latency_ms: 3, response_snippet: 'bad', error: 'HTTP 400', retryable: false };

export const cfg = (over: Partial<TriggersConfig> = {}): TriggersConfig => ({
  allow_hosts: [], connect_timeout: 5000, timeout: 10_000, retries: 5, backoff_base: 1000, backoff_max: 300_000, queue_size: 10, concurrency: 1, ...over,
});

export const trigger = (id: number, over: Partial<Trigger> = {}): Trigger => ({
  id, name: `t${id}`, url: `https://hooks.example.com/t${id}`, secret: '', filter: { severity: [], source: [], message_re: null },
  enabled: true, created: 0, updated: 0, ...over,
});

export const event = (id: number): SluiceEvent => ({
  id, time: 1_700_000_000_000, severity: 'error', source: 'app', rule_id: 7, rule_name: 'r', message: `event ${id}`, captures: {},
  record_seq: id, origin: { kind: 'file' },
});

export interface Harness {
  sender: WebhookSender;
  calls: Call[];
  /** The delivery log as written, in order. */
  rows: NewDelivery[];
  failures: WebhookFailure[];
  drops: [string, string, number | undefined][];
  errors: unknown[];
  /** Store writes fail from now on. */
  breakStore(): void;
}

export function startSender(config: TriggersConfig, deps: Partial<WebhookSenderDeps> = {}): Harness {
  const calls: Call[] = [];
  const rows: NewDelivery[] = [];
  const failures: WebhookFailure[] = [];
  const drops: Harness['drops'] = [];
  const errors: unknown[] = [];
  let broken = false;
  vi.mocked(postOnce).mockImplementation((url, body, headers, opts) => new Promise<AttemptResult>((resolve, reject) => {
    calls.push({
      url, body, headers, opts,
      answer: async (r) => { resolve(r); await settle(); },
      throws: async (err) => { reject(err); await settle(); },
    });
  }));
  const store = {
    insertDelivery: (d: NewDelivery) => {
      if (broken) return Promise.reject(new Error('store is down'));
      rows.push(d);
      return Promise.resolve({ ...d, id: rows.length });
    },
  } as unknown as Store;
  const sender = new WebhookSender({
    store, config, random: () => 0.5,
    drop: (stage, reason, n) => { drops.push([stage, reason, n]); },
    onFailure: (f) => { failures.push(f); },
    onError: (err) => { errors.push(err); },
    ...deps,
  });
  return { sender, calls, rows, failures, drops, errors, breakStore: () => { broken = true; } };
}
