import { defineConfig } from 'vitest/config';
import { join, resolve } from 'node:path';
import type { Plugin } from 'vite';

const webDir = resolve(import.meta.dirname, '../../src/Web');
const appPackages = /^(preact|@preact\/signals|@preact\/signals-core|@msgpack\/msgpack)(\/.*)?$/;

/** Resolves the app's own dependencies (preact, signals, msgpack) from src/Web, as if imported there: one copy of
 * preact for the app and the tests, and the JSX runtime the transform injects into test and app files alike. */
const appDependencies: Plugin = {
  name: 'teamcomms-app-dependencies',
  enforce: 'pre',
  async resolveId(id, _importer, options) {
    if (!appPackages.test(id)) return null;
    return this.resolve(id, join(webDir, 'index.html'), { ...options, skipSelf: true });
  },
};

export default defineConfig({
  plugins: [appDependencies],
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['unit/**/*.test.{ts,tsx}'],
          environment: 'happy-dom',
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          environment: 'node',
          // One server and one Chromium per file; files run one after another on this 2-core machine.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        // Measurements for docs/benchmarks.md, not tests: `npx vitest run --project bench` (never part of test.sh).
        extends: true,
        test: {
          name: 'bench',
          include: ['bench/**/*.measure.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 1_800_000,
          hookTimeout: 1_800_000,
        },
      },
    ],
  },
});
