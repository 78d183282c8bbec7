/**
 * Type test: correct use of the whole public API (everything exported from src/index.ts)
 * must compile with zero diagnostics under the project's strict options. Values are
 * assigned to explicitly typed variables, or go through `expectType<T>()`, so that a
 * change of a public type breaks this file. Never executed; checked by
 * `npm run test:types` (scripts/type-tests.mjs) and `npm run typecheck`.
 */
import {
  AbortError,
  BackendUnavailableError,
  Classifier,
  IntegrityError,
  InvalidInputError,
  ManifestError,
  ModelDisposedError,
  ModelNotFoundError,
  QuotaExceededError,
  RegistryUnavailableError,
  TaskMismatchError,
  TextGenerator,
  TextClassifier,
  Embedder,
  TimeoutError,
  WebInferError,
  WorkerCrashedError,
  createClient,
  isWebInferError,
  parseRef,
} from '../../src/index.js';
import { ImageGenerator, drawImage, toImageData } from '../../src/index.js';
import type { GeneratedImage, GeneratedImages, GeneratorInfo, Interpolation } from '../../src/index.js';
import type {
  AdapterInfo,
  EmbedOptions,
  TextClassifyOptions,
  AnyWebInferError,
  AnyModel,
  BackendInfo,
  BackendName,
  BackendPreference,
  BatchingOptions,
  BatchStats,
  ClassifyOptions,
  ClientOptions,
  FinishReason,
  GenerateChunk,
  GenerateOptions,
  GenerateResult,
  GenerationStream,
  ImageInput,
  LoadOptions,
  LoadProgress,
  MemoryInfo,
  ModelInfo,
  ModelRef,
  ModelsByTask,
  Prediction,
  RawPixels,
  TaskName,
  WasmPaths,
  WebInferClient,
} from '../../src/index.js';

/** Compiles only if `value` is assignable to `T`. */
function expectType<T>(value: T): T {
  return value;
}
/** Compiles only if A and B are the same type (both directions). */
type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function expectTrue<T extends true>(_proof?: T): void {}

declare const imageElement: HTMLImageElement;
declare const canvasElement: HTMLCanvasElement;
declare const offscreen: OffscreenCanvas;
declare const file: File;

// --- type aliases ------------------------------------------------------------------------------
expectTrue<Equal<BackendName, 'webgpu' | 'wasm' | 'cpu'>>();
expectTrue<Equal<BackendPreference, 'auto' | 'webgpu' | 'wasm' | 'cpu'>>();
expectTrue<Equal<TaskName, 'image-classification' | 'text-generation' | 'image-generation' | 'text-classification' | 'feature-extraction'>>();
expectTrue<Equal<AnyModel, Classifier | TextGenerator | ImageGenerator | TextClassifier | Embedder>>();
expectTrue<Equal<ModelsByTask['image-generation'], ImageGenerator>>();
expectTrue<Equal<ModelsByTask['text-classification'], TextClassifier>>();
expectTrue<Equal<ModelsByTask['feature-extraction'], Embedder>>();
expectTrue<Equal<ModelsByTask['text-generation'], TextGenerator>>();
expectTrue<Equal<FinishReason, 'length' | 'stop' | 'eos' | 'abort'>>();
expectTrue<Equal<ModelsByTask['image-classification'], Classifier>>();
expectTrue<Equal<RawPixels['channels'], 1 | 3 | 4>>();
expectTrue<Equal<Prediction, { readonly label: string; readonly index: number; readonly score: number }>>();
expectTrue<Equal<Awaited<ReturnType<WebInferClient['classify']>>, Prediction[]>>();
expectTrue<Equal<WebInferClient['backend'], BackendInfo | undefined>>();

export async function main(): Promise<void> {
  // --- createClient, with only the required option and with every option ----------------------
  const minimal: WebInferClient = createClient({ registry: 'https://models.example.com' });
  const wasmPaths: Partial<WasmPaths> = { 'tfjs-backend-wasm-simd.wasm': 'https://cdn.example.com/simd.wasm' };
  const allOptions: ClientOptions = {
    registry: '/registry',
    backend: 'auto',
    allowSoftwareWebGPU: false,
    token: 'secret',
    wasmPaths,
    wasmThreads: 0,
    cacheName: 'webinfer-v1',
    retries: 3,
    requestTimeoutMs: 30_000,
    callTimeoutMs: 60_000,
    unresponsiveTimeoutMs: 30_000,
    createWorker: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }),
    batching: { maxBatch: 32 },
    debug: true,
  };
  const client = createClient(allOptions);
  const batching: BatchingOptions = { maxBatch: 64 };
  expectType<WebInferClient>(createClient({ registry: '/registry', batching }));
  expectType<WebInferClient>(createClient({ registry: '/registry', batching: false }));
  expectType<WebInferClient>(createClient({ registry: '/registry', batching: true }));
  expectType<WebInferClient>(createClient({ registry: '/registry', batching: {} }));
  for (const backend of ['auto', 'webgpu', 'wasm', 'cpu'] as const) {
    expectType<WebInferClient>(createClient({ registry: 'https://models.example.com', backend }));
  }
  const registry: string = client.registry;

  // --- ready() and the backend facts -----------------------------------------------------------
  const ac = new AbortController();
  const info: BackendInfo = await client.ready({ signal: ac.signal });
  await minimal.ready();
  const name: BackendName = info.name;
  const reason: string = info.reason;
  const simd: boolean = info.simd;
  const threads: boolean = info.threads;
  const threadCount: number = info.threadCount;
  const isolated: boolean = info.crossOriginIsolated;
  if (info.adapter !== undefined) {
    const vendor: string = info.adapter.vendor;
    const architecture: string = info.adapter.architecture;
    const device: string = info.adapter.device;
    const description: string = info.adapter.description;
    const software: boolean = info.adapter.isFallback;
    void [vendor, architecture, device, description, software];
  }
  for (const r of info.rejected) {
    const rejectedName: BackendName = r.name;
    const why: string = r.reason;
    void [rejectedName, why];
  }
  const selfTest: { ms: number; maxError: number } = info.selfTest;
  for (const f of info.fallbacks) expectType<{ from: BackendName; to: BackendName; reason: string }>(f);
  const current: BackendInfo | undefined = client.backend;
  const currentName: BackendName | undefined = client.backend?.name;
  if (client.backend) {
    switch (client.backend.name) {
      case 'webgpu':
      case 'wasm':
      case 'cpu':
        break;
      default: {
        const never: never = client.backend.name;
        void never;
      }
    }
  }
  void [registry, name, reason, simd, threads, threadCount, isolated, selfTest, current, currentName];

  // --- load(), with and without `task` -----------------------------------------------------------
  const progressEvents: LoadProgress[] = [];
  const loadOptions: LoadOptions = {
    onProgress: (p) => {
      const loaded: number = p.loaded;
      const total: number = p.total;
      const fileName: string = p.file;
      const source: 'network' | 'cache' = p.source;
      void [loaded, total, fileName, source];
      progressEvents.push(p);
    },
    signal: ac.signal,
    timeoutMs: 120_000,
  };
  const model: Classifier = await client.load('fashion-mnist-cnn@stable', { task: 'image-classification' });
  const typed: ModelsByTask['image-classification'] = await client.load('fashion-mnist-cnn@1.2.0', { ...loadOptions, task: 'image-classification' });
  const task: TaskName = 'image-classification';
  const viaVariable: Classifier = await client.load('fashion-mnist-cnn', { task, signal: ac.signal });
  const untyped: AnyModel = await client.load('fashion-mnist-cnn');
  const untypedWithOptions: AnyModel = await client.load('fashion-mnist-cnn', loadOptions);
  if (untyped.task === 'image-classification') {
    expectType<Classifier>(untyped);
  } else if (untyped.task === 'text-generation') {
    expectType<TextGenerator>(untyped);
  } else if (untyped.task === 'image-generation') {
    expectType<ImageGenerator>(untyped);
  } else if (untyped.task === 'text-classification') {
    expectType<TextClassifier>(untyped);
  } else {
    expectType<Embedder>(untyped);
  }

  // --- text classification and embeddings ------------------------------------------------------------
  const langid: TextClassifier = await client.load('langid-lstm@stable', { task: 'text-classification' });
  const textOptions: TextClassifyOptions = { topK: 3, signal: ac.signal, timeoutMs: 5_000 };
  const languages: Prediction[] = await langid.classify('Wo ist der Bahnhof?', textOptions);
  const langLabels: readonly string[] = langid.labels;
  const embedder: Embedder = await client.load('fashion-embed@stable', { task: 'feature-extraction' });
  const embedOptions: EmbedOptions = { normalize: true, signal: ac.signal, timeoutMs: 5_000, transfer: false };
  const rows: Float32Array[] = await embedder.embed([canvasElement, { data: new Uint8Array(784), width: 28, height: 28, channels: 1 }], embedOptions);
  void [languages, langLabels, rows];

  // --- text generation ---------------------------------------------------------------------------
  const lm: TextGenerator = await client.load('tiny-gpt@stable', { task: 'text-generation' });
  const genOptions: GenerateOptions = { maxTokens: 200, temperature: 0.8, topK: 40, topP: 0.95, seed: 7, stop: ['\n\n'], signal: ac.signal, timeoutMs: 60_000, streamTokens: 4, streamMs: 20 };
  const stream: GenerationStream = lm.generate('Once upon', genOptions);
  for await (const chunk of stream) {
    const chunkText: string = chunk.text;
    const tokenId: number = chunk.tokenId;
    expectType<GenerateChunk>(chunk);
    void [chunkText, tokenId];
  }
  const streamed: GenerateResult = await stream.result;
  const { text, tokens, finishReason } = await lm.generateText('Once upon', { temperature: 0 });
  const genText: string = text;
  const genTokens: readonly number[] = tokens;
  const why: 'length' | 'stop' | 'eos' | 'abort' = finishReason;
  const lmTask: 'text-generation' = lm.task;
  void [streamed, genText, genTokens, why, lmTask, await lm.generateText('x')];
  await lm.dispose();
  expectType<Promise<Classifier>>(client.load('m', { task: 'image-classification' }));
  expectType<Promise<AnyModel>>(client.load('m', {}));

  // --- the loaded model ----------------------------------------------------------------------------
  const modelTask: 'image-classification' = model.task;
  const id: string = model.id;
  const version: string = model.version;
  const labels: readonly string[] = model.labels;
  const modelInfo: ModelInfo = model.info;
  const bytes: number = modelInfo.bytes;
  const downloaded: number = modelInfo.downloadedBytes;
  const offline: boolean = modelInfo.offline;
  const cached: boolean = modelInfo.cached;
  const warnings: readonly string[] = modelInfo.warnings;
  const ranOn: BackendName = modelInfo.backend;
  const dtype: 'float32' | 'float16' | 'uint8' | 'int8' | 'int4' = modelInfo.dtype;
  const license: string | undefined = modelInfo.license;
  const runtime: string | undefined = modelInfo.runtime;
  const weightBytes: number | undefined = modelInfo.weightBytes;
  void [modelTask, id, version, labels, bytes, downloaded, offline, cached, warnings, ranOn, dtype, license, runtime, weightBytes];

  // --- classify() with every input type ------------------------------------------------------------
  const bitmap: ImageBitmap = await createImageBitmap(canvasElement);
  const imageData: ImageData = new ImageData(28, 28);
  const blob: Blob = new Blob([new Uint8Array(8)], { type: 'image/png' });
  const raw1: RawPixels = { data: new Uint8Array(28 * 28), width: 28, height: 28, channels: 1 };
  const raw3: RawPixels = { data: new Float32Array(4 * 4 * 3), width: 4, height: 4, channels: 3 };
  const raw4: RawPixels = { data: new Uint8ClampedArray(2 * 2 * 4), width: 2, height: 2, channels: 4 };
  const inputs: ImageInput[] = [bitmap, imageData, imageElement, canvasElement, offscreen, blob, file, raw1, raw3, raw4];

  const classifyOptions: ClassifyOptions = { topK: 3, signal: ac.signal, timeoutMs: 5_000, transfer: true };
  const fromBitmap: Prediction[] = await model.classify(bitmap, { transfer: true });
  const fromImageData: Prediction[] = await model.classify(imageData);
  const fromImg: Prediction[] = await model.classify(imageElement, { topK: 3 });
  const fromCanvas: Prediction[] = await typed.classify(canvasElement, classifyOptions);
  const fromOffscreen: Prediction[] = await viaVariable.classify(offscreen, {});
  const fromBlob: Prediction[] = await (untyped as Classifier).classify(blob);
  const fromFile: Prediction[] = await (untypedWithOptions.task === 'image-classification' ? untypedWithOptions.classify(file, { topK: 1 }) : Promise.resolve([]));
  const fromRaw: Prediction[] = await model.classify({ data: new Uint8Array(28 * 28), width: 28, height: 28, channels: 1 }, { topK: 1 });
  const fromRawFloat: Prediction[] = await model.classify({ data: new Float32Array(12), width: 2, height: 2, channels: 3 });
  for (const input of inputs) expectType<Prediction[]>(await model.classify(input));
  void [fromBitmap, fromImageData, fromImg, fromCanvas, fromOffscreen, fromBlob, fromFile, fromRaw, fromRawFloat];

  // client.classify: load once and classify in one call (ClassifyOptions plus onProgress).
  const oneShot: Prediction[] = await client.classify('fashion-mnist-cnn', canvasElement, {
    topK: 2,
    signal: ac.signal,
    timeoutMs: 1_000,
    transfer: false,
    onProgress: (p: LoadProgress) => void p.loaded,
  });

  // --- the result: Prediction[] ----------------------------------------------------------------------
  const top: Prediction[] = oneShot;
  const best = top[0]; // noUncheckedIndexedAccess: Prediction | undefined
  if (best !== undefined) {
    const label: string = best.label;
    const index: number = best.index;
    const score: number = best.score;
    const line: string = `${label} (#${index}): ${(score * 100).toFixed(1)} %`;
    void line;
  }
  const asPlain: { label: string; index: number; score: number }[] = top.map((p) => ({ ...p }));
  const asReadonly: ReadonlyArray<{ readonly label: string; readonly index: number; readonly score: number }> = top;
  const scores: number[] = top.map((p) => p.score);
  const byLabel: Record<string, number> = Object.fromEntries(top.map((p) => [p.label, p.score]));
  const [first, second] = top;
  const firstLabel: string | undefined = first?.label;
  const secondScore: number = second?.score ?? 0;
  void [asPlain, asReadonly, scores, byLabel, firstLabel, secondScore];

  // --- memory(), debug hooks -------------------------------------------------------------------------
  const memory: MemoryInfo = await client.memory();
  const tensors: number = memory.numTensors;
  const memBytes: number = memory.numBytes;
  const models: number = memory.models;
  const engineBytes: number = memory.engineBytes;
  const engineHeap: number = memory.engineHeapBytes;
  const tfjsHeap: number = memory.tfjsHeapBytes;
  void [tensors, memBytes, models, engineBytes, engineHeap, tfjsHeap];
  const q8 = await client.load('gpt2-124m', { task: 'text-generation', dtype: 'int8' });
  const q4 = await client.load('gpt2-124m', { task: 'text-generation', dtype: 'int4' });
  void [q8, q4];
  client.debug.crashWorker();
  client.debug.crashWorker('close');
  const lost: boolean = await client.debug.loseWebGPUDevice();
  void lost;
  const stats: BatchStats | undefined = await client.debug.batchStats();
  if (stats) {
    const counts: number[] = [stats.messages, stats.batches, stats.images, stats.largest, stats.sizes[64] ?? 0];
    void counts;
  }

  // --- parseRef ----------------------------------------------------------------------------------------
  const ref: ModelRef = parseRef('fashion-mnist-cnn@stable');
  const refId: string = ref.id;
  switch (ref.kind) {
    case 'default':
      break;
    case 'alias': {
      const alias: string = ref.alias;
      void alias;
      break;
    }
    case 'version': {
      const v: string = ref.version;
      void v;
      break;
    }
  }
  void refId;

  // --- errors: classes, typed fields, narrowing -------------------------------------------------------
  try {
    await client.load('nope');
  } catch (e: unknown) {
    if (isWebInferError(e)) {
      const err: WebInferError = e;
      const code: string = e.code;
      const errName: string = e.name;
      const message: string = e.message;
      const fields: Record<string, unknown> = e.fields;
      const cause: unknown = e.cause;
      void [err, code, errName, message, fields, cause];
      // The guard narrows to a union discriminated by `code` (and by `name`).
      if (e.code === 'INTEGRITY') {
        const narrowed: IntegrityError = e;
        const expected: string = e.expected;
        void [narrowed, expected];
      }
      if (e.name === 'TaskMismatchError') {
        const actual: string = e.actual;
        void actual;
      }
    }
    if (e instanceof IntegrityError) {
      const file: string = e.file;
      const expected: string = e.expected;
      const actual: string = e.actual;
      const code: 'INTEGRITY' = e.code;
      const errName: 'IntegrityError' = e.name;
      const fields: { file: string; expected: string; actual: string } = e.fields;
      void [file, expected, actual, code, errName, fields];
    } else if (e instanceof TaskMismatchError) {
      const m: string = e.model;
      const expected: string = e.expected;
      const actual: string = e.actual;
      const code: 'TASK_MISMATCH' = e.code;
      void [m, expected, actual, code];
    } else if (e instanceof ModelNotFoundError) {
      const m: string = e.model;
      const v: string | undefined = e.version;
      const code: 'MODEL_NOT_FOUND' = e.code;
      void [m, v, code];
    } else if (e instanceof BackendUnavailableError) {
      const b: string = e.backend;
      const r: string = e.reason;
      const code: 'BACKEND_UNAVAILABLE' = e.code;
      void [b, r, code];
    } else if (e instanceof InvalidInputError) {
      const r: string = e.reason;
      const field: string | undefined = e.field;
      const code: 'INVALID_INPUT' = e.code;
      void [r, field, code];
    } else if (e instanceof WorkerCrashedError) {
      const r: string = e.reason;
      const code: 'WORKER_CRASHED' = e.code;
      void [r, code];
    } else if (e instanceof AbortError) {
      const op: string = e.operation;
      const code: 'ABORTED' = e.code;
      void [op, code];
    } else if (e instanceof TimeoutError) {
      const op: string = e.operation;
      const ms: number = e.timeoutMs;
      const code: 'TIMEOUT' = e.code;
      void [op, ms, code];
    } else if (e instanceof RegistryUnavailableError) {
      const url: string = e.url;
      const status: number | undefined = e.status;
      const code: 'REGISTRY_UNAVAILABLE' = e.code;
      void [url, status, code];
    } else if (e instanceof ManifestError) {
      const url: string = e.url;
      const issues: string[] = e.issues;
      const code: 'INVALID_MANIFEST' = e.code;
      void [url, issues, code];
    } else if (e instanceof QuotaExceededError) {
      const n: number = e.bytes;
      const code: 'QUOTA_EXCEEDED' = e.code;
      void [n, code];
    } else if (e instanceof ModelDisposedError) {
      const m: string = e.model;
      const code: 'MODEL_DISPOSED' = e.code;
      void [m, code];
    }
  }
  // Every class is a WebInferError and an Error; they can be built (e.g. in tests and mocks).
  const errors: WebInferError[] = [
    new WebInferError('base'),
    new IntegrityError('bad bytes', { file: 'weights.bin', expected: 'sha256:aa', actual: 'sha256:bb' }, { cause: new Error('x') }),
    new TaskMismatchError('wrong task', { model: 'tiny-gpt', expected: 'image-classification', actual: 'text-generation' }),
    new ModelNotFoundError('missing', { model: 'cats' }),
    new ModelNotFoundError('missing', { model: 'cats', version: '1.0.0' }),
    new BackendUnavailableError('no gpu', { backend: 'webgpu', reason: 'navigator.gpu is undefined' }),
    new InvalidInputError('bad', { reason: 'bad-topk', field: 'topK' }),
    new InvalidInputError('bad', { reason: 'bad-topk' }),
    new WorkerCrashedError('crash', { reason: 'boom' }),
    new AbortError('aborted', { operation: 'load' }),
    new TimeoutError('slow', { operation: 'classify', timeoutMs: 1_000 }),
    new RegistryUnavailableError('down', { url: 'https://models.example.com', status: 503 }),
    new ManifestError('invalid', { url: 'https://models.example.com/v1/models.json', issues: ['task: missing'] }),
    new QuotaExceededError('full', { bytes: 8_400_000 }),
    new ModelDisposedError('disposed', { model: 'cats' }),
  ];
  const asErrors: Error[] = errors;
  const allRecognised: boolean = errors.every((x) => isWebInferError(x));
  const notOurs: boolean = isWebInferError(new Error('x')) || isWebInferError('text') || isWebInferError(undefined);
  void [asErrors, allRecognised, notOurs];

  // load() accepts a task that may be undefined; AdapterInfo is exported.
  const maybeTask: TaskName | undefined = Math.random() > 2 ? 'image-classification' : undefined;
  const anyModel: AnyModel = await client.load('tiny-cnn', { task: maybeTask });
  const adapter: AdapterInfo | undefined = client.backend?.adapter;
  const someError: AnyWebInferError | undefined = undefined;
  void [anyModel, adapter, someError];

  // --- image generation ----------------------------------------------------------------------------------
  const gen: ImageGenerator = await client.load('fashion-vae@stable', { task: 'image-generation' });
  const facts: GeneratorInfo = gen.generator;
  const kind: 'vae' | 'gan' = facts.kind;
  const made: GeneratedImages = await gen.generate({ count: 4, seed: 7, timeoutMs: 5_000 });
  const firstPic: GeneratedImage | undefined = made.images[0];
  const rgba: Uint8ClampedArray | undefined = firstPic?.data;
  const remade: GeneratedImage[] = await gen.decode([made.latents[0]!, [0, 1, 2]]);
  const z: Float32Array = await gen.encode(new ImageData(28, 28));
  const path: Interpolation = await gen.interpolate(new ImageData(28, 28), z, 8, { mode: 'linear' });
  if (firstPic) {
    drawImage(document.createElement('canvas'), firstPic);
    const data: ImageData = toImageData(firstPic);
    void data;
  }
  void [kind, rgba, remade, path];

  // --- dispose -------------------------------------------------------------------------------------------
  const disposedModel: void = await model.dispose();
  const disposedClient: Promise<void> = client.dispose();
  await disposedClient;
  await minimal.dispose();
  void disposedModel;
}
