import { configDefaults, defineConfig } from 'vitest/config';

// Suites that share the host's auditd (rules, log rotation) or load the machine heavily run one
// file at a time, after the parallel batch, so they never race each other for audit.log.
const SERIAL = [
  'test/e2e/**/*.test.ts',
  'test/fault/**/*.test.ts',
  'test/shim/live-auditd.test.ts',
  'test/shim/run.test.ts',
  'test/deploy/audit-rules-loader.test.ts',
  // Seals 72 and 272 MiB recordings in child processes: minutes of CPU that slow every suite beside it.
  'test/evidence/seal-memory.test.ts',
  'test/scenarios/live.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 90_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'parallel',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...SERIAL],
          // End-to-end suites start real containers and servers; two cores cannot run many at once.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'serial',
          include: SERIAL,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
