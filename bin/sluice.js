#!/usr/bin/env node
// The built CLI (npm ci runs `prepare`, which compiles src/ to dist/).
import('../dist/cli/entry.js');
