/**
 * The UDP receiver's thread (started by udp.ts): runs a `UdpReceiver` and
 * talks to the listener on the main thread by messages. Batches cross with
 * their byte runs in shared memory (batch.ts): shared, not copied.
 *
 *   main -> thread: { kind: "ack", bytes } | { kind: "close" } | { kind: "stall", ms } (tests: stop reading for ms)
 *   thread -> main: { kind: "ready", address, port, family, rcvbuf, reader, reader_why } | { kind: "error", message }
 *                   | { kind: "batch", raw, counts } | { kind: "counts", counts } | { kind: "closed" }
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UdpReceiver, type UdpReceiverOptions } from './udp-receiver.js';

const port = parentPort!;
const receiver = new UdpReceiver((workerData as { opts: UdpReceiverOptions }).opts, {
  batch(raw, counts) {
    const transfer = new Set<ArrayBuffer>();
    // a run in shared memory (batch.ts) is shared by the message as it is; one of its own is moved
    for (const it of raw.items) if (typeof it !== 'string' && !(it.buffer instanceof SharedArrayBuffer)) transfer.add(it.buffer as ArrayBuffer);
    port.postMessage({ kind: 'batch', raw, counts }, [...transfer]);
  },
  counts(counts) {
    port.postMessage({ kind: 'counts', counts });
  },
});

port.on('message', (m: { kind: string; bytes?: number; ms?: number }) => {
  if (m.kind === 'ack') receiver.ack(m.bytes ?? 0);
  else if (m.kind === 'stall') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, m.ms ?? 0);
  else if (m.kind === 'close') void receiver.close().then(() => port.postMessage({ kind: 'closed' }));
});

receiver.bind().then(
  (info) => port.postMessage({ kind: 'ready', ...info }),
  (err: unknown) => port.postMessage({ kind: 'error', message: err instanceof Error ? err.message : String(err) }),
);
