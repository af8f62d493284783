/**
 * HTTP ingest throughput: `POST /api/ingest?source=push` on a real daemon
 * (the built CLI, or src through tsx: bench/sluice.ts), bodies of
 * BENCH_INGEST_BODY_KB (default 1024) KiB of NDJSON records
 * (`{"message","level","time","fields"}`, ~200 bytes each) sent by
 * BENCH_INGEST_CONCURRENCY (default 4) clients (fetch, keep-alive) until
 * BENCH_INGEST_MB (default 256) MiB of NDJSON were accepted:
 *
 * - ndjson: the bodies as they are;
 * - gzip: the same bodies gzipped (compressed before the clock starts, so
 *   the client's compression is not measured; the daemon inflates them).
 *
 * MiB/s = NDJSON MiB accepted (uncompressed, both cases) / wall time from
 * the first request to the last answer. The clients run in this process on
 * the same machine. A 429 (the pipeline pushing back) is retried after
 * Retry-After and counted. Run alone: `node --import tsx bench/ingest.ts`;
 * prints one JSON line per case (what `npm run bench -- --only ingest`
 * reads).
 */
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { startSluice, TOKEN } from './sluice.js';
import { BENCH_ROOT, MiB, nowMs, sleep, stopAll } from './util.js';

const env = process.env;
const TOTAL = Number(env.BENCH_INGEST_MB ?? 256) * MiB;
const BODY = Number(env.BENCH_INGEST_BODY_KB ?? 1024) * 1024;
const CONC = Number(env.BENCH_INGEST_CONCURRENCY ?? 4);
const DISTINCT = 16;

function bodies(): Buffer[] {
  const levels = ['info', 'warn', 'error', 'debug'];
  const out: Buffer[] = [];
  let n = 0;
  for (let b = 0; b < DISTINCT; b++) {
    const parts: string[] = [];
    let size = 0;
    while (size < BODY) {
      const line = JSON.stringify({
        message: `request ${n} served path=/api/v1/items/${n % 977} status=${200 + (n % 5)} in ${(n % 1000) / 10}ms`,
        level: levels[n % 4],
        time: 1765000000000 + n,
        fields: { req_id: `r-${n.toString(36)}`, user: `u${n % 313}`, bytes: n % 65536, tags: ['a', 'b'] },
      });
      parts.push(line);
      size += line.length + 1;
      n++;
    }
    out.push(Buffer.from(parts.join('\n') + '\n'));
  }
  return out;
}

async function runCase(name: 'ndjson' | 'gzip', plain: Buffer[]): Promise<Record<string, unknown>> {
  const h = await startSluice({
    label: `ingest-${name}`,
    paths: [path.join(BENCH_ROOT, 'ingest-none', '*.log')],
    from: 'end',
    tcp: false,
    extraToml: `\n[[sources]]\nname = "push"\ntype = "http"\nstream = "ingest"\nmax_body_bytes = "64MiB"\n`,
  });
  try {
    const wire = name === 'gzip' ? plain.map((b) => gzipSync(b)) : plain;
    const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-ndjson' };
    if (name === 'gzip') headers['content-encoding'] = 'gzip';
    const url = `${h.baseUrl}/api/ingest?source=push`;
    let sent = 0;
    let next = 0;
    let accepted = 0;
    let acceptedBytes = 0;
    let wireBytes = 0;
    let busy = 0;
    const cpu0 = h.cpu();
    const t0 = nowMs();
    const worker = async () => {
      while (sent < TOTAL) {
        const i = next++ % DISTINCT;
        sent += plain[i]!.length;
        for (;;) {
          const r = await fetch(url, { method: 'POST', headers, body: wire[i] });
          const text = await r.text();
          if (r.status === 429) {
            busy++;
            await sleep(Number(r.headers.get('retry-after') ?? 1) * 1000);
            continue;
          }
          if (r.status !== 200) throw new Error(`ingest answered ${r.status}: ${text.slice(0, 200)}`);
          accepted += (JSON.parse(text) as { accepted: number }).accepted;
          acceptedBytes += plain[i]!.length;
          wireBytes += wire[i]!.length;
          break;
        }
      }
    };
    await Promise.all(Array.from({ length: CONC }, worker));
    const wallS = (nowMs() - t0) / 1000;
    const cpuS = h.cpu() - cpu0;
    return {
      case: name,
      mib_per_s: acceptedBytes / MiB / wallS,
      wire_mib_per_s: wireBytes / MiB / wallS,
      records_per_s: accepted / wallS,
      records: accepted,
      mib: acceptedBytes / MiB,
      wall_s: wallS,
      daemon_cpu_s: cpuS,
      busy_429: busy,
      body_kib: BODY / 1024,
      concurrency: CONC,
      compression_ratio: name === 'gzip' ? wireBytes / acceptedBytes : 1,
    };
  } finally {
    await h.stop();
  }
}

async function main(): Promise<void> {
  const plain = bodies();
  for (const c of ['ndjson', 'gzip'] as const) {
    try {
      console.log(JSON.stringify(await runCase(c, plain)));
    } catch (e) {
      console.log(JSON.stringify({ case: c, error: (e as Error).message.split('\n')[0] }));
    }
  }
}

main()
  .catch((e) => {
    console.log(JSON.stringify({ error: (e as Error).message }));
  })
  .finally(() => void stopAll());
