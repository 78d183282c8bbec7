// The README's webpack 5 section: nothing webinfer-specific; webpack copies the worker, thread scripts and .wasm
// files it finds as `new URL(…, import.meta.url)`. Output as an ES module (the page loads dist/app.js as a module).
// `webpack serve` sends COOP/COEP (threads on) and serves the page from this folder and the bundle under /dist/.
import path from 'node:path';

export default {
  entry: './src/app.js',
  output: { path: path.resolve(import.meta.dirname, 'dist'), filename: 'app.js', module: true, clean: true },
  experiments: { outputModule: true },
  devServer: {
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    static: { directory: import.meta.dirname, watch: false },
    devMiddleware: { publicPath: '/dist/' },
  },
};
