// The README's esbuild section: an ES module bundle, and webinfer's plugin to copy its worker and .wasm files.
import * as esbuild from 'esbuild';
import { webinferEsbuild } from 'webinfer/bundler';

await esbuild.build({ entryPoints: ['src/app.js'], bundle: true, format: 'esm', target: 'es2022', outdir: 'dist', minify: true, plugins: [webinferEsbuild()] });
