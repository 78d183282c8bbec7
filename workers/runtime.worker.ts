/**
 * The inference worker: owns tfjs, the backend, the model store and every loaded
 * model. The main thread talks to it through comlink with the types of
 * `protocol.ts`; every error leaves as a `SerializedError` and is rebuilt on the
 * other side as our own class.
 */
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs-core';
import { AbortError } from '../src/shared/errors/abort.js';
import { ModelDisposedError } from '../src/shared/errors/model-disposed.js';
import { TaskMismatchError } from '../src/shared/errors/task-mismatch.js';
import { WebInferError } from '../src/shared/errors/base.js';
import { serializeError } from '../src/shared/errors/serialize.js';
import { checkTopK } from '../src/shared/image-limits.js';
import { selectBackend, webgpuDevice, type SelectOptions } from './backend.js';
import { decodeImage } from './decode.js';
import { Loader, type LoadedFiles } from './loader.js';
import { abortError } from './net.js';
import type { Outcome } from '../src/batching/coalesce.js';
import { BatchQueue } from './batch-queue.js';
import type { BackendInfo, ClassifyItem, ClassifyOutcome, ClassifyRequest, ClassifyResult, GenerateRequest, GenerateResult, GenerateSink, InitRequest, LoadProgress, LoadRequest, MemoryInfo, ModelInfo, Prediction, ProgressSink, WorkerApi } from '../src/shared/wire.js';
import { ModelStore } from './store.js';
import { createRunnable, type Runnable } from './runnable.js';
import { classifyImages, warmUpClassifier, type BatchImage } from './tasks/image-classification.js';
import { SUPPORTED_TASKS, TASK_TABLE } from './tasks/index.js';
import { firstLogits, generate as generateText } from './tasks/text-generation.js';
import { DEFAULT_WASM_PATHS } from './wasm-paths.js';
import { chooseDtype } from './dtype.js';

interface LoadedModel {
  readonly info: ModelInfo;
  files: LoadedFiles;
  runnable: Runnable;
}

interface State {
  config: InitRequest;
  backend: BackendInfo;
  loader: Loader;
}

let state: State | undefined;
let initializing: Promise<BackendInfo> | undefined;
const models = new Map<number, LoadedModel>();
const calls = new Map<number, AbortController>();
/** Set when the WebGPU device was lost; cleared once we run on another backend. */
let deviceLost: string | undefined;
let recovering: Promise<void> | undefined;
/** Test hook: destroy the WebGPU device in the middle of the next inference. */
let loseDeviceDuringNextRun = false;

/** Runs `fn`, turning whatever it throws into a SerializedError that comlink can clone. */
async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw serializeError(e);
  }
}

function requireState(): State {
  if (!state) throw new WebInferError('worker used before init()');
  return state;
}

function track(callId: number): AbortController {
  const c = new AbortController();
  calls.set(callId, c);
  return c;
}

/** The backend choice the client asked for. */
function selectOptions(config: InitRequest): SelectOptions {
  return {
    preference: config.backend,
    allowSoftwareWebGPU: config.allowSoftwareWebGPU,
    wasmPaths: { ...DEFAULT_WASM_PATHS, ...config.wasmPaths },
    wasmThreads: config.wasmThreads,
    onDeviceLost,
  };
}

async function init(req: InitRequest): Promise<BackendInfo> {
  if (state) return state.backend;
  initializing ??= (async () => {
    const backend = await selectBackend(selectOptions(req));
    const store = new ModelStore(req.cacheName);
    const loader = new Loader(req.registry, { retries: req.retries, timeoutMs: req.requestTimeoutMs, ...(req.token ? { token: req.token } : {}) }, store);
    state = { config: req, backend, loader };
    return backend;
  })();
  try {
    return await initializing;
  } catch (e) {
    initializing = undefined;
    throw e;
  }
}

function onDeviceLost(reason: string): void {
  deviceLost = reason;
  // Move off WebGPU right away, so the next call does not wait for it.
  void recover().catch(() => undefined);
}

/** After a lost WebGPU device: pick another backend (never WebGPU again) and rebuild every model on it. */
function recover(): Promise<void> {
  recovering ??= (async () => {
    const s = requireState();
    const reason = deviceLost ?? 'WebGPU failed';
    for (const m of models.values()) {
      try {
        m.runnable.dispose();
      } catch {
        /* the device is gone; its buffers with it */
      }
    }
    const next = await selectBackend(
      { ...selectOptions(s.config), preference: 'auto', allowSoftwareWebGPU: false, exclude: new Set(['webgpu']) },
      [...s.backend.fallbacks],
    );
    if (tf.findBackend('webgpu')) tf.removeBackend('webgpu');
    s.backend = { ...next, fallbacks: [...s.backend.fallbacks, { from: 'webgpu', to: next.name, reason }] };
    for (const m of models.values()) m.runnable = await createRunnable(m.files);
    deviceLost = undefined;
  })().finally(() => {
    recovering = undefined;
  });
  return recovering;
}

/** Runs one inference; if the WebGPU device is lost during it, moves to WASM and retries once. */
async function withRecovery<T>(fn: () => Promise<T>): Promise<T> {
  if (recovering) await recovering;
  if (deviceLost) await recover();
  const s = requireState();
  const switches = s.backend.fallbacks.length;
  try {
    return await fn();
  } catch (e) {
    if (s.backend.fallbacks.length === switches && s.backend.name !== 'webgpu') throw e;
    // The device's `lost` promise may settle just after the failing read: give it a moment.
    for (let i = 0; i < 10 && !deviceLost && !recovering && s.backend.fallbacks.length === switches; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (recovering) await recovering;
    else if (deviceLost) await recover();
    if (s.backend.fallbacks.length === switches) throw e; // not a lost device: a real error
    return await fn();
  }
}

async function load(req: LoadRequest, onProgress?: ProgressSink): Promise<ModelInfo> {
  const s = requireState();
  const controller = track(req.callId);
  try {
    const progress = (p: LoadProgress): void => {
      if (onProgress) void Promise.resolve(onProgress(p)).catch(() => undefined);
    };
    const { manifest, offline } = await s.loader.resolve(req.ref, controller.signal);
    const expected = req.task;
    if (expected !== undefined && manifest.task !== expected) {
      throw new TaskMismatchError(`"${manifest.id}@${manifest.version}" is a ${manifest.task} model, not ${expected}`, { model: manifest.id, expected, actual: manifest.task });
    }
    if (!SUPPORTED_TASKS.includes(manifest.task)) {
      throw new TaskMismatchError(`"${manifest.id}@${manifest.version}" is a ${manifest.task} model, which this version of webinfer cannot run (supported: ${SUPPORTED_TASKS.join(', ')})`, {
        model: manifest.id,
        expected: SUPPORTED_TASKS.join('|'),
        actual: manifest.task,
      });
    }
    const formats = TASK_TABLE[manifest.task]?.formats ?? [];
    if (!formats.includes(manifest.format)) {
      throw new TaskMismatchError(`"${manifest.id}@${manifest.version}" is a ${manifest.task} model in format ${manifest.format}; ${manifest.task} runs ${formats.join(', ')}`, {
        model: manifest.id,
        expected: `${manifest.task} (${formats.join('|')})`,
        actual: manifest.task,
      });
    }
    const dtype = chooseDtype(manifest, req.dtype ?? 'auto', s.backend.name);
    const files = await s.loader.fetchFiles(manifest, offline, dtype.dtype, controller.signal, progress);
    if (controller.signal.aborted) throw abortError(controller.signal);
    const runnable = await withRecovery(async () => {
      const r = await createRunnable(files);
      try {
        await warmUpClassifier(r, manifest);
      } catch (e) {
        r.dispose();
        throw e;
      }
      return r;
    });
    if (controller.signal.aborted) {
      runnable.dispose();
      throw abortError(controller.signal);
    }
    const info: ModelInfo = {
      id: manifest.id,
      version: manifest.version,
      task: manifest.task,
      format: manifest.format,
      labels: manifest.labels ?? [],
      ...(manifest.description !== undefined ? { description: manifest.description } : {}),
      ...(manifest.license !== undefined ? { license: manifest.license } : {}),
      dtype: files.dtype,
      dtypeReason: dtype.reason,
      bytes: files.bytes,
      downloadedBytes: files.downloadedBytes,
      offline: files.offline,
      cached: files.cached,
      warnings: files.warnings,
      backend: s.backend.name,
    };
    const old = models.get(req.handle);
    old?.runnable.dispose();
    models.set(req.handle, { info, files, runnable });
    return info;
  } finally {
    calls.delete(req.callId);
    if (onProgress) (onProgress as unknown as { [Comlink.releaseProxy]?: () => void })[Comlink.releaseProxy]?.();
  }
}

/** One classify() call, decoded and waiting for a run. */
interface ClassifyJob extends BatchImage {
  readonly signal: AbortSignal;
}

/** Per model handle: calls that arrive while it is busy wait here and run together. */
const queues = new Map<number, BatchQueue<ClassifyJob, Prediction[]>>();
const batchStats = { messages: 0, batches: 0, images: 0, largest: 0, sizes: {} as Record<number, number> };

async function classify(req: ClassifyRequest): Promise<ClassifyResult> {
  batchStats.messages++;
  const controllers = req.items.map((item) => track(item.callId));
  try {
    // Each call is checked and decoded on its own: a bad image fails only itself.
    const decoded = await Promise.allSettled(req.items.map((item, i) => decodeJob(item, controllers[i] as AbortController)));
    const jobs = decoded.flatMap((d) => (d.status === 'fulfilled' ? [d.value] : []));
    const maxBatch = requireState().config.maxBatch;
    const runs = maxBatch > 1 ? queueOf(req.handle, maxBatch).pushAll(jobs, req.more) : jobs.map((job) => runAlone(req.handle, job));
    let next = 0;
    const outcomes = await Promise.all(
      decoded.map(async (d, i): Promise<ClassifyOutcome> => {
        try {
          if (d.status === 'rejected') throw d.reason;
          const predictions = await (runs[next++] as Promise<Prediction[]>);
          const signal = (controllers[i] as AbortController).signal;
          if (signal.aborted) throw abortError(signal, 'classify');
          return { ok: true, value: predictions };
        } catch (e) {
          return { ok: false, error: serializeError(e) };
        }
      }),
    );
    return { outcomes, backend: requireState().backend.name };
  } finally {
    req.items.forEach((item) => calls.delete(item.callId));
  }
}

async function decodeJob(item: ClassifyItem, controller: AbortController): Promise<ClassifyJob> {
  const topK = checkTopK(item.topK);
  const pixels = await decodeImage(item.image);
  if (controller.signal.aborted) throw abortError(controller.signal, 'classify');
  return { pixels, topK, signal: controller.signal };
}

/** Batching off: the call runs at once, on its own. */
async function runAlone(handle: number, job: ClassifyJob): Promise<Prediction[]> {
  const [outcome] = await runJobs(handle, [job]);
  if (!outcome) throw new WebInferError('no outcome for the call');
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

function queueOf(handle: number, maxBatch: number): BatchQueue<ClassifyJob, Prediction[]> {
  let q = queues.get(handle);
  if (!q) {
    q = new BatchQueue((jobs) => runJobs(handle, jobs), {
      maxBatch,
      cancelled: (job) => (job.signal.aborted ? abortError(job.signal, 'classify') : undefined),
    });
    queues.set(handle, q);
  }
  return q;
}

/** Runs jobs as one batch on the model `handle` (retried once after a lost WebGPU device). */
function runJobs(handle: number, jobs: readonly ClassifyJob[]): Promise<Outcome<Prediction[]>[]> {
  return withRecovery(async () => {
    const model = models.get(handle);
    if (!model) throw new ModelDisposedError('this model was disposed (or never loaded in this worker)', { model: String(handle) });
    const { manifest } = model.files;
    if (manifest.task !== 'image-classification' || !manifest.preprocess) {
      throw new TaskMismatchError(`"${manifest.id}" is a ${manifest.task} model`, { model: manifest.id, expected: 'image-classification', actual: manifest.task });
    }
    batchStats.batches++;
    batchStats.images += jobs.length;
    batchStats.largest = Math.max(batchStats.largest, jobs.length);
    batchStats.sizes[jobs.length] = (batchStats.sizes[jobs.length] ?? 0) + 1;
    return classifyImages(model.runnable, manifest, jobs, () => {
      if (loseDeviceDuringNextRun) {
        loseDeviceDuringNextRun = false;
        webgpuDevice()?.destroy();
      }
    });
  });
}

async function generate(req: GenerateRequest, sink: GenerateSink): Promise<GenerateResult> {
  const controller = track(req.callId);
  try {
    await withRecovery(async () => undefined); // settle a pending WebGPU → WASM switch first
    const model = models.get(req.handle);
    if (!model) throw new ModelDisposedError('this model was disposed (or never loaded in this worker)', { model: String(req.handle) });
    const lm = model.runnable.textGeneration;
    if (!lm) {
      const { manifest } = model.files;
      throw new TaskMismatchError(`"${manifest.id}" is a ${manifest.task} model`, { model: manifest.id, expected: 'text-generation', actual: manifest.task });
    }
    return await generateText(lm, req.prompt, req.options, controller.signal, sink, () => requireState().backend.name);
  } finally {
    calls.delete(req.callId);
    (sink as unknown as { [Comlink.releaseProxy]?: () => void })[Comlink.releaseProxy]?.();
  }
}

const api: WorkerApi = {
  init: (req) => guarded(() => init(req)),
  load: (req, onProgress) => guarded(() => load(req, onProgress)),
  classify: (req) => guarded(() => classify(req)),
  generate: (req, sink) => guarded(() => generate(req, sink)),
  debugLogits: (handle, ids) =>
    guarded(async () => {
      const lm = models.get(handle)?.runnable.textGeneration;
      if (!state?.config.debug || !lm) return new Float32Array(0);
      const out = await firstLogits(lm, ids);
      return Comlink.transfer(out, [out.buffer]);
    }),
  abort(callId) {
    calls.get(callId)?.abort(new AbortError('aborted by the caller', { operation: 'call' }));
  },
  unload: (handle) =>
    guarded(async () => {
      const m = models.get(handle);
      models.delete(handle);
      queues.delete(handle);
      m?.runnable.dispose();
    }),
  memory: () =>
    guarded(async () => {
      const mem = tf.memory();
      const info: MemoryInfo = { numTensors: mem.numTensors, numBytes: mem.numBytes, models: models.size };
      return info;
    }),
  backend: () => guarded(async () => requireState().backend),
  ping: async () => 'pong',
  debugCrash(mode) {
    if (!state?.config.debug) return;
    if (mode === 'close') self.close();
    else
      setTimeout(() => {
        throw new Error('webinfer debug crash');
      }, 0);
  },
  debugBatchStats: async () => (state?.config.debug ? { ...batchStats, sizes: { ...batchStats.sizes } } : undefined),
  debugLoseDevice: (when) =>
    guarded(async () => {
      if (!state?.config.debug) return false;
      const device = webgpuDevice();
      if (!device) return false;
      if (when === 'during-next-run') loseDeviceDuringNextRun = true;
      else device.destroy();
      return true;
    }),
};

Comlink.expose(api);
