// The README's Vite 5–7 section: COOP/COEP, and webinfer left out of dependency pre-bundling (the dev server
// would otherwise move its code away from its worker and .wasm files).
import { defineConfig } from 'vite';

const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
export default defineConfig({
  server: { headers },
  preview: { headers },
  optimizeDeps: { exclude: ['webinfer'] },
  build: { target: 'es2022' },
});
