/**
 * The tfjs WASM glue as the library build ships it (scripts/tfjs-glue.ts, issue 11): no free Node global
 * left for a consumer's bundler to rewrite, the thread bootstrap a real classic script, and a failed thread
 * start reported to the factory instead of thrown.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { freeNodeGlobals, plainModule, THREAD_FAILURE_KEY, threadedModule, threadScript, withoutNodeGlobals, workerContentsModule } from '../../scripts/tfjs-glue.js';

const require = createRequire(import.meta.url);
const read = (f: string): string => readFileSync(require.resolve(`@tensorflow/tfjs-backend-wasm/wasm-out/${f}`), 'utf8');
const THREADED = read('tfjs-backend-wasm-threaded-simd.js');
const PLAIN = read('tfjs-backend-wasm.js');
const WORKER = read('tfjs-backend-wasm-threaded-simd.worker.js');

describe('freeNodeGlobals (the scan the package check runs on the worker chunk)', () => {
  it('finds the Node globals tfjs ships, and ignores locals, properties and strings', () => {
    expect(freeNodeGlobals(THREADED)).toEqual(['process', '__filename', '__dirname', 'require', 'module', 'exports', 'global']);
    expect(freeNodeGlobals('const x = typeof __filename; Buffer.from("a");')).toEqual(['__filename', 'Buffer']);
    expect(freeNodeGlobals('function f(process, require) { return process.env + require("x"); } const o = { global: 1 }; o.module = "process"; let exports = 2;')).toEqual([]);
  });
});

describe('the threaded glue', () => {
  it('ships as a classic script with no Node global that defines the factory the pthreads call', () => {
    const script = threadScript(THREADED);
    expect(freeNodeGlobals(script)).toEqual([]);
    expect(script).not.toMatch(/worker_threads|perf_hooks|"fs"/);
    const context: Record<string, unknown> = { navigator: { hardwareConcurrency: 2 } };
    context['self'] = context;
    vm.runInNewContext(script, context);
    expect(typeof context['WasmBackendModuleThreadedSimd']).toBe('function');
    // Also when a bundler wraps the file in a module scope (Parcel): the global is set explicitly.
    const wrapped: Record<string, unknown> = { navigator: { hardwareConcurrency: 2 } };
    wrapped['self'] = wrapped;
    vm.runInNewContext(`(function () { ${script} })();`, wrapped);
    expect(typeof wrapped['WasmBackendModuleThreadedSimd']).toBe('function');
    // The logical-cores patch: XNNPACK's cap becomes hardwareConcurrency (not half of it).
    expect(script).toMatch(/return 2\*navigator\.hardwareConcurrency/);
  });

  it('as bundled: starts its threads from the given file, reports a failed thread instead of throwing', () => {
    const mod = threadedModule(THREADED, 'THREAD_URL');
    expect(freeNodeGlobals(mod)).toEqual([]);
    expect(mod).toContain('config.mainScriptUrlOrBlob = new URL(THREAD_URL, self.location.href).href;');
    expect(mod).toMatch(/Module\.onPthreadError\) \{\s*e && e\.preventDefault && e\.preventDefault\(\), Module\.onPthreadError\(e\);\s*return;\s*\}\s*throw e;/);
    expect(mod).toContain(JSON.stringify(THREAD_FAILURE_KEY));
    expect(mod).toMatch(/export default function webinferThreadedSimd\(config\)/);
    // The factory no longer reads the closure variable a minifier renamed.
    expect(mod).not.toMatch(/scriptDirectory = _scriptDir/);
  });

  it('refuses a glue it does not know (a tfjs upgrade cannot silently undo a patch)', () => {
    expect(() => threadScript(THREADED.replace('throw e};', 'throw e ;};'))).toThrow(/pthread onerror patch/);
    expect(() => plainModule(PLAIN.replace('var ENVIRONMENT_IS_NODE=typeof process', 'var ENVIRONMENT_IS_NODE = typeof process'))).toThrow(/ENVIRONMENT_IS_NODE patch/);
  });
});

describe('the single-threaded glue and the pthread worker source', () => {
  it('have no Node global left', () => {
    const plain = plainModule(PLAIN);
    expect(freeNodeGlobals(plain)).toEqual([]);
    expect(plain).toMatch(/export default WasmBackendModule;/);
    const worker = workerContentsModule(WORKER);
    expect(freeNodeGlobals(worker)).toEqual([]);
    const source = /export const wasmWorkerContents = `([\s\S]*)`;/.exec(worker)?.[1] ?? '';
    expect(source.length).toBeGreaterThan(2000);
    // The string the pthreads run: no Node branch inside it either.
    expect(freeNodeGlobals(source.replace(/\\n/g, '\n'))).toEqual([]);
    expect(source).not.toMatch(/worker_threads|__filename/);
    expect(freeNodeGlobals(withoutNodeGlobals('export const isNode = typeof process !== "undefined" && process.versions.node;'))).toEqual([]);
  });
});
