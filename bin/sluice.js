#!/usr/bin/env -S node --max-semi-space-size=16
// The built CLI (npm ci runs `prepare`, which compiles src/ to dist/).
//
// --max-semi-space-size=16: a young generation that does not depend on the
// machine's memory (V8 sizes it from the heap limit otherwise). With parsing
// in worker threads and no record kept past its batch, 16 MiB gives the
// throughput 64 MiB did, with ~100 MB less RSS (docs/operations.md).
// V8 reads the flag only at start-up, hence the shebang and `npm start`.
import('../dist/cli/entry.js');
