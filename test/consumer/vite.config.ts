/**
 * The consumer app's Vite config: a normal app build (not lib mode), nothing
 * webinfer-specific except the dev-server note below. Built by
 * scripts/build-consumer.mjs into test/consumer/dist/.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  // Relative asset URLs: the test serves the built app under /consumer/.
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
  },
  // Dev server only (the build ignores it): Vite's dependency pre-bundling copies a
  // dependency's code into node_modules/.vite/deps/, so webinfer's
  // `new Worker(new URL('./assets/runtime.worker-*.js', import.meta.url))` and the
  // worker's `new URL('./tfjs-backend-wasm*.wasm', import.meta.url)` would resolve
  // against the pre-bundled file's location, where those files do not exist.
  // Excluding webinfer serves it as-is from node_modules, so the URLs stay right.
  optimizeDeps: { exclude: ['webinfer'] },
});
