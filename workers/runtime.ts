/**
 * The worker runtime: init (backend session, loader, store), load (reference → verified files
 * → a model of its task), and call (one operation of a loaded model, dispatched through the
 * task table). It knows no task by name: every task is a row of `tasks/index.ts`.
 *
 * It runs anywhere tfjs does: the worker entry (`runtime.worker.ts`) exposes it over comlink,
 * and the unit tests drive it in Node on tfjs's CPU backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { throwIfAborted } from '../src/shared/abort.js';
import { WebInferError } from '../src/shared/errors/base.js';
import { serializeError } from '../src/shared/errors/serialize.js';
import { TaskMismatchError } from '../src/shared/errors/task-mismatch.js';
import { TASKS } from '../src/shared/lists.js';
import type { BackendInfo, BatchStats, MemoryInfo, ModelInfo } from '../src/shared/types.js';
import type { BackendSink, CallRequest, CallResponse, ChunkSink, InitRequest, LoadRequest, OpName, ProgressSink } from '../src/shared/wire.js';
import { Calls } from './calls.js';
import { Engine, type EngineSources, type SpawnThread } from './engine/engine.js';
import { chooseDtype, storedDtype } from './dtype.js';
import { Loader } from './loader.js';
import { ModelTable } from './models.js';
import { BackendSession, type SelectBackend } from './session.js';
import { ModelStore } from './store.js';
import { TASK_TABLE } from './tasks/index.js';
import type { OpCall, RunStats, TaskEnv } from './tasks/task.js';

/** What the runtime is built from; tests replace parts of it. */
export interface RuntimeDeps {
  /** The tfjs WASM binaries' URLs, when the build provides them. */
  readonly wasmPaths?: InitRequest['wasmPaths'];
  readonly selectBackend?: SelectBackend;
  readonly createStore?: (cacheName: string) => ModelStore;
  /** The WebAssembly engine's binaries; without them, text models run on tfjs ops. */
  readonly engineSources?: EngineSources;
  /** Starts an engine helper thread (default: a module worker); Node tests pass worker_threads. */
  readonly spawnThread?: SpawnThread;
}

interface Started {
  readonly config: InitRequest;
  readonly session: BackendSession;
  readonly loader: Loader;
  readonly env: TaskEnv;
}

/** The size of tfjs's WASM heap, from the WASM backend's Emscripten module (0 when that backend is not running). */
function wasmHeapBytes(backend: unknown): number {
  if (typeof backend !== 'object' || backend === null || !('wasm' in backend)) return 0;
  const m = backend.wasm;
  return typeof m === 'object' && m !== null && 'HEAPU8' in m && m.HEAPU8 instanceof Uint8Array ? m.HEAPU8.byteLength : 0;
}

export class Runtime {
  readonly #deps: RuntimeDeps;
  readonly #models = new ModelTable();
  readonly #calls = new Calls();
  readonly #stats: RunStats = { messages: 0, batches: 0, images: 0, largest: 0, sizes: {} };
  #started: Started | undefined;
  /** The engine, once started (for memory()). */
  #engine: Engine | undefined;
  #starting: Promise<Started> | undefined;

  constructor(deps: RuntimeDeps = {}) {
    this.#deps = deps;
  }

  #require(): Started {
    if (!this.#started) throw new WebInferError('worker used before init()');
    return this.#started;
  }

  /** The options the worker was started with. */
  get config(): InitRequest | undefined {
    return this.#started?.config;
  }

  /**
   * Starts the backend session (once: later calls get the same backend). `onBackend` hears of
   * every later change of backend.
   *
   * @example
   * await runtime.init({ registry, backend: 'cpu', … }); // { name: 'cpu', reason: 'plain JavaScript CPU backend: …', … }
   */
  async init(req: InitRequest, onBackend?: BackendSink): Promise<BackendInfo> {
    this.#starting ??= (async () => {
      const session = await BackendSession.start(
        {
          select: {
            preference: req.backend,
            allowSoftwareWebGPU: req.allowSoftwareWebGPU,
            wasmPaths: { 'tfjs-backend-wasm.wasm': '', 'tfjs-backend-wasm-simd.wasm': '', 'tfjs-backend-wasm-threaded-simd.wasm': '', ...this.#deps.wasmPaths, ...req.wasmPaths },
            wasmThreads: req.wasmThreads,
          },
          ...(this.#deps.selectBackend ? { selectBackend: this.#deps.selectBackend } : {}),
          onChange: (info) => {
            if (onBackend) void Promise.resolve(onBackend(info)).catch(() => undefined);
          },
        },
        this.#models,
      );
      const store = this.#deps.createStore?.(req.cacheName) ?? new ModelStore(req.cacheName);
      const loader = new Loader(req.registry, { retries: req.retries, timeoutMs: req.requestTimeoutMs, minBytesPerSecond: req.minBytesPerSecond ?? 0, ...(req.token ? { token: req.token } : {}) }, store, req.trustKeys ?? []);
      const sources = this.#deps.engineSources;
      let engine: Promise<Engine> | undefined;
      const env: TaskEnv = {
        maxBatch: req.maxBatch,
        debug: req.debug,
        run: (fn) => session.run(fn),
        backend: () => session.info.name,
        stats: this.#stats,
        ...(sources
          ? {
              engine: () => {
                // One engine per worker, with the WASM backend's threads; a failed start is retried by the next load.
                engine ??= Engine.start({ sources, threads: Math.max(1, session.info.threadCount), ...(this.#deps.spawnThread ? { spawn: this.#deps.spawnThread } : {}) }).then(
                  (e) => (this.#engine = e),
                  (e: unknown) => {
                    engine = undefined;
                    throw e;
                  },
                );
                return engine;
              },
            }
          : {}),
      };
      const started = { config: req, session, loader, env };
      this.#started = started;
      return started;
    })();
    try {
      return (await this.#starting).session.info;
    } catch (e) {
      this.#starting = undefined;
      throw e;
    }
  }

  /** The backend in use now. */
  backend(): BackendInfo {
    return this.#require().session.info;
  }

  /**
   * Loads a model under `handle`: resolves the reference, checks task and format against the
   * task table, fetches its verified files (the dtype is chosen now that the backend is
   * settled), and builds it with its task's runtime.
   */
  load(req: LoadRequest, onProgress?: ProgressSink): Promise<ModelInfo> {
    const s = this.#require();
    return this.#calls.with(req.callId, async (signal) => {
      const progress: ProgressSink = (p) => {
        if (onProgress) void Promise.resolve(onProgress(p)).catch(() => undefined);
      };
      const { manifest, offline, integrity } = await s.loader.resolve(req.ref, signal, { integrity: req.integrity });
      const where = `"${manifest.id}@${manifest.version}"`;
      if (req.task !== undefined && manifest.task !== req.task) {
        throw new TaskMismatchError(`${where} is a ${manifest.task} model, not ${req.task}`, { model: manifest.id, expected: req.task, actual: manifest.task });
      }
      const row = TASK_TABLE[manifest.task];
      if (!row) {
        throw new TaskMismatchError(`${where} is a ${manifest.task} model, which this version of webinfer cannot run (supported: ${TASKS.join(', ')})`, {
          model: manifest.id,
          expected: TASKS.join('|'),
          actual: manifest.task,
        });
      }
      if (!row.formats.includes(manifest.format)) {
        throw new TaskMismatchError(`${where} is a ${manifest.task} model in format ${manifest.format}; ${manifest.task} runs ${row.formats.join(', ')}`, {
          model: manifest.id,
          expected: `${manifest.task} (${row.formats.join('|')})`,
          actual: manifest.task,
        });
      }
      const dtype = chooseDtype(manifest, req.dtype ?? 'auto', s.session.info.name);
      const files = await s.loader.fetchFiles(manifest, offline, dtype.dtype, signal, progress);
      // A model published already quantized sits under `float32`: report what its weights really are.
      const variant = manifest.variants[files.dtype];
      const entry = variant && manifest.format.startsWith('tfjs-') ? files.files.get(variant.entry) : undefined;
      let stored: ReturnType<typeof storedDtype>;
      try {
        stored = entry ? storedDtype(JSON.parse(new TextDecoder().decode(entry))) : undefined;
      } catch {
        stored = undefined;
      }
      const loadedDtype = stored ?? files.dtype;
      throwIfAborted(signal, 'load');
      const mounted = await row.mount(files, s.env);
      if (signal.aborted) {
        mounted.dispose();
        throwIfAborted(signal, 'load');
      }
      const info: ModelInfo = {
        id: manifest.id,
        version: manifest.version,
        integrity,
        task: manifest.task,
        format: manifest.format,
        labels: manifest.labels ?? [],
        ...(manifest.description !== undefined ? { description: manifest.description } : {}),
        ...(manifest.license !== undefined ? { license: manifest.license } : {}),
        dtype: loadedDtype,
        dtypeReason: loadedDtype === files.dtype ? dtype.reason : `${dtype.reason}; the ${files.dtype} variant's weights are stored as ${loadedDtype}`,
        bytes: files.bytes,
        downloadedBytes: files.downloadedBytes,
        offline: files.offline,
        cached: files.cached,
        warnings: files.warnings,
        backend: s.session.info.name,
        ...mounted.describe(),
      };
      this.#models.set(req.handle, { info, files, mounted });
      return info;
    });
  }

  /**
   * Runs the calls of one message: the model's operation `req.op` (from its task's row), each
   * call with its own abortable signal and its own outcome. Errors in outcomes leave as
   * SerializedError, so every call's error crosses the boundary as our class.
   */
  async call<K extends OpName>(req: CallRequest<K>, sink?: ChunkSink<K>): Promise<CallResponse<K>> {
    this.#require();
    const model = this.#models.get(req.handle);
    const op = model.mounted.ops[req.op];
    if (!op) {
      const task = req.op.slice(0, req.op.indexOf('.'));
      throw new TaskMismatchError(`"${model.info.id}" is a ${model.info.task} model: it has no operation ${req.op}`, { model: model.info.id, expected: task, actual: model.info.task });
    }
    const calls: OpCall<K>[] = req.items.map((item) => ({ callId: item.callId, input: item.input, signal: this.#calls.begin(item.callId) }));
    try {
      const outcomes = await op(calls, { more: req.more, sink });
      return { op: req.op, outcomes: outcomes.map((o) => (o.ok ? o : { ok: false, error: serializeError(o.error) })) };
    } finally {
      req.items.forEach((item) => this.#calls.end(item.callId));
    }
  }

  /** Aborts the call `callId` (a load, or one call of a message), if it is running. */
  abort(callId: number): void {
    this.#calls.abort(callId);
  }

  /** Frees the model `handle` (its calls waiting in a queue fail with ModelDisposedError). */
  unload(handle: number): void {
    this.#models.delete(handle);
  }

  /** tfjs's tensors and bytes, the engine's and tfjs's WASM heaps, and the number of models. */
  memory(): MemoryInfo {
    const mem = tf.memory();
    const engine = this.#engine;
    // Only a backend already initialised: `tf.findBackend` would start one (and make tfjs refuse every op while it starts).
    const tfjsHeapBytes = wasmHeapBytes(tf.engine().registry['wasm']);
    return {
      numTensors: mem.numTensors,
      numBytes: mem.numBytes,
      models: this.#models.size,
      engineBytes: engine?.bytesInUse ?? 0,
      engineHeapBytes: engine?.heapBytes ?? 0,
      tfjsHeapBytes,
    };
  }

  /** Micro-batching counters since start (test hook: undefined unless `debug`). */
  batchStats(): BatchStats | undefined {
    if (!this.#started?.config.debug) return undefined;
    return { ...this.#stats, sizes: { ...this.#stats.sizes } };
  }

  /** Test hook (`debug` only): destroys the WebGPU device now or during the next model run. */
  loseDevice(when: 'now' | 'during-next-run'): boolean {
    const s = this.#started;
    if (!s?.config.debug) return false;
    return s.session.loseDevice(when);
  }
}
