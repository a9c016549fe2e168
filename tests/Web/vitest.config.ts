import { defineConfig } from 'vitest/config';
import { resolve } from 'node:path';

const webModules = resolve(import.meta.dirname, '../../src/Web/node_modules');

// Two projects: `unit` (codec, stores, formatting; happy-dom) and `e2e` (the real server as a process, Debian's
// Chromium through playwright-core). The app's sources are imported from ../../src/Web, whose node_modules resolve
// its own dependencies (preact, @preact/signals, @msgpack/msgpack).
export default defineConfig({
  // Tests import the app's own dependencies from src/Web (one copy of preact for the app and the tests).
  resolve: {
    alias: ['preact', '@preact/signals', '@msgpack/msgpack'].map((name) => ({ find: new RegExp(`^${name}(?=/|$)`), replacement: `${webModules}/${name}` })),
  },
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
    ],
  },
});
