import * as Comlink from 'comlink';
import { InvalidInputError } from './shared/errors/invalid-input.js';
import { ModelDisposedError } from './shared/errors/model-disposed.js';
import { TaskMismatchError } from './shared/errors/task-mismatch.js';
import { BACKEND_PREFERENCES, DTYPE_PREFERENCES, isOneOf, TASKS } from './shared/lists.js';
import { parseRef } from './shared/registry/refs.js';
import { PUBLIC_KEY_RE } from './shared/registry/patterns.js';
import { SharedWork } from './shared/shared-work.js';
import type { Classifier } from './handles/classifier.js';
import type { ModelContext } from './handles/context.js';
import { HANDLES } from './handles/index.js';
import { newCallId, WorkerHost } from './worker-host.js';
import { checkSignal, checkTimeout } from './options.js';
import type { AnyModel, BackendInfo, BatchStats, ClassifyOptions, ClientOptions, ImageInput, LoadOptions, MemoryInfo, ModelsByTask, Prediction, TaskName } from './types.js';
import type { InitRequest } from './shared/wire.js';

/**
 * A webinfer client: one inference worker, one registry, any number of models.
 *
 * @example
 * const client = createClient({ registry: 'https://models.example.com' });
 * const top = await client.classify('fashion-mnist-cnn', canvas); // [{ label: 'Sneaker', index: 7, score: 0.93 }, …]
 * client.backend; // { name: 'wasm', reason: 'WASM with SIMD, 2 threads (page is cross-origin isolated)', … }
 */
export interface WebInferClient {
  /** The registry base URL, absolute. */
  readonly registry: string;
  /** The backend in use, once the worker has started (see `ready()`); it changes after a fallback. */
  readonly backend: BackendInfo | undefined;
  /** Starts the worker and its backend; resolves to the backend chosen and why. */
  ready(options?: { signal?: AbortSignal }): Promise<BackendInfo>;
  /**
   * Loads a model: `id`, `id@alias` or `id@1.2.0`. Downloads once (verified, cached), then runs in the worker.
   * Pass `task` to get a typed handle; a model of another task fails with TaskMismatchError.
   */
  load<T extends TaskName>(ref: string, options: LoadOptions & { readonly task: T }): Promise<ModelsByTask[T]>;
  load(ref: string, options?: LoadOptions & { readonly task?: TaskName | undefined }): Promise<AnyModel>;
  /** Loads (once, then reuses) and classifies in one call. */
  classify(ref: string, image: ImageInput, options?: ClassifyOptions & Pick<LoadOptions, 'onProgress'>): Promise<Prediction[]>;
  /** Tensors and bytes held by tfjs in the worker. */
  memory(): Promise<MemoryInfo>;
  /** Frees every model and stops the worker. */
  dispose(): Promise<void>;
  /**
   * Test hooks; they do nothing unless the client was created with `debug: true`.
   * @internal Not in the published types (stripInternal): webinfer's own tests only.
   */
  readonly debug: {
    crashWorker(mode?: 'throw' | 'close'): void;
    loseWebGPUDevice(when?: 'now' | 'during-next-run'): Promise<boolean>;
    /**
     * The worker's micro-batching counters: classify messages received, model runs, images,
     * largest batch, runs by batch size. Undefined unless `debug: true`.
     *
     * @example
     * await Promise.all(images.map((img) => model.classify(img)));   // 64 images, one tick
     * await client.debug.batchStats(); // { messages: 1, batches: 1, images: 64, largest: 64, sizes: { 64: 1 } }
     */
    batchStats(): Promise<BatchStats | undefined>;
  };
}

function absoluteRegistry(registry: unknown): string {
  if (typeof registry !== 'string' || registry.length === 0) {
    throw new InvalidInputError('createClient() needs a registry URL', { reason: 'missing-registry', field: 'registry' });
  }
  let url: URL;
  try {
    url = new URL(registry, (globalThis as { location?: { href: string } }).location?.href);
  } catch (e) {
    throw new InvalidInputError(`invalid registry URL "${registry}"`, { reason: 'bad-registry', field: 'registry' }, { cause: e });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidInputError(`registry URL must be http(s), got "${url.protocol}"`, { reason: 'bad-registry', field: 'registry' });
  }
  return url.href.replace(/\/+$/, '');
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidInputError(`${name} must be a non-negative finite number, got ${String(value)}`, { reason: 'bad-option', field: name });
  }
  return value;
}

/** A Subresource-Integrity-style SHA-256: `sha256-` and 44 base64 characters. */
const INTEGRITY = /^sha256-[A-Za-z0-9+/]{43}=$/;

/** Default time limit of a whole load (ClientOptions.loadTimeoutMs). */
export const DEFAULT_LOAD_TIMEOUT_MS = 600_000;
/** Default throughput floor of a download (ClientOptions.minBytesPerSecond). */
export const DEFAULT_MIN_BYTES_PER_SECOND = 1024;

function trustOf(trust: ClientOptions['trust']): { trustKeys?: string[] } {
  if (trust === undefined) return {};
  const keys = (trust as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string' || !PUBLIC_KEY_RE.test(k))) {
    throw new InvalidInputError('trust.keys must be an array of registry keys, each "ed25519:" and the base64 of a 32-byte public key (webinfer-registry keys list)', { reason: 'bad-option', field: 'trust.keys' });
  }
  return keys.length > 0 ? { trustKeys: [...(keys as string[])] } : {};
}

/** Default largest batch of coalesced classify() calls. */
const DEFAULT_MAX_BATCH = 64;

function maxBatchOf(batching: ClientOptions['batching']): number {
  if (batching === undefined || batching === true) return DEFAULT_MAX_BATCH;
  if (batching === false) return 1;
  if (typeof batching !== 'object' || batching === null) {
    throw new InvalidInputError(`batching must be a boolean or { maxBatch }, got ${String(batching)}`, { reason: 'bad-option', field: 'batching' });
  }
  const max = batching.maxBatch ?? DEFAULT_MAX_BATCH;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
    throw new InvalidInputError(`batching.maxBatch must be a positive integer, got ${String(max)}`, { reason: 'bad-option', field: 'batching.maxBatch' });
  }
  return max;
}


/**
 * Creates a client. Nothing starts until the first call (or `ready()`).
 *
 * @example
 * const client = createClient({ registry: '/registry', backend: 'auto' });
 * const info = await client.ready();
 * console.log(info.name, info.reason); // 'wasm' 'WASM with SIMD, single-threaded: the page is not cross-origin isolated …'
 */
export function createClient(options: ClientOptions): WebInferClient {
  if (typeof options !== 'object' || options === null) throw new InvalidInputError('createClient() needs an options object', { reason: 'missing-options', field: 'options' });
  const registry = absoluteRegistry(options.registry);
  const backend = options.backend ?? 'auto';
  if (!isOneOf(BACKEND_PREFERENCES, backend)) throw new InvalidInputError(`backend must be ${BACKEND_PREFERENCES.join(', ')}; got "${String(backend)}"`, { reason: 'bad-option', field: 'backend' });
  const init: InitRequest = {
    registry,
    backend,
    allowSoftwareWebGPU: options.allowSoftwareWebGPU === true,
    wasmThreads: positive('wasmThreads', options.wasmThreads, 0),
    ...(options.wasmPaths ? { wasmPaths: { ...options.wasmPaths } } : {}),
    ...(options.token ? { token: options.token } : {}),
    cacheName: options.cacheName ?? 'webinfer-v1',
    retries: positive('retries', options.retries, 3),
    requestTimeoutMs: checkTimeout('requestTimeoutMs', options.requestTimeoutMs, { finite: true }) ?? 30_000,
    minBytesPerSecond: positive('minBytesPerSecond', options.minBytesPerSecond, DEFAULT_MIN_BYTES_PER_SECOND),
    ...trustOf(options.trust),
    maxBatch: maxBatchOf(options.batching),
    debug: options.debug === true,
  };
  const host = new WorkerHost({
    init,
    createWorker: options.createWorker ?? (() => new Worker(new URL('../workers/runtime.worker.ts', import.meta.url), { type: 'module', name: 'webinfer' })),
    unresponsiveTimeoutMs: checkTimeout('unresponsiveTimeoutMs', options.unresponsiveTimeoutMs, { finite: true }) ?? 30_000,
  });
  const loadTimeoutMs = checkTimeout('loadTimeoutMs', options.loadTimeoutMs) ?? DEFAULT_LOAD_TIMEOUT_MS;
  const handles = new Map<number, AnyModel>();
  /** `client.classify(ref, …)`: one load per reference, shared by every caller, each with its own signal. */
  const shared = new SharedWork<string, Classifier>({ keep: true });
  let nextHandle = 1;
  const ctx: ModelContext = {
    host,
    callTimeoutMs: checkTimeout('callTimeoutMs', options.callTimeoutMs) ?? 60_000,
    maxBatch: init.maxBatch,
    forget: (handle) => {
      handles.delete(handle);
    },
  };

  async function load(ref: string, opts: LoadOptions & { readonly task?: TaskName } = {}): Promise<AnyModel> {
    if (host.disposed) throw new ModelDisposedError('the webinfer client was disposed', { model: String(ref) });
    parseRef(ref); // bad references fail here, before any work
    if (opts.task !== undefined && !isOneOf(TASKS, opts.task)) {
      throw new InvalidInputError(`unknown task "${String(opts.task)}" (tasks: ${TASKS.join(', ')})`, { reason: 'bad-option', field: 'task' });
    }
    if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') {
      throw new InvalidInputError('onProgress must be a function', { reason: 'bad-option', field: 'onProgress' });
    }
    if (opts.dtype !== undefined && !isOneOf(DTYPE_PREFERENCES, opts.dtype)) {
      throw new InvalidInputError(`dtype must be ${DTYPE_PREFERENCES.join(', ')}; got "${String(opts.dtype)}"`, { reason: 'bad-option', field: 'dtype' });
    }
    if (opts.integrity !== undefined && (typeof opts.integrity !== 'string' || !INTEGRITY.test(opts.integrity))) {
      throw new InvalidInputError(`integrity must be "sha256-" and the base64 SHA-256 of the manifest, got ${JSON.stringify(opts.integrity)}`, { reason: 'bad-option', field: 'integrity' });
    }
    const signal = checkSignal('signal', opts.signal);
    const timeoutMs = checkTimeout('timeoutMs', opts.timeoutMs) ?? loadTimeoutMs;
    const handle = nextHandle++;
    const callId = newCallId();
    const progress = opts.onProgress ? Comlink.proxy(opts.onProgress) : undefined;
    const { info, generation } = await host.call(
      async (remote, _backend, gen) => ({
        info: await remote.load({ callId, handle, ref, ...(opts.task ? { task: opts.task } : {}), ...(opts.dtype ? { dtype: opts.dtype } : {}), ...(opts.integrity ? { integrity: opts.integrity } : {}) }, progress),
        generation: gen,
      }),
      { signal, timeoutMs, callId, operation: 'load' },
    );
    const Handle = HANDLES[info.task];
    const model = new Handle(ctx, handle, info, generation);
    handles.set(handle, model);
    return model;
  }

  const client: WebInferClient = {
    registry,
    get backend() {
      return host.backend;
    },
    ready: (o) => host.ready(o?.signal),
    load: load as WebInferClient['load'],
    async classify(ref, image, opts = {}) {
      checkSignal('signal', opts.signal);
      checkTimeout('timeoutMs', opts.timeoutMs);
      // One load per reference, shared: a caller's signal aborts only its own wait (the load
      // stops when every caller waiting for it gave up).
      const model = await shared.join(
        ref,
        async (signal) => {
          const m = await load(ref, { task: 'image-classification', signal, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
          if (m.task !== 'image-classification') throw new TaskMismatchError(`"${ref}" is a ${m.task} model`, { model: m.id, expected: 'image-classification', actual: m.task });
          return m;
        },
        opts.signal,
        'load',
      );
      return model.classify(image, opts);
    },
    memory: () => host.call((r) => r.memory(), { operation: 'memory', timeoutMs: 10_000 }),
    async dispose() {
      const all = [...handles.values()];
      await Promise.all(all.map((m) => m.dispose()));
      shared.clear();
      host.dispose();
    },
    debug: {
      crashWorker: (mode = 'throw') => {
        if (init.debug) host.crashForTest(mode);
      },
      loseWebGPUDevice: async (when = 'now') => (init.debug ? host.call((r) => r.debugLoseDevice(when), { operation: 'debug' }) : false),
      batchStats: async () => (init.debug ? host.call((r) => r.debugBatchStats(), { operation: 'debug' }) : undefined),
    },
  };
  return client;
}
