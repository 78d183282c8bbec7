/**
 * The worker's API over comlink: every method of `WorkerApi`, each wrapped by `guarded` so
 * that whatever it throws leaves as a `SerializedError` (comlink can clone it; the main thread
 * rebuilds our own class from it). Nothing else lives here: the work is the runtime's.
 */
import * as Comlink from 'comlink';
import { serializeError } from '../src/shared/errors/serialize.js';
import type { WorkerApi } from '../src/shared/wire.js';
import type { Runtime } from './runtime.js';

/** Wraps an async method: a rejection becomes a SerializedError. */
function guarded<A extends unknown[], R>(fn: (...args: A) => Promise<R> | R): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await fn(...args);
    } catch (e) {
      throw serializeError(e);
    }
  };
}

/** Releases a comlink proxy the main thread passed in (progress, chunk and backend sinks) once it is no longer needed. */
export function releaseProxy(proxy: unknown): void {
  if (typeof proxy === 'function' || (typeof proxy === 'object' && proxy !== null)) {
    (proxy as { [Comlink.releaseProxy]?: () => void })[Comlink.releaseProxy]?.();
  }
}

export interface ApiHooks {
  /** Test hook (`debug` only): makes the worker crash. */
  readonly crash: (mode: 'throw' | 'close') => void;
}

/**
 * The API object the worker entry exposes.
 *
 * @example
 * Comlink.expose(createWorkerApi(new Runtime({ wasmPaths: DEFAULT_WASM_PATHS }), { crash }));
 */
export function createWorkerApi(runtime: Runtime, hooks: ApiHooks): WorkerApi {
  return {
    init: guarded((req, onBackend) => runtime.init(req, onBackend)),
    load: guarded(async (req, onProgress) => {
      try {
        return await runtime.load(req, onProgress);
      } finally {
        releaseProxy(onProgress);
      }
    }),
    call: guarded(async (req, sink) => {
      try {
        return await runtime.call(req, sink);
      } finally {
        releaseProxy(sink);
      }
    }),
    abort: (callId) => runtime.abort(callId),
    unload: guarded((handle) => runtime.unload(handle)),
    memory: guarded(() => runtime.memory()),
    backend: guarded(() => runtime.backend()),
    ping: async () => 'pong',
    debugCrash: (mode) => {
      if (runtime.config?.debug) hooks.crash(mode);
    },
    debugBatchStats: guarded(() => runtime.batchStats()),
    debugLoseDevice: guarded((when) => runtime.loseDevice(when)),
  };
}
