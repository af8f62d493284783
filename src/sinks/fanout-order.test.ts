/**
 * Live clients get a batch only after the synchronous step that published
 * it, so after the file source has written the checkpoint past it
 * (docs/operations.md, crash safety). Written inside `push`, a batch was in
 * the kernel before its checkpoint: a SIGKILL between the two left a client
 * holding records the restart then read again under new seqs (duplicates).
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Hub } from '../hub/hub.js';
import type { Pipeline } from '../core/pipeline.js';
import type { LogRecord } from '../core/record.js';
import { CheckpointStore } from '../sources/file/checkpoint.js';
import { fileSourceSchema } from '../sources/file/config.js';
import { FileSource } from '../sources/file/source.js';
import { closeAllSse, serveSse } from './sse/sse.js';
import { TcpStreamServer } from './tcp/server.js';
import { waitFor } from '../../test/helpers/fake-pipeline.js';
import { describeParseModes, parseModes } from '../../test/helpers/parse-modes.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function makeHub(): Hub {
  const hub = new Hub({ seqStart: 0, defaults: { replay: 10_000, replayBytes: 1 << 26 }, streams: {}, drop: () => {} });
  hub.ensureStream('app');
  return hub;
}

/** The pipeline as the daemon's, minus the durable stages: push publishes to the hub. */
function pipelineOf(hub: Hub): Pipeline {
  return {
    push: (b) => (hub.publish(b), true),
    onDrain: (cb) => queueMicrotask(cb),
    lastSeq: () => hub.lastSeq,
    nextSeq: () => hub.nextSeq,
    replay: (b, floor) => hub.replay(b, floor),
    drop: () => {},
  };
}

/** Enough of a ServerResponse for serveSse; `onWrite` sees each chunk as it is written. */
class FakeResponse extends Writable {
  constructor(readonly onWrite: (chunk: string) => void) {
    super();
  }
  writeHead(): this {
    return this;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.onWrite(chunk.toString());
    cb();
  }
}

const rec = (message: string): LogRecord => ({ seq: 0, time: 1_700_000_000_000, received: 1_700_000_000_000, source: 'app', stream: 'app', origin: { kind: 'test' }, message, fields: {} });

describeParseModes(() => {
  it('file source -> SSE: every record written to a client is covered by the checkpoint already on disk', async () => {
    const d = mkdtempSync(join(tmpdir(), 'sluice-fanout-'));
    cleanup.push(() => rmSync(d, { recursive: true, force: true }));
    const f = join(d, 'app.log');
    writeFileSync(f, '');
    const hub = makeHub();
    hub.seal();
    const store = new CheckpointStore(join(d, 'data'), 'app');
    const ahead: string[] = [];
    let sent = 0;
    const res = new FakeResponse((chunk) => {
      const ids = [...chunk.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
      if (ids.length === 0) return;
      const onDisk = store.load();
      const covered = onDisk.kind === 'ok' ? (onDisk.doc.last?.seqLast ?? 0) : 0;
      for (const id of ids) if (id > covered) ahead.push(`seq ${id} written while the checkpoint on disk covers up to ${covered}`);
      sent += ids.length;
    });
    serveSse(res as unknown as ServerResponse, { hub, stream: 'app', heartbeatMs: 60_000 });
    cleanup.push(() => closeAllSse());
    const cfg = fileSourceSchema.parse({ name: 'app', type: 'file', format: 'plain', paths: [f], from: 'start', poll_interval: '50ms' });
    const s = new FileSource(cfg, { dataDir: join(d, 'data'), parsePool: parseModes.pool, poolMinChars: 0 });
    cleanup.push(() => s.stop());
    const p = pipelineOf(hub);
    await s.restore(p);
    await s.start(p);
    let n = 0;
    for (let round = 0; round < 20; round++) {
      let text = '';
      for (let i = 0; i < 50; i++) text += `line ${++n}\n`;
      appendFileSync(f, text);
      await waitFor(() => sent >= n, `${n} records to the client`);
    }
    expect(ahead).toEqual([]);
    expect(sent).toBe(1000);
  });
});

describe('sinks write what the hub publishes after the publishing step, not inside it', () => {
  it('SSE', async () => {
    const hub = makeHub();
    const writes: string[] = [];
    serveSse(new FakeResponse((c) => writes.push(c)) as unknown as ServerResponse, { hub, stream: 'app', heartbeatMs: 60_000 });
    cleanup.push(() => closeAllSse());
    writes.length = 0;
    hub.publish([rec('a'), rec('b')]);
    expect(writes).toEqual([]);
    await Promise.resolve();
    expect(writes.join('')).toMatch(/^id: 1\nevent: log\ndata: .*"message":"a".*\n\nid: 2\n/);
  });

  it('TCP', async () => {
    const hub = makeHub();
    const server = new TcpStreamServer({ hub, stream: 'app', listen: '127.0.0.1:0' });
    await server.start();
    cleanup.push(() => server.stop());
    const reader = net.connect({ port: server.address().port, host: '127.0.0.1' });
    cleanup.push(() => void reader.destroy());
    let got = '';
    reader.setEncoding('utf8');
    reader.on('data', (c: string) => (got += c));
    await waitFor(() => server.clients().length === 1, 'the connection');
    hub.publish([rec('a'), rec('b')]);
    expect(server.clients()[0]!.sent).toBe(0); // nothing taken from the cursor inside publish
    await waitFor(() => got.split('\n').length > 2, 'two lines');
    expect(got.split('\n').slice(0, 2).map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(['a', 'b']);
  });
});
