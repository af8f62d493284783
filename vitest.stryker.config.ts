/**
 * The tests StrykerJS runs against each mutant (`npm run mutate`): the
 * in-process ones beside the code. Integration tests drive a daemon in a child
 * process, where Stryker's per-test coverage cannot see which mutants they
 * reach, so they would run for every mutant; they stay in `npm test`.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
