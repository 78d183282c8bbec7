/**
 * Where the tfjs WASM binaries are. The `?url` imports let every build find them:
 * - Vite dev server: `/node_modules/@tensorflow/tfjs-backend-wasm/dist/….wasm`;
 * - this package's library build: the `webinfer:wasm-assets` plugin in
 *   `vite.config.ts` emits the three files next to the worker chunk and rewrites
 *   each import to `new URL('./<file>', import.meta.url).href`, a form that a
 *   consumer's bundler (Vite, webpack 5, Rollup, esbuild) recognises and copies.
 */
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { WasmPaths } from '../src/shared/types.js';

export const DEFAULT_WASM_PATHS: WasmPaths = {
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
};
