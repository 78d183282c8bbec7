/**
 * Public types of webinfer's main-thread API.
 */
import type { AdapterInfo, BackendInfo, BackendName, BatchStats, BackendPreference, Dtype, DtypePreference, FinishReason, GenerateChunk, GenerateResult, LoadProgress, MemoryInfo, ModelInfo, Prediction, WasmPaths } from './shared/wire.js';
import type { ImageInput } from './image/to-wire.js';
import type { RawPixels } from './shared/image-limits.js';

export type { Dtype, DtypePreference };
export type { GenerateOptions } from './handles/generate-options.js';
export type { GenerationStream } from './handles/text-generator.js';
export type { FinishReason, GenerateChunk, GenerateResult };
export type { AdapterInfo, BackendInfo, BackendName, BatchStats, BackendPreference, LoadProgress, MemoryInfo, ModelInfo, Prediction, WasmPaths, ImageInput, RawPixels };

/** Options of {@link createClient}. Only `registry` is required. */
export interface ClientOptions {
  /** Base URL of a protocol-v1 registry (the service, or the same tree on any static host/CDN). Relative URLs resolve against the page. */
  readonly registry: string;
  /** `auto` (default): WebGPU on a hardware adapter, else WASM, else CPU. Or force one; an unavailable forced backend fails with BackendUnavailableError. */
  readonly backend?: BackendPreference;
  /** Let `auto` pick a software WebGPU adapter (SwiftShader). Default false: WASM is faster than software WebGPU. */
  readonly allowSoftwareWebGPU?: boolean;
  /** Bearer token sent to the registry (private models). */
  readonly token?: string;
  /** Override where the tfjs WASM binaries are (e.g. a CDN). Default: next to the worker chunk. */
  readonly wasmPaths?: Partial<WasmPaths>;
  /** WASM threads when the page is cross-origin isolated. Default 0 = one per core. */
  readonly wasmThreads?: number;
  /** Cache API bucket for model files. Default `webinfer-v1`. */
  readonly cacheName?: string;
  /** Retries of a failed request (network error, 5xx, 429), with exponential backoff. Default 3. */
  readonly retries?: number;
  /** A request that sends no byte for this long is aborted and retried. Default 30 000 ms. */
  readonly requestTimeoutMs?: number;
  /** Time limit of one `classify()`. Default 60 000 ms. */
  readonly callTimeoutMs?: number;
  /** With calls pending, a worker that does not answer heartbeats for this long is declared crashed. Default 30 000 ms. */
  readonly unresponsiveTimeoutMs?: number;
  /** Creates the worker yourself (strict CSP, a CDN-hosted worker). Default: the bundled module worker. */
  readonly createWorker?: () => Worker;
  /**
   * Micro-batching of concurrent `classify()` calls on one model (default on, `maxBatch` 64):
   * calls made in the same tick go to the worker as one message, and calls that arrive while
   * the model is busy run together as one batch of up to `maxBatch` images. Results are the
   * same as unbatched; a lone call waits for no timer. `false` (or `maxBatch: 1`) runs every
   * call on its own.
   */
  readonly batching?: boolean | BatchingOptions;
  /** Enables test hooks (`client.debug`). */
  readonly debug?: boolean;
}

/** Tuning of micro-batching (see `ClientOptions.batching`). */
export interface BatchingOptions {
  /** Largest number of images run as one batch. Default 64; 1 turns batching off. */
  readonly maxBatch?: number;
}

/** Tasks and the model handle each one gives. */
export interface ModelsByTask {
  'image-classification': import('./handles/classifier.js').Classifier;
  'text-generation': import('./handles/text-generator.js').TextGenerator;
}
export type TaskName = keyof ModelsByTask;
export type AnyModel = ModelsByTask[TaskName];

/** Options of `client.load()`. */
export interface LoadOptions {
  /** Download progress in bytes, for the whole model. */
  readonly onProgress?: (progress: LoadProgress) => void;
  /** Aborts download and load. */
  readonly signal?: AbortSignal;
  /** Time limit of the whole load. Default: none (each request has its own stall limit). */
  readonly timeoutMs?: number;
  /**
   * Which weights to download: `float32`, `float16` (half the bytes), `uint8` (a quarter, may lose
   * a little accuracy) or `auto` (default): `float16` when the model has it, else `float32` —
   * chosen in the worker once the backend is settled. A variant the model lacks fails with
   * InvalidInputError (`reason: 'dtype-unavailable'`). `model.info.dtype` says what was loaded.
   */
  readonly dtype?: DtypePreference;
}

/** Options of `classify()`. */
export interface ClassifyOptions {
  /** How many predictions to return, best first. Default 5 (at most the number of labels). */
  readonly topK?: number;
  readonly signal?: AbortSignal;
  /** Time limit of this call. Default: the client's `callTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Hand over your pixel buffer or ImageBitmap instead of a copy of it (zero-copy; yours becomes detached). Default false. */
  readonly transfer?: boolean;
}
