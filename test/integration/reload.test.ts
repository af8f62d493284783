/** SIGHUP and POST /api/config/reload: changed components are rebuilt; a bad config is refused and the old one keeps running. */
import { appendFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authHeaders, freePort, startDaemon, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';

let d: DaemonHandle | undefined;
afterAll(async () => {
  await d?.stop();
  stopAll();
});

async function messages(url: string, stream: string): Promise<string[]> {
  const r = await fetch(`${url}/api/records?stream=${stream}&limit=1000`, { headers: authHeaders });
  if (!r.ok) return [];
  return ((await r.json()) as { records: { message: string }[] }).records.map((x) => x.message);
}

interface Status {
  sources: { name: string }[];
  streams: { name: string; tcp: { clients: unknown[] } | null }[];
}
async function status(url: string): Promise<Status> {
  return (await (await fetch(`${url}/api/status`, { headers: authHeaders })).json()) as Status;
}

describe('config reload', () => {
  it('SIGHUP adds a source and a TCP output; a bad config is refused and the old one keeps running', async () => {
    const dir = tempDir();
    const a = path.join(dir, 'a.log');
    const b = path.join(dir, 'b.log');
    writeFileSync(a, '');
    writeFileSync(b, '');
    const port = await freePort();
    const tcpPort = await freePort();
    const head = `data_dir = "${dir}/data"\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "test-admin-token-0123456789"\n`;
    const srcA = `[[sources]]\nname = "a"\ntype = "file"\npaths = ["${a}"]\nfrom = "start"\npoll_interval = "100ms"\n`;
    d = await startDaemon(head + srcA, { dir, port });
    appendFileSync(a, 'a1\n');
    await waitFor(async () => (await messages(d!.url, 'a')).includes('a1'), 'a1');

    // add source b and a TCP output for it
    writeFileSync(d.configFile, head + srcA + `[[sources]]\nname = "b"\ntype = "file"\npaths = ["${b}"]\nfrom = "start"\npoll_interval = "100ms"\n[[streams]]\nname = "b"\ntcp = "127.0.0.1:${tcpPort}"\n`);
    d.proc.kill('SIGHUP');
    await waitFor(() => d!.stderr().includes('reloaded:'), 'reload log line').catch((e: Error) => {
      throw new Error(`${e.message}; the daemon's log ends:\n${d!.stderr().slice(-2000)}`);
    });
    const sock = net.connect(tcpPort, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    let tcpOut = '';
    sock.on('data', (c) => (tcpOut += c));
    // the TCP output serves records from the moment its client is registered: wait until it is
    await waitFor(async () => (await status(d!.url)).streams.find((s) => s.name === 'b')?.tcp?.clients.length === 1, 'the TCP client registered on stream b');
    appendFileSync(b, 'b1\n');
    appendFileSync(a, 'a2\n');
    await waitFor(async () => (await messages(d!.url, 'b')).includes('b1'), 'b1 after reload');
    await waitFor(() => tcpOut.includes('"b1"'), 'b1 on the new TCP output');
    await waitFor(async () => (await messages(d!.url, 'a')).includes('a2'), 'a2: unchanged source kept running');
    expect((await messages(d.url, 'a')).filter((m) => m === 'a1')).toHaveLength(1); // not re-read by the reload
    sock.destroy();

    // a bad config is refused over the API with every problem, and the old one keeps running
    writeFileSync(d.configFile, head + srcA + `[[sources]]\nname = "c"\ntype = "file"\npaths = []\n`);
    const res = await fetch(`${d.url}/api/config/reload`, { method: 'POST', headers: authHeaders });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; details: string[] } };
    expect(body.error.code).toBe('SLUICE_ERR_CONFIG_RELOAD');
    expect(body.error.details.join()).toContain('sources[1].paths');
    appendFileSync(b, 'b2\n');
    await waitFor(async () => (await messages(d!.url, 'b')).includes('b2'), 'b still running after a refused reload');

    // removing a source stops it
    writeFileSync(d.configFile, head + srcA);
    const ok = await fetch(`${d.url}/api/config/reload`, { method: 'POST', headers: authHeaders });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { changed: string[] }).changed.join()).toContain('sources.b (removed)');
    // the reload answered after the removed source stopped reading (main.ts awaits its stop): the status no longer lists it
    expect((await status(d.url)).sources.map((s) => s.name)).toEqual(['a']);
    appendFileSync(b, 'b3\n');
    // instead of waiting a while for b3 not to come: a marker written after b3 to the source that still runs;
    // once it is in, the daemon has read and published what was written after b3
    appendFileSync(a, 'a-after-b3\n');
    await waitFor(async () => (await messages(d!.url, 'a')).includes('a-after-b3'), 'the marker after b3');
    expect(await messages(d.url, 'b')).toEqual(['b1', 'b2']);

    // the parse threads are resized in place (the daemon started with auto: one per core, at most 4)
    const threads = async () => ((await (await fetch(`${d!.url}/api/status`, { headers: authHeaders })).json()) as { parse: { threads: number; running: number } }).parse;
    if ((await threads()).threads > 0) {
      writeFileSync(d.configFile, head.replace('[server]', '[limits]\nparse_threads = 3\n[server]') + srcA);
      const r3 = await fetch(`${d.url}/api/config/reload`, { method: 'POST', headers: authHeaders });
      expect(((await r3.json()) as { changed: string[] }).changed).toContain('limits.parse_threads');
      expect(await threads()).toMatchObject({ threads: 3, running: 3 });
      appendFileSync(a, 'a3\n');
      await waitFor(async () => (await messages(d!.url, 'a')).includes('a3'), 'a3 after the resize');
    }
  }, 60_000);
});

describe('config reload of streams', () => {
  it('a stream the reload adds gets its configured replay ring, with and without a TCP output', async () => {
    const dir = tempDir();
    const port = await freePort();
    const tcpPort = await freePort();
    const head = `data_dir = "${dir}/data"\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "test-admin-token-0123456789"\n`;
    const src = (n: string) => `[[sources]]\nname = "${n}"\ntype = "file"\npaths = ["${dir}/${n}.log"]\n`;
    const r = await startDaemon(head + src('a'), { dir, port });
    try {
      writeFileSync(r.configFile, head + src('a') + src('b') + src('c') + `[[streams]]\nname = "b"\nreplay = 7\n[[streams]]\nname = "c"\nreplay = 9\ntcp = "127.0.0.1:${tcpPort}"\n`);
      const res = await fetch(`${r.url}/api/config/reload`, { method: 'POST', headers: authHeaders });
      expect(res.status).toBe(200);
      const st = (await (await fetch(`${r.url}/api/status`, { headers: authHeaders })).json()) as { streams: { name: string; ring: { capacity: number } }[] };
      const cap = Object.fromEntries(st.streams.map((s) => [s.name, s.ring.capacity]));
      expect(cap).toMatchObject({ a: 10_000, b: 7, c: 9 });
    } finally {
      await r.stop();
    }
  });
});
