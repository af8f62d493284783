/**
 * The UDP syslog listener: one datagram is one message (split on LF when it
 * carries several lines), with a configurable kernel receive buffer
 * (`udp_rcvbuf`, SO_RCVBUF).
 *
 * The socket is read by a thread of its own (udp-receiver.ts says why), with
 * recvmmsg by the native reader unless `udp_native = false` (udp-native.ts);
 * here its batches go to the listener's lane at the parse stage, in order.
 * UDP cannot make a sender wait: while the lane is full or the pipeline
 * paused, batches are held, and the bytes in flight (held or at the lane)
 * are bounded by HOLD_BYTES: past it the receiver drops datagrams and counts
 * them `udp_overflow`. What the kernel drops before the receiver reads (a
 * full receive buffer) is read from /proc/net/udp every few seconds and
 * counted `kernel`.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RawBatch } from '../../parse/batch.js';
import type { Lane } from '../../parse/stage.js';
import { newListenerCounters, type ListenerCounters, type Reason } from './counters.js';
import { KernelDrops } from './kernel-drops.js';
import { countBad, mustWait, peerOf, room, splitListen, type ListenerContext, type ListenerStatus, type SyslogListener } from './listener.js';
import type { UdpBound, UdpCounts, UdpReceiverOptions } from './udp-receiver.js';

/** Bytes of batches in flight (handed on by the receiver, not yet committed); past it datagrams are dropped (udp_overflow). */
export const HOLD_BYTES = 8 * 1024 * 1024;
/** How often the kernel's drop count is read. */
const KERNEL_POLL_MS = 2000;
/** The receiver keeps nothing: a small young generation keeps its heap small. */
const THREAD_YOUNG_MB = 4;

const here = fileURLToPath(import.meta.url);
// Under the test runner this module is TypeScript; the thread then needs the tsx loader (as parse/pool.ts).
const isTs = here.endsWith('.ts');
const threadFile = path.join(path.dirname(here), isTs ? 'udp-thread.ts' : 'udp-thread.js');

function spawnThread(opts: UdpReceiverOptions): Worker {
  const src = isTs
    ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(threadFile).href)}); });`
    : threadFile;
  return new Worker(src, { eval: isTs, name: 'sluice-syslog-udp', workerData: { opts }, resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_MB } });
}

type FromThread =
  | ({ kind: 'ready' } & UdpBound)
  | { kind: 'error'; message: string }
  | { kind: 'batch'; raw: RawBatch; counts: UdpCounts }
  | { kind: 'counts'; counts: UdpCounts }
  | { kind: 'closed' };

export class UdpListener implements SyslogListener {
  readonly transport = 'udp' as const;
  readonly listen: string;
  readonly counters: ListenerCounters = newListenerCounters();
  readonly #ctx: ListenerContext;
  readonly #lane: Lane;
  #thread: Worker | undefined;
  #bound: UdpBound | undefined;
  /** Batches waiting for room, in order. */
  readonly #held: RawBatch[] = [];
  #heldBytes = 0;
  #waiting = false;
  #more = true;
  #kernel: KernelDrops | undefined;
  #kernelBase: number | undefined;
  #poll: NodeJS.Timeout | undefined;
  #closed = false;
  #onClosed: (() => void) | undefined;

  constructor(ctx: ListenerContext) {
    this.#ctx = ctx;
    this.listen = ctx.cfg.udp!;
    this.#lane = ctx.stage.lane(ctx.spec);
  }

  start(): Promise<void> {
    const { host, port } = splitListen(this.listen);
    const cfg = this.#ctx.cfg;
    const t = spawnThread({ host, port, rcvbuf: cfg.udp_rcvbuf, maxFrameBytes: cfg.max_frame_bytes, checkSyslog: cfg.format === 'syslog', holdBytes: HOLD_BYTES, native: cfg.udp_native });
    this.#thread = t;
    return new Promise((resolve, reject) => {
      t.on('message', (m: FromThread) => {
        switch (m.kind) {
          case 'ready':
            this.#bound = m;
            this.#kernel = new KernelDrops(m.port, m.family === 'IPv6' ? 6 : 4);
            this.#kernelBase = this.#kernel.read();
            this.#poll = setInterval(() => this.pollKernel(), KERNEL_POLL_MS);
            this.#poll.unref();
            resolve();
            break;
          case 'error':
            void t.terminate();
            reject(new Error(`syslog udp ${this.listen}: ${m.message}`));
            break;
          case 'batch':
            this.#count(m.counts);
            this.#held.push(m.raw);
            this.#heldBytes += m.raw.size;
            this.#submit();
            break;
          case 'counts':
            this.#count(m.counts);
            break;
          case 'closed':
            this.#onClosed?.();
            break;
        }
      });
      t.once('error', (err) => {
        this.counters.socket_error++;
        reject(err);
      });
    });
  }

  #count(k: UdpCounts): void {
    const c = this.counters;
    c.datagrams += k.datagrams;
    c.bytes += k.bytes;
    c.frames += k.frames;
    for (const r in k.bad) countBad(c, this.#ctx.pipeline, r as Reason, k.bad[r as Reason]!);
  }

  /** Hand held batches to the lane while it has room; each one's bytes leave the receiver's bound once committed. */
  #submit(): void {
    while (this.#held.length > 0 && !this.#waiting) {
      if (!this.#closed && mustWait(this.#lane, this.#more)) {
        this.#waiting = true;
        void room(this.#lane, this.#ctx.pipeline, () => this.#more).then(() => {
          this.#more = true;
          this.#waiting = false;
          this.#submit();
        });
        return;
      }
      const raw = this.#held.shift()!;
      this.#heldBytes -= raw.size;
      this.#lane.submit(raw, (_n, _seq, more) => {
        if (!more) this.#more = false;
        this.#thread?.postMessage({ kind: 'ack', bytes: raw.size });
      });
    }
  }

  /** Read the kernel's drop count for this socket and count what is new (also called by status()). */
  pollKernel(): void {
    if (this.#kernel === undefined || this.#closed) return;
    const n = this.#kernel.read();
    if (n === undefined) return;
    if (this.#kernelBase === undefined) this.#kernelBase = 0;
    const now = n - this.#kernelBase;
    if (now > this.counters.kernel_drops) countBad(this.counters, this.#ctx.pipeline, 'kernel', now - this.counters.kernel_drops);
  }

  /** Tests: the receiving thread stops reading for `ms` (the kernel buffer fills as it would behind a busy reader). */
  stall(ms: number): void {
    this.#thread?.postMessage({ kind: 'stall', ms });
  }

  async stop(): Promise<void> {
    if (this.#closed) return;
    this.pollKernel();
    this.#closed = true;
    if (this.#poll) clearInterval(this.#poll);
    const t = this.#thread;
    if (t !== undefined) {
      // the receiver hands on what it read, then says so (messages keep their order)
      const closed = new Promise<void>((resolve) => {
        this.#onClosed = resolve;
        t.once('exit', () => resolve());
      });
      t.postMessage({ kind: 'close' });
      await closed;
    }
    this.#lane.close();
    this.#waiting = false;
    this.#submit();
    await this.#lane.settled();
    await t?.terminate();
  }

  status(): ListenerStatus {
    this.pollKernel();
    const b = this.#bound;
    return {
      transport: 'udp',
      listen: this.listen,
      address: b && !this.#closed ? peerOf(b.address, b.port) : null,
      counters: { ...this.counters },
      rcvbuf: b?.rcvbuf ?? null,
      reader: b?.reader ?? null,
      reader_why: b?.reader_why ?? null,
      held_bytes: this.#heldBytes,
    };
  }
}
