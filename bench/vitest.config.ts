import { defineConfig } from 'vitest/config';

// Benchmarks are plain scripts run through vitest so they can import the TypeScript sources and the
// test fakes. Each records its figures (bench/results.ts); bench/global-setup.ts writes
// bench/results.json and prints the one table at the end. Nothing fails on timing: a missed target
// is a ✘ in the table, not a failed test.
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    globalSetup: ['bench/global-setup.ts'],
    setupFiles: ['test/setup/loopback-only.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    // The soak benchmark forces GC between checkpoints.
    execArgv: ['--expose-gc'],
  },
});
