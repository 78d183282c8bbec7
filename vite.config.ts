/**
 * One Vite config, three jobs:
 * - `vite build` (default mode): the library. ESM, main-thread entry `dist/index.js`
 *   (comlink external, no tfjs), the worker as its own chunk `dist/assets/runtime.worker-*.js`,
 *   and the tfjs WASM binaries beside it as assets.
 * - `vite` / `vite --mode demo`: the demo dev server, cross-origin isolated (COOP/COEP),
 *   so WASM threads are on.
 * - `vite build --mode harness`: the e2e test page (test/e2e/pages) built from source.
 * - `vite build --mode bench`: the benchmark page (bench/pages), see bench/README.md.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import { plainModule, withoutNodeGlobals, THREAD_SCRIPT, threadedModule, threadScript, workerContentsModule } from './scripts/tfjs-glue.js';

const require = createRequire(import.meta.url);
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'] as const;
/** webinfer's own WebAssembly engine, in its four builds (scripts/build-engine.sh). */
const ENGINE_FILES = ['engine-st.wasm', 'engine-st-rx.wasm', 'engine-mt.wasm', 'engine-mt-rx.wasm'] as const;

/** Headers that make a page cross-origin isolated (needed for WASM threads). */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'cross-origin',
};

/**
 * Library build only: the worker imports the WASM binaries with `?url`. In lib mode Vite
 * would inline them as base64; instead emit them as real files next to the worker chunk and
 * turn each import into `new URL('./file.wasm', import.meta.url).href` *after* Vite's own
 * asset handling, so a consumer's bundler sees the standard pattern and copies the files.
 */
function wasmAssets(): Plugin {
  const PREFIX = '\0webinfer-wasm:';
  return {
    name: 'webinfer:wasm-assets',
    enforce: 'pre',
    resolveId(source) {
      const m = /tfjs-backend-wasm\/dist\/(tfjs-backend-wasm[a-z-]*\.wasm)\?url$/.exec(source) ?? /(?:^|\/)wasm\/(engine-[a-z-]+\.wasm)\?url$/.exec(source);
      return m ? PREFIX + m[1] : null;
    },
    load(id) {
      if (!id.startsWith(PREFIX)) return null;
      const file = id.slice(PREFIX.length);
      return `export default __WEBINFER_WASM_URL__(${JSON.stringify(file)});`;
    },
    generateBundle() {
      for (const file of WASM_FILES) {
        const source = readFileSync(require.resolve(`@tensorflow/tfjs-backend-wasm/dist/${file}`));
        this.emitFile({ type: 'asset', fileName: `assets/${file}`, source });
      }
      const glue = readFileSync(require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js'), 'utf8');
      this.emitFile({ type: 'asset', fileName: `assets/${THREAD_SCRIPT}`, source: threadScript(glue) });
      for (const file of ENGINE_FILES) {
        this.emitFile({ type: 'asset', fileName: `assets/${file}`, source: readFileSync(resolve(import.meta.dirname, 'workers/engine/wasm', file)) });
      }
    },
    renderChunk(code) {
      if (!code.includes('__WEBINFER_WASM_URL__')) return null;
      const out = code.replace(/__WEBINFER_WASM_URL__\(("[^"]+")\)/g, (_m, file: string) => `new URL(${JSON.stringify('./' + JSON.parse(file))}, import.meta.url).href`);
      return { code: out, map: null };
    },
  };
}

/**
 * Library build only: Vite writes the worker reference as `new URL(/* @vite-ignore *\/ "/assets/x.js", "" + import.meta.url)`,
 * which a consumer's bundler ignores. Rewrite it to the standard
 * `new URL("./assets/x.js", import.meta.url)` so the consumer's bundler picks up the worker chunk.
 */
function canonicalWorkerUrl(): Plugin {
  return {
    name: 'webinfer:canonical-worker-url',
    enforce: 'post',
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk' || !chunk.code.includes('runtime.worker')) continue;
        // Either `new URL(/* @vite-ignore */ "/assets/x.js", "" + import.meta.url)` or, with base './',
        // `new URL(/* @vite-ignore */ new URL("./assets/x.js", import.meta.url).href, "" + import.meta.url)`.
        chunk.code = chunk.code.replace(
          /new URL\(\s*\/\*\s*@vite-ignore\s*\*\/\s*(?:new URL\(\s*)?(["'`])(?:\.?\/)?(assets\/runtime\.worker-[\w-]+\.js)\1\s*(?:,\s*import\.meta\.url\s*\)\.href)?\s*,\s*""\s*\+\s*import\.meta\.url\s*\)/g,
          (_m, _q, file: string) => `new URL("./${file}", import.meta.url)`,
        );
        if (!/new Worker\(new URL\("\.\/assets\/runtime\.worker-[\w-]+\.js", import\.meta\.url\)/.test(chunk.code)) this.error('could not rewrite the worker URL to the canonical form');
      }
    },
  };
}

/**
 * Library build only: removes the previous library output (entries, chunks, worker, .wasm) from
 * `dist/` before writing, and keeps `dist/types`, which `tsc -p tsconfig.build.json` writes. Vite's
 * `emptyOutDir` would delete the declarations whenever `vite build` runs alone (the bench does).
 */
function cleanLibOutput(outDir: string): Plugin {
  const KEEP = new Set(['types']);
  return {
    name: 'webinfer:clean-lib-output',
    apply: 'build',
    buildStart() {
      if (!existsSync(outDir)) return;
      for (const entry of readdirSync(outDir)) if (!KEEP.has(entry)) rmSync(resolve(outDir, entry), { recursive: true, force: true });
    },
  };
}

/**
 * Library build, worker bundle: Vite writes the engine's nested thread worker as
 * `new URL(/* @vite-ignore *\/ new URL("thread-x.js", import.meta.url).href, "" + import.meta.url)`;
 * rewrite it to the standard `new URL("./thread-x.js", import.meta.url)`, which a consumer's
 * bundler recognises and re-emits (as it does for the worker chunk itself).
 */
function canonicalNestedWorkerUrl(): Plugin {
  return {
    name: 'webinfer:canonical-nested-worker-url',
    enforce: 'post',
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk' || !/new Worker\(/.test(chunk.code) || !/thread-[\w-]+\.js/.test(chunk.code)) continue;
        chunk.code = chunk.code.replace(
          /new URL\(\s*\/\*\s*@vite-ignore\s*\*\/\s*new URL\(\s*(["'`])(?:\.\/)?(thread-[\w-]+\.js)\1\s*,\s*import\.meta\.url\s*\)\.href\s*,\s*(["'`])\3\s*\+\s*import\.meta\.url\s*\)/g,
          (_m, _q, file: string) => `new URL("./${file}", import.meta.url)`,
        );
        // A consumer's Vite reads the options' `type` only as a plain string literal (not a template literal).
        chunk.code = chunk.code.replace(/(new Worker\(new URL\("\.\/thread-[\w-]+\.js", import\.meta\.url\),\s*\{\s*type:\s*)`module`(,\s*name:\s*)`([\w-]+)`/g, '$1"module"$2"$3"');
        if (!/new Worker\(new URL\("\.\/thread-[\w-]+\.js", import\.meta\.url\),\s*\{\s*type:\s*"module"/.test(chunk.code)) this.error('could not rewrite the engine thread worker options to string literals');
        if (!/new Worker\(new URL\("\.\/thread-[\w-]+\.js", import\.meta\.url\)/.test(chunk.code)) this.error('could not rewrite the engine thread URL to the canonical form');
      }
    },
  };
}

/**
 * Two source patches of tfjs-wasm 4.22's threaded-SIMD Emscripten glue (checked at build time:
 * the build fails if the glue changed, so a tfjs upgrade cannot silently undo them).
 *
 * 1. tfjs starts each WASM thread from the source text of its threaded factory
 *    (`wasmFactoryThreadedSimd.toString()`), so that function must not depend on its closure.
 *    Emscripten's glue has `if(typeof _scriptDir !== "undefined" && _scriptDir){…}` on a closure
 *    variable; a minifier (ours, or the app's that re-bundles our worker chunk) rewrites it to
 *    `e!==void 0&&e` → ReferenceError in every pthread. In a worker `_scriptDir` is always
 *    undefined and webinfer passes every .wasm path explicitly, so the statement is dropped.
 * 2. The C++ side sizes XNNPACK's pool as `min(setThreadsCount, navigator.hardwareConcurrency / 2)`
 *    (it assumes two hyper-threads per core, tfjs#8513), so on a 2-core machine every threaded run
 *    used ONE thread whatever the app asked. The glue's `emscripten_num_logical_cores` is the only
 *    source of that number: it now reports twice the logical cores, so the cap becomes
 *    `hardwareConcurrency` (and tfjs's own ceiling of 8, the size of its pre-spawned pool).
 *    `setThreadsCount` / webinfer's `wasmThreads` are then honoured.
 */
export function tfjsThreadedGluePatches(): Plugin {
  const SCRIPT_DIR = 'if(typeof _scriptDir !== "undefined" && _scriptDir){scriptDirectory=_scriptDir}';
  const CORES = 'return navigator["hardwareConcurrency"]}';
  return {
    name: 'webinfer:tfjs-threaded-glue',
    transform(code, id) {
      if (!/tfjs-backend-wasm[\\/]wasm-out[\\/]tfjs-backend-wasm-threaded-simd\.js$/.test(id)) return null;
      if (!code.includes(SCRIPT_DIR)) this.error('the tfjs threaded-SIMD glue changed: re-check the _scriptDir patch');
      if (code.split(CORES).length !== 2) this.error('the tfjs threaded-SIMD glue changed: re-check the logical-cores patch');
      return { code: code.replace(SCRIPT_DIR, '').replace(CORES, 'return 2*navigator["hardwareConcurrency"]}'), map: null };
    },
  };
}

/**
 * Library build, worker bundle: the tfjs WASM glue without Node branches, its threads started from a real
 * file (emitted by `wasmAssets` as `assets/tfjs-backend-wasm-threaded-simd.js`), a failed thread start
 * reported instead of thrown. See scripts/tfjs-glue.ts.
 */
function tfjsWasmGlue(): Plugin {
  return {
    name: 'webinfer:tfjs-wasm-glue',
    enforce: 'pre',
    transform(code, id) {
      const file = /tfjs-backend-wasm[\\/]wasm-out[\\/](tfjs-backend-wasm(?:-threaded-simd)?(?:\.worker)?\.js)$/.exec(id.split('?')[0] ?? '')?.[1];
      if (!file) return null;
      if (file === 'tfjs-backend-wasm-threaded-simd.js') return { code: threadedModule(code, `__WEBINFER_WASM_URL__(${JSON.stringify(THREAD_SCRIPT)})`), map: null };
      if (file === 'tfjs-backend-wasm.js') return { code: plainModule(code), map: null };
      if (file === 'tfjs-backend-wasm-threaded-simd.worker.js') return { code: workerContentsModule(code), map: null };
      return null;
    },
  };
}

/**
 * Library build, worker bundle: tfjs's own environment probes (`typeof process`, `typeof global`,
 * `process.hrtime()` in its Node platform) see `undefined`, so no free Node global is left in the worker
 * chunk for a consumer's bundler to rewrite or polyfill (scripts/tfjs-glue.ts `withoutNodeGlobals`).
 */
function tfjsNodeGlobals(): Plugin {
  return {
    name: 'webinfer:tfjs-node-globals',
    transform(code, id) {
      if (!/[\\/]node_modules[\\/]@tensorflow[\\/].*\.js$/.test(id.split('?')[0] ?? '') || /[\\/]wasm-out[\\/]/.test(id)) return null;
      if (!/\b(process|global|require|__filename|__dirname|Buffer)\b/.test(code)) return null;
      return { code: withoutNodeGlobals(code), map: null };
    },
  };
}

/**
 * Library build, worker bundle (after minification): every asset reference as `new URL("./file", import.meta.url)`
 * with a plain string. The minifier writes template literals (`new URL(\`./x.wasm\`, import.meta.url)`), which
 * not every consumer's bundler recognises as an asset reference.
 */
function plainAssetUrls(): Plugin {
  return {
    name: 'webinfer:plain-asset-urls',
    enforce: 'post',
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        chunk.code = chunk.code.replace(/new URL\(`(\.\/[\w.-]+)`,\s*import\.meta\.url\)/g, (_m, file: string) => `new URL(${JSON.stringify(file)}, import.meta.url)`);
      }
    },
  };
}

export default defineConfig(({ command, mode }) => {
  if (command === 'build' && mode === 'production') {
    return {
      build: {
        outDir: 'dist',
        // Not emptied by Vite: `cleanLibOutput` removes the previous library build and keeps
        // `dist/types` (tsc's declarations), so `vite build` alone (the bench) leaves a whole package.
        emptyOutDir: false,
        target: 'es2022',
        sourcemap: true,
        minify: false,
        lib: {
          entry: { index: resolve(import.meta.dirname, 'src/index.ts'), protocol: resolve(import.meta.dirname, 'src/shared/registry/index.ts') },
          formats: ['es'],
          fileName: (_format, name) => `${name}.js`,
        },
        rollupOptions: { external: ['comlink', 'valibot'], output: { chunkFileNames: 'chunks/[name]-[hash].js' } },
      },
      base: './',
      plugins: [cleanLibOutput(resolve(import.meta.dirname, 'dist')), canonicalWorkerUrl()],
      worker: {
        format: 'es',
        plugins: () => [wasmAssets(), tfjsWasmGlue(), tfjsNodeGlobals(), canonicalNestedWorkerUrl(), plainAssetUrls()],
        rollupOptions: { output: { entryFileNames: 'assets/[name]-[hash].js', chunkFileNames: 'assets/[name]-[hash].js', minify: true, sourcemap: false } },
      },
    };
  }
  if (mode === 'bench') {
    // The benchmark page (bench/pages), a minified production build like an app's. tfjs on the
    // page and in the baseline workers gets the same glue patches as webinfer's worker.
    return {
      root: resolve(import.meta.dirname, 'bench/pages'),
      base: './',
      build: { outDir: resolve(import.meta.dirname, '.tmp/bench-dist'), emptyOutDir: true, target: 'es2022', sourcemap: false },
      plugins: [tfjsThreadedGluePatches()],
      worker: { format: 'es', plugins: () => [tfjsThreadedGluePatches()] },
    };
  }
  if (mode === 'harness') {
    // The e2e harness page, built from source (dev-like, but static so tests start fast).
    return {
      root: resolve(import.meta.dirname, 'test/e2e/pages'),
      base: './',
      build: { outDir: resolve(import.meta.dirname, 'test/.harness-dist'), emptyOutDir: true, target: 'es2022', sourcemap: true },
      worker: { format: 'es', plugins: () => [tfjsThreadedGluePatches()] },
    };
  }
  // Dev server: the demo, cross-origin isolated.
  return {
    root: resolve(import.meta.dirname, 'demo'),
    // Pre-bundle the worker's dependencies up front, so the first load does not trigger a re-optimisation reload.
    optimizeDeps: {
      include: [
        'comlink',
        'valibot',
        '@tensorflow/tfjs-core',
        '@tensorflow/tfjs-backend-cpu',
        '@tensorflow/tfjs-backend-wasm',
        '@tensorflow/tfjs-backend-webgpu',
        '@tensorflow/tfjs-layers',
        '@tensorflow/tfjs-converter',
      ],
    },
    server: { headers: ISOLATION_HEADERS, port: 5173, fs: { allow: [import.meta.dirname] } },
    preview: { headers: ISOLATION_HEADERS },
    worker: { format: 'es', plugins: () => [tfjsThreadedGluePatches()] },
    build: { outDir: resolve(import.meta.dirname, 'dist-demo'), target: 'es2022' },
  };
});
