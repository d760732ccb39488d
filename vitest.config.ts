import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Files run in parallel forks; PGlite instances are per test file, server databases per run.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 30_000,
    // A hook builds platforms and servers: at load 25-40 on two cores one PGlite platform took 50 s (docs/testing.md).
    hookTimeout: 120_000,
    globalSetup: ['test/support/global-setup.ts'],
    // CI keeps only the tail of the output: unhandled errors are repeated there, one line each.
    reporters: ['default', './test/support/unhandled-errors-last.ts'],
  },
});
