import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { RESTART_KEYS, defaultRingLimits, keepRunning, restartRequired, streamLimits } from './daemon-config.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sluice-daemon-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function config(text: string): Config {
  const f = path.join(dir, `c${n++}.toml`);
  writeFileSync(f, text);
  const r = loadConfig({ file: f, env: {} });
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}

const BASE = `
data_dir = "${dir}/a"
[server]
listen = "127.0.0.1:8080"
heartbeat = 15000
[limits]
memory = "256MiB"
client_lag = 1000
[[streams]]
name = "app"
replay = 1000
[[sources]]
name = "f"
type = "file"
stream = "app"
paths = ["/tmp/x/*.log"]
`;

describe('a reload: what it does not apply', () => {
  it('names every RESTART_KEYS path that changed and keeps its running value; what it applies takes the new one', () => {
    const prev = config(BASE);
    const next = config(
      BASE.replace(`"${dir}/a"`, `"${dir}/b"`)
        .replace('heartbeat = 15000', 'heartbeat = 20000')
        .replace('memory = "256MiB"', 'memory = "512MiB"')
        .replace('client_lag = 1000', 'client_lag = 2000')
        .replace('paths = ["/tmp/x/*.log"]', 'paths = ["/tmp/y/*.log"]'),
    );
    expect(restartRequired(prev, next)).toEqual(['data_dir', 'server', 'limits.memory']);
    const kept = keepRunning(prev, next);
    expect(kept.data_dir).toBe(prev.data_dir);
    expect(kept.server.heartbeat).toBe(15000);
    expect(kept.limits.memory).toBe(256 * 1024 * 1024);
    // applied: another limit beside the kept one, and the sources
    expect(kept.limits.client_lag).toBe(2000);
    expect(kept.sources[0]).toMatchObject({ paths: ['/tmp/y/*.log'] });
    expect(Object.isFrozen(kept) && Object.isFrozen(kept.limits) && Object.isFrozen(kept.streams)).toBe(true);
  });

  it('every key of RESTART_KEYS is kept: a config whose every such key differs keeps them all', () => {
    const prev = config(BASE);
    const next = config(BASE);
    // each key set to a marker in next (the values need not be valid: keepRunning only copies)
    const marked = structuredClone(next) as unknown as Record<string, Record<string, unknown> | unknown>;
    for (const k of RESTART_KEYS) {
      const [top, sub] = k.split('.');
      if (sub === undefined) marked[top!] = `new ${k}`;
      else marked[top!] = { ...(marked[top!] as object), [sub]: `new ${k}` };
    }
    const m = marked as unknown as Config;
    expect(restartRequired(prev, m)).toEqual([...RESTART_KEYS]);
    const kept = keepRunning(prev, m) as unknown as Record<string, unknown>;
    for (const k of RESTART_KEYS) {
      const get = (c: unknown) => k.split('.').reduce<unknown>((o, p) => (o as Record<string, unknown> | undefined)?.[p], c);
      expect(get(kept), k).toEqual(get(prev));
    }
  });

  it("a ring size change of an existing stream is named and not applied; a new stream gets its own", () => {
    const prev = config(BASE);
    const next = config(BASE.replace('replay = 1000', 'replay = 5000') + '\n[[streams]]\nname = "other"\nreplay = 300\n');
    expect(restartRequired(prev, next)).toEqual(['streams.app.replay']);
    const kept = keepRunning(prev, next);
    expect(kept.streams.find((s) => s.name === 'app')!.replay).toBe(1000);
    expect(kept.streams.find((s) => s.name === 'other')!.replay).toBe(300);
  });
});

describe('ring limits', () => {
  it("a stream no [[streams]] entry configures gets the ring a [[streams]] entry without replay keys gets", () => {
    const cfg = config(BASE + '\n[[streams]]\nname = "plain"\n');
    expect(defaultRingLimits(cfg)).toEqual(streamLimits(cfg).plain);
    expect(defaultRingLimits(cfg).replay).toBe(10_000);
  });
});
