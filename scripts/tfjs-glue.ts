/**
 * The tfjs-wasm 4.22 Emscripten glue, made safe to re-bundle (issue 11). Used by the library build
 * (vite.config.ts `tfjsWasmGlue`) and checked by test/unit/tfjs-glue.test.ts.
 *
 * What a consumer's bundler tripped on, and what is done about it:
 * - Node branches (`typeof __filename`, `require("fs")`, `process.versions`, the UMD tail's `module` /
 *   `exports` / `define`): webpack rewrites `__filename`, Turbopack rewrites `process`. Every free Node
 *   global is replaced by `undefined` (esbuild `define`, which only touches free identifiers) and the branches
 *   it guarded fold away; the glue's `ENVIRONMENT_IS_NODE` test becomes `false`.
 * - The thread bootstrap: tfjs starts each WASM thread from `wasmFactoryThreadedSimd.toString()`, the source
 *   text of a function the consumer's bundler may have rewritten (`to is not defined` under Turbopack). Here
 *   the threaded glue also ships as a real file (`assets/tfjs-backend-wasm-threaded-simd.js`, a classic script
 *   defining `WasmBackendModuleThreadedSimd`), and the factory the worker bundle imports points the threads at
 *   that file (`mainScriptUrlOrBlob`) instead of the source text.
 * - A thread that fails to start: Emscripten's `worker.onerror` rethrows the ErrorEvent (the page saw
 *   `Uncaught [object ErrorEvent]`) and the start-up promise never settles. The glue now calls
 *   `Module.onPthreadError(event)` instead; the factory rejects with a readable Error, or after
 *   THREAD_START_TIMEOUT_MS, and workers/backend.ts falls back to single-threaded SIMD WASM.
 * - The two patches of the former `tfjsThreadedGluePatches` (the `_scriptDir` closure variable; XNNPACK's
 *   `hardwareConcurrency / 2` cap) are kept.
 */
import { transformSync } from 'esbuild';

/** The thread bootstrap file emitted next to the worker chunk. */
export const THREAD_SCRIPT = 'tfjs-backend-wasm-threaded-simd.js';
/** How long the threaded module may take to start (download, compile, every pthread loaded) before the worker gives up on threads. */
export const THREAD_START_TIMEOUT_MS = 20_000;
/** The global the threaded factory records its failure in (read by workers/backend.ts). */
export const THREAD_FAILURE_KEY = 'webinfer.wasmThreadFailure';

const NODE_GLOBALS = ['process', '__filename', '__dirname', 'require', 'module', 'exports', 'define', 'global', 'Buffer'] as const;
const DEFINE = Object.fromEntries(NODE_GLOBALS.map((g) => [g, 'undefined']));

const NODE_TEST = 'var ENVIRONMENT_IS_NODE=typeof process=="object"&&typeof process.versions=="object"&&typeof process.versions.node=="string";';
const SCRIPT_DIR = 'if(typeof _scriptDir !== "undefined" && _scriptDir){scriptDirectory=_scriptDir}';
const CORES = 'return navigator["hardwareConcurrency"]}';
const ONERROR = 'err(message+" "+e.filename+":"+e.lineno+": "+e.message);throw e};';
const UMD_TAIL = /\nif \(typeof exports === 'object' && typeof module === 'object'\)[\s\S]*$/;

function replaceOnce(code: string, from: string, to: string, what: string): string {
  const parts = code.split(from);
  if (parts.length !== 2) throw new Error(`the tfjs WASM glue changed: re-check the ${what} patch (found ${parts.length - 1} matches)`);
  return parts.join(to);
}

/** `ENVIRONMENT_IS_NODE` becomes the literal `false` everywhere, so the minifier drops every Node branch. */
function notNode(source: string): string {
  const code = replaceOnce(source, NODE_TEST, '', 'ENVIRONMENT_IS_NODE');
  if (/\bENVIRONMENT_IS_NODE\s*=[^=]/.test(code)) throw new Error('the tfjs WASM glue changed: ENVIRONMENT_IS_NODE is assigned');
  return code.replace(/\bENVIRONMENT_IS_NODE\b/g, 'false');
}

/** Removes the Node branches of an Emscripten glue (a script or a module body); no free Node global is left. */
function stripNode(code: string, minify: boolean): string {
  const out = transformSync(code, { define: DEFINE, minify, minifySyntax: true, target: 'es2020', charset: 'utf8', legalComments: 'none' });
  return out.code;
}

/** An ES module's code with every free Node global replaced by `undefined` (its Node-only branches fold away). */
export function withoutNodeGlobals(code: string): string {
  return transformSync(code, { define: DEFINE, format: 'esm', minifySyntax: true, target: 'es2022', charset: 'utf8', legalComments: 'none' }).code;
}

/** The threaded glue's source with webinfer's patches, before the Node globals are removed. */
function patchThreaded(source: string): string {
  let code = notNode(source);
  code = replaceOnce(code, SCRIPT_DIR, '', '_scriptDir');
  code = replaceOnce(code, CORES, 'return 2*navigator["hardwareConcurrency"]}', 'logical-cores');
  code = replaceOnce(code, ONERROR, 'err(message+" "+e.filename+":"+e.lineno+": "+e.message);if(Module["onPthreadError"]){if(e&&e.preventDefault)e.preventDefault();Module["onPthreadError"](e);return}throw e};', 'pthread onerror');
  if (!UMD_TAIL.test(code)) throw new Error('the tfjs WASM glue changed: re-check the UMD tail');
  return code.replace(UMD_TAIL, '\n');
}

/**
 * The thread bootstrap file: a classic script (the pthreads `importScripts` it) that defines the global
 * `WasmBackendModuleThreadedSimd`.
 */
export function threadScript(source: string): string {
  // The explicit global: a bundler that re-processes this file as a module (Parcel) would otherwise scope the
  // `var` and tree-shake it away.
  return `${stripNode(patchThreaded(source), true)}self.WasmBackendModuleThreadedSimd=WasmBackendModuleThreadedSimd;\n`;
}

/**
 * The threaded glue as the worker bundle imports it (replacing `wasm-out/tfjs-backend-wasm-threaded-simd.js`):
 * the same factory, wrapped so that its threads start from the file `threadScriptUrl` (an expression) and a
 * thread that fails to start rejects the start-up instead of throwing an ErrorEvent.
 */
export function threadedModule(source: string, threadScriptUrl: string): string {
  const glue = stripNode(patchThreaded(source), false);
  return `${glue}
const factory = WasmBackendModuleThreadedSimd;
export default function webinferThreadedSimd(config) {
  const failure = Symbol.for(${JSON.stringify(THREAD_FAILURE_KEY)});
  globalThis[failure] = undefined;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (reason) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      globalThis[failure] = reason;
      reject(new Error(reason));
    };
    const timer = setTimeout(() => fail("the WASM threads did not start within ${THREAD_START_TIMEOUT_MS / 1000} s"), ${THREAD_START_TIMEOUT_MS});
    // Absolute: the pthreads run from blob: URLs, where a root-relative URL (Next.js writes /_next/static/…) is invalid.
    config.mainScriptUrlOrBlob = new URL(${threadScriptUrl}, self.location.href).href;
    config.onPthreadError = (e) => {
      const where = e && e.filename ? " (" + e.filename + (e.lineno ? ":" + e.lineno : "") + ")" : "";
      fail("a WASM thread failed to start: " + ((e && e.message) || (e && e.type) || "error event") + where);
    };
    let started;
    try {
      started = factory(config);
    } catch (e) {
      fail("the threaded WASM module threw: " + (e && e.message ? e.message : String(e)));
      return;
    }
    started.then(
      (module) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(module);
      },
      (e) => fail("the threaded WASM module failed: " + (e && e.message ? e.message : String(e))),
    );
  });
}
`;
}

/** The single-threaded glue (plain and SIMD) without its Node branches, as an ES module. */
export function plainModule(source: string): string {
  let code = notNode(source);
  if (!UMD_TAIL.test(code)) throw new Error('the tfjs WASM glue changed: re-check the UMD tail');
  code = code.replace(UMD_TAIL, '\n');
  return `${stripNode(code, false)}\nexport default WasmBackendModule;\n`;
}

/** The pthread worker's source (a string tfjs turns into a Blob URL) without its Node branch. */
export function workerContentsModule(source: string): string {
  const START = 'var ENVIRONMENT_IS_NODE=typeof process=="object"&&typeof process.versions=="object"&&typeof process.versions.node=="string";if(ENVIRONMENT_IS_NODE){';
  const at = source.indexOf(START);
  if (at < 0 || source.indexOf(START, at + 1) >= 0) throw new Error('the tfjs WASM worker glue changed: re-check the ENVIRONMENT_IS_NODE patch');
  // The block ends at its matching brace (the block holds no braces inside strings).
  let depth = 1;
  let i = at + START.length;
  for (; i < source.length && depth > 0; i++) {
    if (source[i] === '{') depth++;
    else if (source[i] === '}') depth--;
  }
  let code = source.slice(0, at) + 'var ENVIRONMENT_IS_NODE=false;' + source.slice(i);
  // The remaining `if(ENVIRONMENT_IS_NODE){fs.writeSync(…)}` in threadPrintErr is dead; drop it too.
  code = code.replace('if(ENVIRONMENT_IS_NODE){fs.writeSync(2,text+"\\n");return}', '');
  const m = /^module\.exports\.wasmWorkerContents = (`[\s\S]*`);\s*$/.exec(code.trim());
  if (!m) throw new Error('the tfjs WASM worker glue changed: expected `module.exports.wasmWorkerContents = `…``');
  return `export const wasmWorkerContents = ${m[1]};\n`;
}

/** Free Node globals a bundler rewrites (for the bundle scan in the tests). */
export const NODE_GLOBAL_NAMES: readonly string[] = ['process', '__filename', '__dirname', 'require', 'module', 'exports', 'global', 'Buffer'];

/**
 * The free Node globals (NODE_GLOBAL_NAMES) a piece of JavaScript references, found by esbuild's
 * scope analysis: each name is `define`d to a marker, which esbuild substitutes for free references only
 * (never for a local binding, a property or a string).
 */
export function freeNodeGlobals(code: string): string[] {
  const names = NODE_GLOBAL_NAMES;
  const marker = (n: string): string => `__WEBINFER_FREE_${n}__`;
  const out = transformSync(code, { define: Object.fromEntries(names.map((n) => [n, marker(n)])), loader: 'js', charset: 'utf8', legalComments: 'none' }).code;
  return names.filter((n) => out.includes(marker(n)));
}
