import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real daemons and share two cores: keep file-level parallelism modest.
    maxWorkers: 2,
    pool: 'forks',
  },
});
