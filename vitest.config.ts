import { defineConfig } from 'vitest/config';

// Unit tests sit next to the code; end-to-end tests that start real servers sit in test/.
// `*.third-party.test.ts` read third-party data kept outside the repository (../shared: the
// real-world corpus, CircleCI's schema): `npm test` leaves them out, .ci/run runs them.
const THIRD_PARTY = '**/*.third-party.test.ts';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          exclude: ['**/node_modules/**', THIRD_PARTY],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          exclude: ['**/node_modules/**', THIRD_PARTY],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // The e2e suites start real servers (registry, git, Docker); two cores, so keep it serial.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'third-party',
          include: ['packages/*/src/**/*.third-party.test.ts', 'test/**/*.third-party.test.ts'],
          exclude: ['**/node_modules/**'],
        },
      },
    ],
  },
});
