/** role and [bus]: defaults, the JetStream keys, and the checks of role against bus.kind. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';

function load(toml: string, env: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bus-cfg-'));
  const file = path.join(dir, 'sluice.toml');
  writeFileSync(file, toml);
  return loadConfig({ file, env });
}

describe('role and [bus]', () => {
  it('defaults: role "all" with the in-process bus', () => {
    const r = load('');
    expect(r.ok && [r.config.role, r.config.bus.kind]).toEqual(['all', 'memory']);
  });

  it('an agent and a server on JetStream, with the stream limits, consumer and publish settings', () => {
    const r = load('role = "agent"\n[bus]\nkind = "nats"\nurl = "nats://10.0.0.1:4222,nats://10.0.0.2:4222"\nprefix = "logs"\nmax_age = "7d"\nmax_bytes = "10GiB"\nack_wait = "5s"\nconsumer = "workers"\n[bus.publish]\nbatch_records = 500\non_full = "drop_oldest"\n');
    expect(r.ok ? [] : r.problems).toEqual([]);
    if (!r.ok) return;
    expect(r.config.role).toBe('agent');
    expect(r.config.bus).toMatchObject({ kind: 'nats', prefix: 'logs', max_age: 7 * 86_400_000, max_bytes: 10 * 1024 ** 3, ack_wait: 5000, consumer: 'workers', duplicate_window: 600_000 });
    expect(r.config.bus.publish).toMatchObject({ batch_records: 500, on_full: 'drop_oldest', batch_bytes: 256 * 1024, spool_max: 1024 ** 3, gzip: true });
    expect(load('role = "server"\n[bus]\nkind = "nats"\n').ok).toBe(true);
  });

  it('agent and server need bus.kind = "nats"; "nats" is not for role "all"; a server has no sources', () => {
    const bad = (toml: string) => {
      const r = load(toml);
      return r.ok ? [] : r.problems;
    };
    expect(bad('role = "agent"\n')).toEqual([expect.stringMatching(/^bus\.kind: role = "agent" needs bus\.kind = "nats"/)]);
    expect(bad('role = "server"\n[bus]\nkind = "memory"\n')).toEqual([expect.stringMatching(/^bus\.kind: role = "server" needs/)]);
    expect(bad('[bus]\nkind = "nats"\n')).toEqual([expect.stringMatching(/^bus\.kind: "nats" is for role = "agent" or "server"/)]);
    expect(bad('role = "server"\n[bus]\nkind = "nats"\n[[sources]]\nname = "a"\ntype = "http"\n')).toEqual([expect.stringMatching(/^sources: role = "server" takes its records from JetStream/)]);
    expect(bad('role = "agent"\n[bus]\nkind = "nats"\n[[forward]]\nname = "bus"\nurl = "http://central:8080/api/ingest?source=e"\n')).toEqual([expect.stringMatching(/^forward: the name "bus" is the agent's JetStream publisher's/)]);
    expect(bad('role = "both"\n')).toEqual([expect.stringMatching(/^role: /)]);
    expect(bad('role = "agent"\n[bus]\nkind = "nats"\nprefix = "a.b"\nurl = "http://x"\n')).toEqual([expect.stringMatching(/^bus\.url: /), expect.stringMatching(/^bus\.prefix: /)]);
  });

  it('SLUICE_ROLE and SLUICE_BUS_* from the environment', () => {
    const r = load('', { SLUICE_ROLE: 'server', SLUICE_BUS_KIND: 'nats', SLUICE_BUS_URL: 'nats://127.0.0.1:4333' });
    expect(r.ok ? [r.config.role, r.config.bus.kind, r.config.bus.url] : r.problems).toEqual(['server', 'nats', 'nats://127.0.0.1:4333']);
  });
});
