// Mutation testing (`npm run mutate`; not in CI: it is slow). Incremental: the
// results of mutants whose code and tests did not change are reused from
// reports/stryker-incremental.json, so a rerun costs little.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.stryker.config.ts', related: false },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: [
    'src/core/**/*.ts',
    'src/hub/**/*.ts',
    'src/wire/**/*.ts',
    'src/parse/stage.ts',
    'src/parse/batch.ts',
    'src/sources/file/**/*.ts',
    'src/sinks/**/*.ts',
    'src/rules/**/*.ts',
    'src/triggers/**/*.ts',
    'src/api/auth.ts',
    '!src/**/*.test.ts',
  ],
  coverageAnalysis: 'perTest',
  ignoreStatic: true,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false },
  concurrency: 2,
  timeoutMS: 20_000,
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
