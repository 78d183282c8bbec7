import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The registry package imports the protocol as `webinfer/protocol`; in this repository that is the source.
    alias: { 'webinfer/protocol': fileURLToPath(new URL('./src/shared/registry/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/unit/**/*.test.ts', 'registry/test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
