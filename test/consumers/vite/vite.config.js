// The README's Vite section: COOP/COEP in dev and preview (WASM threads); nothing else.
import { defineConfig } from 'vite';

const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
export default defineConfig({
  server: { headers },
  preview: { headers },
});
