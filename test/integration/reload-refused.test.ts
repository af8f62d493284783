/**
 * docs/configuration.md, Reload: "A configuration that does not validate, or a
 * TCP output that cannot bind, is refused and the old configuration keeps
 * running (the API answers 500 SLUICE_ERR_CONFIG_RELOAD with every problem)."
 * The bind failure, on a real daemon: the new config moves the stream's TCP
 * output to a port that is taken and adds a source; nothing of it applies.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authHeaders, fileSourceToml, freePort, startDaemon, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';

let d: DaemonHandle | undefined;
let blocker: net.Server | undefined;
afterAll(async () => {
  await d?.stop();
  await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
  stopAll();
});

describe('reload', () => {
  it('a TCP output that cannot bind refuses the whole reload: 500 naming it, the old output and sources keep running, the new source never starts', async () => {
    const dir = tempDir();
    const a = path.join(dir, 'a.log');
    const b = path.join(dir, 'b.log');
    writeFileSync(a, '');
    writeFileSync(b, 'b was read\n');
    const oldPort = await freePort();
    blocker = net.createServer();
    await new Promise<void>((r) => blocker!.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as net.AddressInfo).port;
    d = await startDaemon(`data_dir = "${dir}/data"\n${fileSourceToml('a', a)}\n[[streams]]\nname = "a"\ntcp = "127.0.0.1:${oldPort}"\n`, { dir });

    const cfg = readFileSync(d.configFile, 'utf8');
    writeFileSync(d.configFile, cfg.replace(`tcp = "127.0.0.1:${oldPort}"`, `tcp = "127.0.0.1:${taken}"`).replace('[server]', `${fileSourceToml('b', b)}\n[server]`));
    const res = await fetch(`${d.url}/api/config/reload`, { method: 'POST', headers: authHeaders });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; details: string[] } };
    expect(body.error.code).toBe('SLUICE_ERR_CONFIG_RELOAD');
    expect(body.error.details).toHaveLength(1);
    expect(body.error.details[0]).toContain(`streams.a.tcp: cannot listen on 127.0.0.1:${taken}`);

    // the new source was not built: no stream of it, its file unread
    const streams = (await (await fetch(`${d.url}/api/streams`, { headers: authHeaders })).json()) as { streams: { name: string }[] };
    expect(streams.streams.map((s) => s.name)).toEqual(['a']);
    const st = (await (await fetch(`${d.url}/api/status`, { headers: authHeaders })).json()) as { sources: { name: string }[] };
    expect(st.sources.map((s) => s.name)).toEqual(['a']);
    // the old output still serves the old source's records
    const sock = net.connect(oldPort, '127.0.0.1');
    let got = '';
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => (got += c));
    await new Promise((r) => sock.once('connect', r));
    await waitFor(async () => {
      const s = (await (await fetch(`${d!.url}/api/status`, { headers: authHeaders })).json()) as { streams: { name: string; tcp: { clients: unknown[] } | null }[] };
      return s.streams.find((x) => x.name === 'a')?.tcp?.clients.length === 1;
    }, 'the client on the old output');
    appendFileSync(a, 'after the refused reload\n');
    await waitFor(() => got.includes('"message":"after the refused reload"'), 'the record on the old TCP output');
    sock.destroy();
  });
});
