/**
 * The worker protocol: every message that crosses the main-thread ↔ worker boundary, and
 * nothing else. Both sides import these as types only, so no worker code (and no tfjs)
 * reaches the main-thread bundle.
 *
 * Transport is comlink. Errors cross as `SerializedError` (see `errors/serialize.ts`) and are
 * rebuilt as our own classes. Task calls go through ONE method, `call`, whose requests and
 * answers are typed by the operation table {@link Ops}: a task's row there (its name and the
 * input and output of each of its operations) is all the protocol knows of it.
 */
import type { SerializedError } from './errors/serialize.js';
import type { BackendPreference, DtypePreference, TaskName } from './lists.js';
import type { Outcome } from './settle.js';
import type { BackendInfo, BatchStats, ChatMessage, GenerateChunk, GeneratedImage, GeneratedImages, GenerateResult, LoadProgress, MemoryInfo, ModelInfo, Prediction, WasmPaths } from './types.js';

/** Pixels as they cross to the worker. Buffers and bitmaps are transferred, not copied. */
export type WireImage =
  | { readonly kind: 'pixels'; readonly data: Uint8Array | Uint8ClampedArray | Float32Array; readonly width: number; readonly height: number; readonly channels: 1 | 3 | 4 }
  | { readonly kind: 'bitmap'; readonly bitmap: ImageBitmap }
  | { readonly kind: 'blob'; readonly blob: Blob };

/** Options of one generation, checked and completed on the main thread (see `src/handles/generate-options.ts`). */
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
  /** Apply the tokenizer's post-processor (e.g. Llama's leading `<s>`); false for text rendered by a chat template, which has its own. Default true. */
  readonly addSpecialTokens?: boolean;
}

/** Input of one `classify()` call. */
export interface ClassifyInput {
  readonly image: WireImage;
  readonly topK: number;
}

/** Input of one text `classify()` call (`text-classification`). */
export interface TextClassifyInput {
  readonly text: string;
  readonly topK: number;
}

/** Input of one image of an `embed()` call (`feature-extraction`). */
export interface EmbedInput {
  readonly image: WireImage;
  /** Scale the row to unit L2 norm. */
  readonly normalize: boolean;
}

/** Input of one `generate()` call. */
export interface GenerateInput {
  /** A prompt, or a conversation rendered with the model's chat template (its generation prompt added). */
  readonly prompt: string | readonly ChatMessage[];
  readonly options: GenerateOptionsWire;
}

/**
 * The operation table: one entry per operation of every task, named `task.operation`,
 * with the task it belongs to, the input of one call, what one call answers, and (for
 * streaming operations) the chunks it streams. Adding a task adds its name to `TASKS`
 * (`lists.ts`) and its operations here.
 */
export interface Ops {
  /** Micro-batched: concurrent calls on one model run as one batch. */
  'image-classification.classify': { readonly task: 'image-classification'; readonly input: ClassifyInput; readonly output: Prediction[]; readonly chunk: never };
  /** One generation at a time per model (FIFO), streaming chunks. */
  'text-generation.generate': { readonly task: 'text-generation'; readonly input: GenerateInput; readonly output: GenerateResult; readonly chunk: GenerateChunk };
  /** Text → token ids with the model's tokenizer (post-processor applied unless addSpecialTokens is false). */
  'text-generation.tokenize': { readonly task: 'text-generation'; readonly input: { readonly text: string; readonly addSpecialTokens: boolean }; readonly output: number[]; readonly chunk: never };
  /** Token ids → text (special tokens left out unless keepSpecial). */
  'text-generation.detokenize': { readonly task: 'text-generation'; readonly input: { readonly ids: readonly number[]; readonly keepSpecial: boolean }; readonly output: string; readonly chunk: never };
  /** A conversation → the prompt text the model's chat template makes of it. */
  'text-generation.chat-template': { readonly task: 'text-generation'; readonly input: { readonly messages: readonly ChatMessage[]; readonly addGenerationPrompt: boolean }; readonly output: string; readonly chunk: never };
  /** Test hook (`debug` only): first-step logits of token ids (parity tests). */
  'text-generation.logits': { readonly task: 'text-generation'; readonly input: { readonly ids: readonly number[] }; readonly output: Float32Array; readonly chunk: never };
  /** Micro-batched with `decode`: `count` pictures from seeded standard-normal latents (checked on the main thread). */
  'image-generation.generate': { readonly task: 'image-generation'; readonly input: { readonly count: number; readonly seed: number }; readonly output: GeneratedImages; readonly chunk: never };
  /** Micro-batched with `generate`: latent vectors → pictures. */
  'image-generation.decode': { readonly task: 'image-generation'; readonly input: { readonly latents: readonly Float32Array[] }; readonly output: GeneratedImage[]; readonly chunk: never };
  /** Micro-batched: a picture → its latent vector (the encoder's mean; models with an encoder only). */
  'image-generation.encode': { readonly task: 'image-generation'; readonly input: { readonly image: WireImage }; readonly output: Float32Array; readonly chunk: never };
  /** Test hook (`debug` only): latents → the model's raw float outputs, [H*W*C] each (parity tests). */
  'image-generation.raw': { readonly task: 'image-generation'; readonly input: { readonly latents: readonly Float32Array[] }; readonly output: Float32Array[]; readonly chunk: never };
  /** Micro-batched: concurrent calls on one model run as one batch. */
  'text-classification.classify': { readonly task: 'text-classification'; readonly input: TextClassifyInput; readonly output: Prediction[]; readonly chunk: never };
  /** Micro-batched: one image per call, concurrent calls run as one batch; one embedding row per image. */
  'feature-extraction.embed': { readonly task: 'feature-extraction'; readonly input: EmbedInput; readonly output: Float32Array; readonly chunk: never };
}
/** An operation name, `task.operation`. */
export type OpName = keyof Ops;
/** The operations of one task. */
export type OpsOf<T extends TaskName> = { [K in OpName]: Ops[K]['task'] extends T ? K : never }[OpName];

/** One call of an operation. */
export interface CallItem<K extends OpName = OpName> {
  /** The id the main thread aborts it by. */
  readonly callId: number;
  readonly input: Ops[K]['input'];
}

/** Calls of one operation on one model, sent as one message (micro-batching sends several). */
export interface CallRequest<K extends OpName = OpName> {
  readonly op: K;
  readonly handle: number;
  readonly items: readonly CallItem<K>[];
  /** The sender has other messages for this model in flight: more calls may be on their way. */
  readonly more: boolean;
}

/** How one call ended: each call of a message succeeds or fails on its own. */
export type WireOutcome<R> = Outcome<R, SerializedError>;

/** The answer to a {@link CallRequest}: one outcome per item, in order. */
export interface CallResponse<K extends OpName = OpName> {
  readonly op: K;
  readonly outcomes: readonly WireOutcome<Ops[K]['output']>[];
}

/** Receives streamed chunks of a call, in batches, as proxied by comlink. */
export type ChunkSink<K extends OpName = OpName> = (chunks: Ops[K]['chunk'][]) => void;

/** Receives the backend whenever it changes (a fallback after a lost device), as proxied by comlink. */
export type BackendSink = (info: BackendInfo) => void;

/** Progress callback as proxied by comlink. */
export type ProgressSink = (p: LoadProgress) => void;

/** How the worker starts: the client's options, checked on the main thread. */
export interface InitRequest {
  readonly registry: string;
  readonly backend: BackendPreference;
  /** Allow a software WebGPU adapter in `auto` (default false: WASM is faster). */
  readonly allowSoftwareWebGPU: boolean;
  /** WASM thread count (0 = one per logical core, at most 8). */
  readonly wasmThreads: number;
  readonly wasmPaths?: Partial<WasmPaths>;
  readonly token?: string;
  readonly cacheName: string;
  /** Retries of a failed request (network error, 5xx, 429). */
  readonly retries: number;
  /** Stall limit of one request: no byte for this long aborts and retries it. */
  readonly requestTimeoutMs: number;
  /** Throughput floor of a download, bytes per second over each `requestTimeoutMs` window (0: none). */
  readonly minBytesPerSecond?: number;
  /** Registry keys every manifest must be signed by one of (`ed25519:<base64>`); none: no signature check. */
  readonly trustKeys?: readonly string[];
  /** Largest batch of calls run as one model run; 1 = no batching (each call runs alone, at once). */
  readonly maxBatch: number;
  readonly debug: boolean;
}

/** One `client.load()`. */
export interface LoadRequest {
  readonly callId: number;
  readonly handle: number;
  readonly ref: string;
  /** The task the caller expects, if any. */
  readonly task?: TaskName;
  /** Which weights variant to load; default `auto` (see `workers/dtype.ts`). */
  readonly dtype?: DtypePreference;
  /** `sha256-<base64>` the version manifest's bytes must hash to (checked on the main thread for shape). */
  readonly integrity?: string;
}

/** The API the worker exposes (comlink `expose`). Every method may reject with a `SerializedError` rebuilt as ours. */
export interface WorkerApi {
  /** Starts the backend; `onBackend` hears of every later change of it. */
  init(req: InitRequest, onBackend?: BackendSink): Promise<BackendInfo>;
  load(req: LoadRequest, onProgress?: ProgressSink): Promise<ModelInfo>;
  /**
   * Runs calls of one operation on one model; streaming operations send chunks to `sink` first.
   * The answer's `op` is the request's (comlink's typing of a remote erases generic methods, so
   * the main thread checks it and restores `CallResponse<K>`: see `src/worker-host.ts`).
   */
  call(req: CallRequest, sink?: ChunkSink): Promise<CallResponse>;
  /** Aborts the call `callId` (download, load, queued or running call). */
  abort(callId: number): void;
  unload(handle: number): Promise<void>;
  memory(): Promise<MemoryInfo>;
  backend(): Promise<BackendInfo>;
  ping(): Promise<'pong'>;
  /** Test hooks, only when `debug` was set at init. */
  debugCrash(mode: 'throw' | 'close'): void;
  /** Micro-batching counters (undefined unless `debug`). */
  debugBatchStats(): Promise<BatchStats | undefined>;
  /** Destroys the WebGPU device now, or in the middle of the next model run. */
  debugLoseDevice(when: 'now' | 'during-next-run'): Promise<boolean>;
}
