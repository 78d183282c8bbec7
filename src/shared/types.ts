/**
 * Public result types: what the worker reports and the main thread hands to the app.
 * Shared by both sides (the worker builds these values, the handles return them).
 * The name unions are derived from the lists in `lists.ts`.
 */
import type { BackendName, Dtype, TaskName, WasmFile } from './lists.js';

export type { BackendName, BackendPreference, Dtype, DtypePreference, Format, TaskName } from './lists.js';

/** Adapter facts reported for WebGPU. */
export interface AdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** True for software/fallback adapters (e.g. SwiftShader). */
  readonly isFallback: boolean;
}

/** One backend switch (or device replacement) during the session. */
export interface BackendFallback {
  readonly from: BackendName;
  readonly to: BackendName;
  readonly reason: string;
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
  /**
   * Backend changes during the session, oldest first: `webgpu → wasm` after a lost device with
   * `auto`, or `webgpu → webgpu` when a forced WebGPU backend got a new device (a forced backend
   * never falls back to another one).
   */
  readonly fallbacks: ReadonlyArray<BackendFallback>;
}

/** Where the WASM binaries are; resolved on the main thread side or by the bundler. */
export type WasmPaths = { readonly [F in WasmFile]: string };

/** Download progress of one load. `total` is known up front from the manifest. */
export interface LoadProgress {
  readonly loaded: number;
  readonly total: number;
  /** The file being fetched, as named in the manifest (or '' between files). */
  readonly file: string;
  /** Where the bytes came from. */
  readonly source: 'network' | 'cache';
}

/** What the worker knows about a loaded model. */
export interface ModelInfo {
  readonly id: string;
  readonly version: string;
  /** `sha256-<base64>` of the version manifest's bytes: pass it as `load(ref, { integrity })` to pin this exact model. */
  readonly integrity: string;
  readonly task: TaskName;
  readonly format: string;
  readonly labels: readonly string[];
  readonly description?: string;
  readonly license?: string;
  readonly dtype: Dtype;
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
  /** What runs the model, e.g. `engine (int8, 2 threads, engine-mt-rx)` for a text model on WASM, `tfjs (webgpu)`. */
  readonly runtime?: string;
  /** Bytes the model's weights take in memory as held (quantized weights counted quantized), where known. */
  readonly weightBytes?: number;
  /** Text models: most tokens of prompt plus output. */
  readonly contextLength?: number;
  /** Text models: true when the model has a chat template (`generate(messages)` works). */
  readonly chatTemplate?: boolean;
  /** Image generators: what the model makes and takes (from its card). */
  readonly generator?: GeneratorInfo;
}

/**
 * One message of a conversation, for chat models (`generate(messages)`). Roles are the model's:
 * usually `system`, `user` and `assistant`.
 */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant' | (string & {});
  readonly content: string;
}

/** One class and its probability. */
export interface Prediction {
  readonly label: string;
  readonly index: number;
  readonly score: number;
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

/** Memory held in the worker. */
export interface MemoryInfo {
  /** tfjs tensors alive (image models, and text models on WebGPU / CPU). */
  readonly numTensors: number;
  /** Bytes of those tensors. */
  readonly numBytes: number;
  readonly models: number;
  /** Bytes of webinfer's WebAssembly engine in use (weights of the text models it runs, as held, and live generations' KV caches). */
  readonly engineBytes: number;
  /** Size of the engine's linear memory: it grows and never shrinks, and freed bytes are reused by the next model. 0 before the engine starts. */
  readonly engineHeapBytes: number;
  /** Size of tfjs's WASM heap, when the WASM backend is in use (0 otherwise). */
  readonly tfjsHeapBytes: number;
}

/** One generated token and the text it released (may be '' while a UTF-8 character or a possible stop sequence is incomplete). */
export interface GenerateChunk {
  readonly text: string;
  readonly tokenId: number;
}

/** Why a generation ended. */
export type FinishReason = 'length' | 'stop' | 'eos' | 'abort';

/** The whole result of one generation. */
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

/** What an image generator makes and takes, from its card (`model.info.generator`). */
export interface GeneratorInfo {
  /** `vae`: a decoder with an encoder (encode, interpolate between images); `gan`: a generator only. */
  readonly kind: 'vae' | 'gan';
  /** Length of one latent vector. */
  readonly latentDim: number;
  readonly width: number;
  readonly height: number;
  /** Channels the model makes: 1 (gray, drawn as R = G = B) or 3. */
  readonly channels: 1 | 3;
  /** Range of the model's raw output, mapped linearly to 0–255. */
  readonly outputRange: readonly [number, number];
  /** How a seed becomes latents: `mulberry32-box-muller` (see `src/shared/latents.ts`). */
  readonly sampler: string;
  /** True when the model has an encoder (`encode`, `interpolate` between images). */
  readonly canEncode: boolean;
}

/** One generated picture, ImageData-like: `data` is RGBA, row-major, 4 bytes per pixel (`new ImageData(data, width, height)` takes it). */
export interface GeneratedImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;
}

/** What `ImageGenerator.generate()` answers: the pictures, and the latents and seed they came from (same seed, same pictures). */
export interface GeneratedImages {
  readonly images: GeneratedImage[];
  /** One latent vector per picture (`decode(latents)` makes the same pictures again). */
  readonly latents: Float32Array[];
  /** The seed used (the one given, or the one drawn when none was). */
  readonly seed: number;
}
