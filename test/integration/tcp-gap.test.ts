/**
 * The TCP NDJSON output's loss notice (docs/api.md, TCP: "A reader that falls
 * behind limits.client_lag gets a line {"gap":{"missed":N}} and the loss is
 * counted (stage="tcp")"). A client stops reading while ~32 MB go by, far more
 * than its socket, its write slack (limits.memory / 8 = 2 MiB) and its lag
 * bound hold; when it reads again, every gap line's N is exactly the number of
 * records missing between the records around it, and the Ns add up to what
 * /api/status and /metrics count.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authHeaders, fileSourceToml, freePort, startDaemon, stopAll, tempDir, waitFor, type DaemonHandle } from '../helpers/daemon.js';

let d: DaemonHandle | undefined;
afterAll(async () => {
  await d?.stop();
  stopAll();
});

describe('TCP output', () => {
  it('a client that fell behind gets {"gap":{"missed":N}} lines whose N is exactly what it missed, and the loss is counted', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    writeFileSync(file, '');
    const tcpPort = await freePort();
    d = await startDaemon(
      `data_dir = "${dir}/data"
[limits]
memory = "16MiB"
client_lag = 2000
${fileSourceToml('app', file)}
[[streams]]
name = "app"
tcp = "127.0.0.1:${tcpPort}"
`,
      { dir },
    );
    const sock = net.connect(tcpPort, '127.0.0.1');
    const seqs: number[] = [];
    const gaps: { after: number; missed: number }[] = [];
    let rest = '';
    let last = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      rest += chunk;
      let i: number;
      while ((i = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, i);
        rest = rest.slice(i + 1);
        if (line.startsWith('{"gap"')) {
          gaps.push({ after: seqs.length, missed: (JSON.parse(line) as { gap: { missed: number } }).gap.missed });
        } else {
          const r = JSON.parse(line) as { seq: number; message: string };
          seqs.push(r.seq);
          last = r.message;
        }
      }
    });
    await waitFor(async () => {
      const s = (await (await fetch(`${d!.url}/api/status`, { headers: authHeaders })).json()) as { streams: { name: string; tcp: { clients: unknown[] } | null }[] };
      return s.streams.find((x) => x.name === 'app')?.tcp?.clients.length === 1;
    }, 'the client');
    sock.pause();

    const N = 32_000;
    const pad = 'x'.repeat(1000);
    let s = '';
    for (let i = 0; i < N; i++) s += `line ${i} ${pad}\n`;
    appendFileSync(file, s + 'the end\n');
    const status = async () => (await (await fetch(`${d!.url}/api/status`, { headers: authHeaders })).json()) as {
      sources: { counters: { records: number } }[];
      streams: { name: string; tcp: { clients: { dropped: number; sent: number }[] } }[];
      drops: Record<string, number>;
    };
    await waitFor(async () => (await status()).sources[0]!.counters.records === N + 1, 'every line read', 60_000);

    sock.resume();
    await waitFor(() => last === 'the end', 'the last record', 60_000);
    expect(gaps.length).toBeGreaterThan(0);
    // the records around each gap line are exactly `missed` seqs apart (one stream: its seqs are contiguous)
    for (const g of gaps) {
      expect(g.after).toBeGreaterThan(0);
      expect(seqs[g.after]! - seqs[g.after - 1]! - 1).toBe(g.missed);
    }
    // and nowhere else is anything missing
    const jumps = seqs.slice(1).map((q, i) => q - seqs[i]! - 1).filter((j) => j !== 0);
    expect(jumps).toEqual(gaps.map((g) => g.missed));
    const missed = gaps.reduce((n, g) => n + g.missed, 0);
    // the first record seen was the first written (the client connected before any), the last the last
    expect(seqs.length + missed).toBe(N + 1);

    const st = await status();
    expect(st.drops['tcp/slow_client']).toBe(missed);
    expect(st.streams.find((x) => x.name === 'app')!.tcp.clients[0]!.dropped).toBe(missed);
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toContain(`sluice_dropped_total{stage="tcp",reason="slow_client"} ${missed}`);
    sock.destroy();
  }, 120_000);
});
