#!/usr/bin/env -S node --max-semi-space-size=16 --initial-old-space-size=128
// The built CLI (npm ci runs `prepare`, which compiles src/ to dist/).
//
// The main thread's heap (V8 reads these flags only at start-up, hence the
// shebang; `npm start`, the tests and the benches take them from this line,
// src/cli/node-flags.ts):
// --max-semi-space-size=16: a young generation that does not depend on the
//   machine's memory (V8 sizes it from the heap limit otherwise). With parsing
//   in worker threads and no record kept past its batch, 16 MiB gives the
//   throughput 64 MiB did, with ~100 MB less RSS (docs/operations.md).
// --initial-old-space-size=128: old space is not collected below 128 MiB.
//   V8 starts marking as soon as the room left below its limit is smaller
//   than the young generation (2 x 16 MiB); with ~25 MB live and the limit
//   at 1.5x that (`sluice run` sets --heap-growing-percent=50), a full
//   collection ran every 50-70 ms at full ingest speed, for nothing
//   (docs/operations.md, "The old-space floor"). `sluice run` clears it again
//   for the worker threads it starts (their heaps are configured then).
import('../dist/cli/entry.js');
