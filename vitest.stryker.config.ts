/**
 * The tests StrykerJS runs against each mutant (`npm run mutate`): the
 * in-process ones, beside the code and in test/integration. Most integration
 * tests drive a daemon in a child process, where Stryker's per-test coverage
 * cannot see which mutants they reach, so they would run for every mutant;
 * they stay in `npm test`.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'src/**/*.test.ts',
      // the integration tests that run in this process (no daemon in a child process): per-test
      // coverage sees which mutants they reach
      'test/integration/access.test.ts',
      'test/integration/parse-fairness.test.ts',
      'test/integration/rules-api.test.ts',
      'test/integration/rules-backpressure.test.ts',
      'test/integration/triggers-webhook.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
