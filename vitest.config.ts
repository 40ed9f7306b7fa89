import { configDefaults, defineConfig } from 'vitest/config';

// Files that start Accrue processes, kill them or drive a browser: each takes the machine's cores for
// up to minutes and waits on timers, so they run one at a time, after every other file. The other
// files (each on its own database cloned from the template) run two at a time: left alone, Vitest
// runs all cores but one, a single file at a time on a two-core machine.
const processSuites = [
  'test/console/**/*.test.ts',
  'test/crash/**/*.test.ts',
  'test/process/**/*.test.ts',
  'test/reliability/**/*.test.ts',
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
          name: 'in-process',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...processSuites],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'processes',
          include: processSuites,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
