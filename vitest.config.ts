import { configDefaults, defineConfig } from 'vitest/config';

// Files that start Accrue processes, kill them or drive a browser take the machine's cores for up to
// minutes and wait on timers: they run one at a time, after every other file. The other files (each
// on its own database cloned from the template) run two at a time; left alone, Vitest would run all
// cores but one, so a single file at a time on a two-core machine. The soak is among them: it offers
// a fixed rate for minutes, mostly waiting, and is built to hold it beside other work.
const oneAtATime = [
  'test/console/**/*.test.ts',
  'test/crash/**/*.test.ts',
  'test/process/**/*.test.ts',
  'test/reliability/database-restart.test.ts',
  'test/reliability/job-crash.test.ts',
  'test/reliability/pool-exhaustion.test.ts',
];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'two-at-a-time',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...oneAtATime],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'one-at-a-time',
          include: oneAtATime,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
