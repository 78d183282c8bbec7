/**
 * The worker protocol: every type that crosses the main-thread ↔ worker
 * boundary, and nothing else. The main thread imports these as types only, so
 * no worker code (and no tfjs) reaches the main-thread bundle.
 *
 * Transport is comlink; errors cross as `SerializedError` (see
 * `src/errors/serialize.ts`) and are rebuilt as our own classes.
 */
import type { SerializedError } from './errors/serialize.js';

/** Backends webinfer can run on. */
export type BackendName = 'webgpu' | 'wasm' | 'cpu';
/** What the caller asks for. */
export type BackendPreference = 'auto' | BackendName;

/** Adapter facts reported for WebGPU. */
export interface AdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** True for software/fallback adapters (e.g. SwiftShader). */
  readonly isFallback: boolean;
}

/** The backend the worker runs on, why, and why the others were not chosen. */
export interface BackendInfo {
  readonly name: BackendName;
  readonly reason: string;
  /** WASM only: SIMD in use. */
  readonly simd: boolean;
  /** WASM only: multi-threaded (needs a cross-origin isolated page). */
  readonly threads: boolean;
  /** Number of WASM threads (1 when single-threaded or not WASM). */
  readonly threadCount: number;
  readonly crossOriginIsolated: boolean;
  readonly adapter?: AdapterInfo;
  readonly rejected: ReadonlyArray<{ readonly name: BackendName; readonly reason: string }>;
  /** The self-test run after start-up: its time and largest absolute error against the expected numbers. */
  readonly selfTest: { readonly ms: number; readonly maxError: number };
  /** Backend switches during the session (e.g. WebGPU device lost → WASM). */
  readonly fallbacks: ReadonlyArray<{ readonly from: BackendName; readonly to: BackendName; readonly reason: string }>;
}

/** Where the WASM binaries are; resolved on the main thread side or by the bundler. */
export interface WasmPaths {
  readonly 'tfjs-backend-wasm.wasm': string;
  readonly 'tfjs-backend-wasm-simd.wasm': string;
  readonly 'tfjs-backend-wasm-threaded-simd.wasm': string;
}

export interface InitRequest {
  readonly registry: string;
  readonly backend: BackendPreference;
  /** Allow a software WebGPU adapter in `auto` (default false: WASM is faster). */
  readonly allowSoftwareWebGPU: boolean;
  /** WASM thread count (0 = tfjs default: number of cores). */
  readonly wasmThreads: number;
  readonly wasmPaths?: Partial<WasmPaths>;
  readonly token?: string;
  readonly cacheName: string;
  /** Retries of a failed request (network error, 5xx, 429). */
  readonly retries: number;
  /** Stall limit of one request: no byte for this long aborts and retries it. */
  readonly requestTimeoutMs: number;
  /** Largest batch of classify calls run as one model run; 1 = no batching (each call runs alone, at once). */
  readonly maxBatch: number;
  readonly debug: boolean;
}

/** Download progress of one load. `total` is known up front from the manifest. */
export interface LoadProgress {
  readonly loaded: number;
  readonly total: number;
  /** The file being fetched, as named in the manifest (or '' between files). */
  readonly file: string;
  /** Where the bytes came from. */
  readonly source: 'network' | 'cache';
}

export interface LoadRequest {
  readonly callId: number;
  readonly handle: number;
  readonly ref: string;
  /** The task the caller expects, if any. */
  readonly task?: 'image-classification' | 'text-generation';
  /** Which weights variant to load; default `auto` (see `workers/dtype.ts`). */
  readonly dtype?: DtypePreference;
}

/** Numeric variants of a model's weights (tfjs dequantizes them to float32 on load). */
export type Dtype = 'float32' | 'float16' | 'uint8';
/** What the caller asks for: a variant, or `auto`. */
export type DtypePreference = 'auto' | Dtype;

/** What the worker knows about a loaded model. */
export interface ModelInfo {
  readonly id: string;
  readonly version: string;
  readonly task: 'image-classification' | 'text-generation';
  readonly format: string;
  readonly labels: readonly string[];
  readonly description?: string;
  readonly license?: string;
  readonly dtype: 'float32' | 'float16' | 'uint8';
  /** Why that variant was loaded. */
  readonly dtypeReason?: string;
  /** Total bytes of the model's files. */
  readonly bytes: number;
  /** Bytes that came from the network in this load (0 on a warm cache). */
  readonly downloadedBytes: number;
  /** True when the registry was unreachable and a cached manifest was used. */
  readonly offline: boolean;
  /** True when the files were stored in the browser cache. */
  readonly cached: boolean;
  readonly warnings: readonly string[];
  readonly backend: BackendName;
}

/** Pixels as they cross to the worker. Buffers and bitmaps are transferred, not copied. */
export type WireImage =
  | { readonly kind: 'pixels'; readonly data: Uint8Array | Uint8ClampedArray | Float32Array; readonly width: number; readonly height: number; readonly channels: 1 | 3 | 4 }
  | { readonly kind: 'bitmap'; readonly bitmap: ImageBitmap }
  | { readonly kind: 'blob'; readonly blob: Blob };

/** One classify() call. */
export interface ClassifyItem {
  readonly callId: number;
  readonly image: WireImage;
  readonly topK: number;
}

/** One or more classify() calls on one model, coalesced into one message (micro-batching). */
export interface ClassifyRequest {
  readonly handle: number;
  readonly items: readonly ClassifyItem[];
  /** The sender had other classify messages for this model in flight: more calls may be on their way. */
  readonly more: boolean;
}

/** One class and its probability. */
export interface Prediction {
  readonly label: string;
  readonly index: number;
  readonly score: number;
}

/** How one item of a ClassifyRequest ended: each call succeeds or fails on its own. */
export type ClassifyOutcome = { readonly ok: true; readonly value: Prediction[] } | { readonly ok: false; readonly error: SerializedError };

export interface ClassifyResult {
  /** One per item, in the request's order. */
  readonly outcomes: ClassifyOutcome[];
  /** The backend that ran the calls (it differs from the one at init after a fallback). */
  readonly backend: BackendName;
}

/** Micro-batching counters of the worker since it started (test hook, `debug` only). */
export interface BatchStats {
  /** classify messages received (each carries one or more calls). */
  readonly messages: number;
  /** Model runs. */
  readonly batches: number;
  /** Images run (the sum of the batch sizes). */
  readonly images: number;
  /** Largest batch run. */
  readonly largest: number;
  /** Batch size → number of runs of that size. */
  readonly sizes: Readonly<Record<number, number>>;
}

export interface MemoryInfo {
  readonly numTensors: number;
  readonly numBytes: number;
  readonly models: number;
}

/** Options of one generation, checked and completed on the main thread (see `src/models/generate-options.ts`). */
export interface GenerateOptionsWire {
  readonly maxTokens: number;
  /** 0 = greedy. */
  readonly temperature: number;
  /** 0 = no top-k filter. */
  readonly topK: number;
  /** 1 = no nucleus filter. */
  readonly topP: number;
  readonly seed?: number;
  readonly stop: readonly string[];
  /** End at the model's end-of-sequence token (default true); false emits it like any token and goes on. */
  readonly stopAtEos: boolean;
  /** false: no KV cache, the whole sequence is recomputed at every step (benchmark baseline). */
  readonly useCache: boolean;
  /** Streaming: a batch is sent once it holds this many tokens… */
  readonly flushTokens: number;
  /** …or this many ms after the previous one (0 = only by count). The first token goes at once. */
  readonly flushMs: number;
}

export interface GenerateRequest {
  readonly callId: number;
  readonly handle: number;
  readonly prompt: string;
  readonly options: GenerateOptionsWire;
}

/** One generated token and the text it released (may be '' while a UTF-8 character or a possible stop sequence is incomplete). */
export interface GenerateChunk {
  readonly text: string;
  readonly tokenId: number;
}

/** Why a generation ended. */
export type FinishReason = 'length' | 'stop' | 'eos' | 'abort';

export interface GenerateResult {
  /** The generated text (without the prompt, without the stop sequence). */
  readonly text: string;
  /** Generated token ids (the stop sequence's tokens included, eos excluded). */
  readonly tokens: readonly number[];
  readonly finishReason: FinishReason;
  readonly promptTokens: number;
  /** Streaming messages sent for this generation (batches of chunks). */
  readonly messages: number;
  /** Time from the start of the run (after queueing) to the last token, ms. */
  readonly ms: number;
  /** Time spent waiting for earlier generations on the same model, ms. */
  readonly queuedMs: number;
  readonly backend: BackendName;
}

/** Receives streamed chunks, in batches, as proxied by comlink. */
export type GenerateSink = (chunks: GenerateChunk[]) => void;

/** Progress callback as proxied by comlink. */
export type ProgressSink = (p: LoadProgress) => void;

/** The API the worker exposes (comlink `expose`). Every method may reject with a `SerializedError` rebuilt as ours. */
export interface WorkerApi {
  init(req: InitRequest): Promise<BackendInfo>;
  load(req: LoadRequest, onProgress?: ProgressSink): Promise<ModelInfo>;
  /** Classifies every item; items wait while the model is busy and run as batches of up to `maxBatch`. */
  classify(req: ClassifyRequest): Promise<ClassifyResult>;
  /** Generates text, streaming batches of chunks to `sink`; resolves after the last batch was delivered. */
  generate(req: GenerateRequest, sink: GenerateSink): Promise<GenerateResult>;
  /** Aborts the call `callId` (download, load or queued run). */
  abort(callId: number): void;
  unload(handle: number): Promise<void>;
  memory(): Promise<MemoryInfo>;
  backend(): Promise<BackendInfo>;
  ping(): Promise<'pong'>;
  /** Test hooks, only when `debug` was set at init. */
  debugCrash(mode: 'throw' | 'close'): void;
  /** First-step logits of token ids on a text-generation model (parity tests; empty unless `debug`). */
  debugLogits(handle: number, ids: number[]): Promise<Float32Array>;
  /** Micro-batching counters (undefined unless `debug`). */
  debugBatchStats(): Promise<BatchStats | undefined>;
  /** Destroys the WebGPU device now, or in the middle of the next inference. */
  debugLoseDevice(when: 'now' | 'during-next-run'): Promise<boolean>;
}
