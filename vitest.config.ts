import { defineConfig } from 'vitest/config';

// Unit tests sit next to the code; end-to-end tests that start real servers sit in test/.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // The e2e suites start real servers (registry, git, Docker); two cores, so keep it serial.
          fileParallelism: false,
        },
      },
    ],
  },
});
