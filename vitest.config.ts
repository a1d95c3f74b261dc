import { defineConfig } from 'vitest/config';
import { sublabExp } from './src/vitest/plugin.ts';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        // `npm run experiments [-- filter]`: each .exp file is a test file (see src/vitest/plugin.ts).
        plugins: [sublabExp()],
        test: {
          name: 'experiments',
          include: ['experiments/**/*.exp'],
          // Runs happen once per file in a beforeAll with its own (long) timeout; these only
          // bound the judging.
          testTimeout: 60_000,
          hookTimeout: 24 * 3600_000,
          // Training is CPU-bound: one file at a time keeps timings honest on small machines.
          fileParallelism: false,
        },
      },
    ],
  },
});
