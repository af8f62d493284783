#!/usr/bin/env -S node --max-semi-space-size=64
// The built CLI (npm ci runs `prepare`, which compiles src/ to dist/).
//
// --max-semi-space-size=64: records live in the replay ring for a while, so
// most of what the pipeline allocates survives the first young-generation
// GCs; with V8's default semi-spaces the scavenger spent ~45% of the CPU
// copying them, and file -> TCP ran at 16 MB/s instead of 26 (docs/operations.md).
// V8 reads the flag only at start-up, hence the shebang and `npm start`.
import('../dist/cli/entry.js');
