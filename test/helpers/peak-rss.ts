/** A process's peak resident memory while a test runs. */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

/**
 * The peak VmRSS of process `pid` while it runs: /proc/<pid>/status read every
 * `everyMs` in a worker thread (the test's own event loop is busy sending and
 * would hold a timer up). `started` resolves after the first sample; the
 * sampling stops at `stop()`, after `maxSamples`, or when the process is gone.
 */
export function sampleRss(pid: number, everyMs = 50, maxSamples = 2400): { started: Promise<unknown>; stop(): Promise<{ peak: number; samples: number }> } {
  const a = new Int32Array(new SharedArrayBuffer(12)); // [stop, peak kB, samples]
  const w = new Worker(
    `const { workerData: [a, pid, every, max], parentPort } = require('node:worker_threads');
     const { readFileSync } = require('node:fs');
     for (let i = 0; i < max && Atomics.load(a, 0) === 0; i++) {
       let text;
       try { text = readFileSync('/proc/' + pid + '/status', 'utf8'); } catch { break; }
       const m = /^VmRSS:\\s+(\\d+) kB$/m.exec(text);
       if (m !== null) { if (Number(m[1]) > Atomics.load(a, 1)) Atomics.store(a, 1, Number(m[1])); Atomics.add(a, 2, 1); }
       if (i === 0) parentPort.postMessage('started');
       Atomics.wait(a, 0, 0, every);
     }`,
    { eval: true, workerData: [a, pid, everyMs, maxSamples] },
  );
  const exited = once(w, 'exit');
  return {
    started: Promise.race([once(w, 'message'), exited]),
    async stop() {
      Atomics.store(a, 0, 1);
      Atomics.notify(a, 0);
      await exited;
      return { peak: Atomics.load(a, 1) * 1024, samples: Atomics.load(a, 2) };
    },
  };
}
