/**
 * Public types of webinfer's main-thread API: the options of each call (here), the results
 * and names shared with the worker (`shared/types.ts`, `shared/lists.ts`), and the handles by
 * task (derived from the handle table, `handles/index.ts`).
 */
import type { BackendPreference, DtypePreference, TaskName } from './shared/lists.js';
import type { LoadProgress, WasmPaths } from './shared/types.js';
import type { ModelsByTask } from './handles/index.js';

export type { ImageInput } from './image/to-wire.js';
export type { RawPixels } from './shared/image-limits.js';
export type { GenerateOptions } from './handles/generate-options.js';
export type { ClassifyOptions } from './handles/classifier.js';
export type { GenerationStream } from './handles/text-generator.js';
export type { TextClassifyOptions } from './handles/text-classifier.js';
export type { EmbedOptions } from './handles/embedder.js';
export type { BackendName, BackendPreference, Dtype, DtypePreference, TaskName } from './shared/lists.js';
export type {
  AdapterInfo,
  BackendFallback,
  BackendInfo,
  BatchStats,
  ChatMessage,
  FinishReason,
  GenerateChunk,
  GenerateResult,
  LoadProgress,
  MemoryInfo,
  ModelInfo,
  Prediction,
  WasmPaths,
} from './shared/types.js';
export type { ModelsByTask };
export type { GeneratedImage, GeneratedImages, GeneratorInfo } from './shared/types.js';
export type { GenerateImagesOptions, ImageCallOptions, InterpolateOptions, Interpolation, Latent } from './handles/image-generator.js';

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
  /** A request that sends no byte for this long is aborted and retried. Default 30 000 ms; must be > 0. */
  readonly requestTimeoutMs?: number;
  /**
   * Throughput floor of a download: a response body that brings fewer than this many bytes per second,
   * measured over each `requestTimeoutMs` window, is a stall (aborted and retried), even though bytes keep
   * arriving. Default 1024 (1 KiB/s); 0 turns the floor off (only the no-byte limit stays).
   */
  readonly minBytesPerSecond?: number;
  /** Default time limit of a whole `load()` (every request, retry and the model's set-up). Default 600 000 ms (10 min); `Infinity`: none. */
  readonly loadTimeoutMs?: number;
  /** Time limit of one `classify()`. Default 60 000 ms; must be > 0 (`Infinity`: none). */
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
  /**
   * Signed manifests: the registry keys (`ed25519:<base64>`, as `webinfer-registry keys create` prints them) this
   * client trusts. With keys, every version manifest must carry a valid Ed25519 signature by one of them
   * (`versions/{version}.sig.json`, checked with WebCrypto over the manifest's exact bytes); an unsigned manifest,
   * a wrong signature or signatures only by other keys fail with ManifestError (`reason` `unsigned`,
   * `bad-signature`, `untrusted-key`). Default: no keys, nothing checked beyond hashes and immutability.
   */
  readonly trust?: { readonly keys: readonly string[] };
  /**
   * Enables test hooks (`client.debug`).
   * @internal Not in the published types (stripInternal): webinfer's own tests only.
   */
  readonly debug?: boolean;
}

/** Tuning of micro-batching (see `ClientOptions.batching`). */
export interface BatchingOptions {
  /** Largest number of images run as one batch. Default 64; 1 turns batching off. */
  readonly maxBatch?: number;
}

/** Any model handle. */
export type AnyModel = ModelsByTask[TaskName];

/** Options of `client.load()`. */
export interface LoadOptions {
  /** Download progress in bytes, for the whole model. */
  readonly onProgress?: (progress: LoadProgress) => void;
  /** Aborts download and load. */
  readonly signal?: AbortSignal;
  /**
   * Time limit of the whole load, in ms (> 0; `Infinity`: none). Default: the client's `loadTimeoutMs`
   * (10 minutes). Past it the load fails with TimeoutError and its downloads are aborted.
   */
  readonly timeoutMs?: number;
  /**
   * Which weights to download: `float32`, `float16` (half the bytes), `uint8` (a quarter, may lose
   * a little accuracy) or `auto` (default): `float16` when the model has it, else `float32` —
   * chosen in the worker once the backend is settled. A variant the model lacks fails with
   * InvalidInputError (`reason: 'dtype-unavailable'`). `model.info.dtype` says what was loaded.
   */
  readonly dtype?: DtypePreference;
  /**
   * Pins the version manifest like Subresource Integrity: `sha256-<base64>` of its exact bytes (`model.info.integrity`
   * of an earlier load). A manifest that hashes otherwise fails with
   * ManifestError (`reason: 'integrity-mismatch'`); the manifest pins every file's SHA-256 in turn.
   */
  readonly integrity?: string;
}
