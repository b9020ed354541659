import { defineConfig } from 'vitest/config';

// Benchmarks are plain scripts run through vitest so they can import the TypeScript sources and the
// test fakes; they print figures and never fail on timing.
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    setupFiles: ['test/setup/loopback-only.ts'],
    testTimeout: 300_000,
    fileParallelism: false,
    // The soak benchmark forces GC between checkpoints.
    execArgv: ['--expose-gc'],
  },
});
