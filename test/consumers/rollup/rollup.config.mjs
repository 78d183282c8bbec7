// The README's Rollup section: resolve packages for the browser, and webinfer's plugin to emit its worker and .wasm files.
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { webinferRollup } from 'webinfer/bundler';

export default { input: 'src/app.js', output: { dir: 'dist', format: 'es' }, plugins: [nodeResolve({ browser: true }), webinferRollup()] };
